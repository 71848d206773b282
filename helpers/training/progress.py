"""Progress on long work: one line per epoch for Keras fits, a tqdm bar for Python loops.

Full-mode cells train for minutes; without feedback a student sees only ``[*]``.  Both
helpers write to standard output (never to standard error, which costs a graded cell its
points) and are silent in fast mode, where every run takes seconds:

* :func:`fit_verbose` is the ``verbose`` to pass to ``model.fit``: 2 (Keras' one line per
  epoch: steps, seconds, time per step, the metrics) in full mode, 0 in fast mode;
* :func:`progress` wraps a loop in a text ``tqdm`` bar on stdout (count, rate, ETA),
  disabled in fast mode.

>>> history = model.fit(x, y, epochs=10, verbose=fit_verbose())   # doctest: +SKIP
>>> for scene in progress(scenes, "proposals"):                    # doctest: +SKIP
...     ...
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

from helpers.mode import RunMode, run_mode

T = TypeVar("T")

#: Keras' ``verbose=2``: one line per epoch, no animated bar.
ONE_LINE_PER_EPOCH = 2


def fit_verbose(mode: RunMode | None = None) -> int:
    """The ``verbose`` argument for ``model.fit`` in ``mode``.

    Args:
        mode: the :class:`~helpers.mode.RunMode` (None: :func:`~helpers.mode.run_mode`).

    Returns:
        2 (one line per epoch on stdout) in full mode, 0 (silent) in fast mode.
    """
    mode = run_mode() if mode is None else mode
    return 0 if mode.fast else ONE_LINE_PER_EPOCH


def progress(iterable: Iterable[T], desc: str, total: int | None = None,
             mode: RunMode | None = None, min_interval_s: float = 5.0) -> Iterator[T]:
    """Iterate over ``iterable`` with a text progress bar on stdout in full mode.

    Args:
        iterable: what the loop runs over.
        desc: a few words naming the work (shown before the bar).
        total: the number of items when ``len(iterable)`` does not exist.
        mode: the :class:`~helpers.mode.RunMode` (None: :func:`~helpers.mode.run_mode`).
        min_interval_s: seconds between two redraws (few redraws keep stored outputs short).

    Returns:
        An iterator over the same items: a ``tqdm`` bar (count, rate, ETA) in full mode,
        the plain items in fast mode.
    """
    mode = run_mode() if mode is None else mode
    if mode.fast:
        return iter(iterable)
    return iter(tqdm(iterable, desc=desc, total=total, file=sys.stdout, ascii=True,
                     mininterval=min_interval_s, dynamic_ncols=False, ncols=90))
