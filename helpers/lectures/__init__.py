"""What one lecture runs beyond the concepts: its experiment configs, drivers, tables and plots.

One module per lecture experiment, named after it (``recap`` is lecture 01, ``degradation``
lecture 06, ``comparison`` and ``complexity`` lecture 07, ...); the concepts they use live in
the stage folders (:mod:`helpers.arithmetic`, :mod:`helpers.nn`, :mod:`helpers.architectures`,
:mod:`helpers.training`, :mod:`helpers.detection`).
"""
