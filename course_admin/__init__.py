"""The instructor's tools: ``course release|collect|autograde|feedback|report``.

* :mod:`course_admin.grading` grades one submission in an isolated temporary
  course directory (a job) and runs many jobs through any ``concurrent.futures.Executor``;
* :mod:`course_admin.records` keeps the gradebook and the results journal;
* :mod:`course_admin.collect` brings submissions into ``submitted/``;
* :mod:`course_admin.report` writes feedback, CSVs and plots;
* :mod:`course_admin.cli` is the ``course`` command.
"""
