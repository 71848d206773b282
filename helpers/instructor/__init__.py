"""The instructor's tools: ``course release|collect|autograde|feedback|report``.

* :mod:`helpers.instructor.grading` grades one submission in an isolated temporary
  course directory (a job) and runs many jobs through any ``concurrent.futures.Executor``;
* :mod:`helpers.instructor.records` keeps the gradebook and the results journal;
* :mod:`helpers.instructor.collect` brings submissions into ``submitted/``;
* :mod:`helpers.instructor.report` writes feedback, CSVs and plots;
* :mod:`helpers.instructor.cli` is the ``course`` command.
"""
