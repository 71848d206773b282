"""The course's one fast switch.

Set the environment variable ``CNN_COURSE_FAST=1`` (the test command does) and
every notebook runs the same code on less: fewer epochs and a subset of the
data.  Unset (or ``0``) means full mode, which reproduces the lectures'
published results.

>>> from helpers.mode import run_mode
>>> mode = run_mode()
>>> mode.epochs(10)          # 10 in full mode, 1 in fast mode
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

FAST_ENV_VAR = "CNN_COURSE_FAST"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def fast_mode_enabled(environ: dict[str, str] | None = None) -> bool:
    """Return True when ``CNN_COURSE_FAST`` asks for fast mode.

    Raises ``ValueError`` for a value that is neither true-ish nor false-ish,
    so a typo does not silently start an hour of training.
    """
    env = os.environ if environ is None else environ
    raw = env.get(FAST_ENV_VAR, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(
        f"{FAST_ENV_VAR}={env.get(FAST_ENV_VAR)!r} is not understood: "
        f"use {FAST_ENV_VAR}=1 for fast mode or unset it (or 0) for full mode."
    )


@dataclass(frozen=True)
class RunMode:
    """How much work a notebook does.

    Attributes:
        fast: True in fast (CI) mode.
        max_epochs: upper bound on epochs in fast mode.
        max_train: upper bound on training examples in fast mode.
        max_eval: upper bound on validation/test examples in fast mode.
    """

    fast: bool
    max_epochs: int = 1
    max_train: int = 4000
    max_eval: int = 2000

    @property
    def name(self) -> str:
        return "fast" if self.fast else "full"

    def epochs(self, full: int) -> int:
        """Epochs to run: ``full`` in full mode, at most ``max_epochs`` in fast mode."""
        if full < 1:
            raise ValueError(f"epochs must be >= 1, got {full}")
        return min(full, self.max_epochs) if self.fast else full

    def n_train(self, full: int) -> int:
        """Number of training examples to use out of ``full``."""
        return min(full, self.max_train) if self.fast else full

    def n_eval(self, full: int) -> int:
        """Number of evaluation examples to use out of ``full``."""
        return min(full, self.max_eval) if self.fast else full

    def subset(self, *arrays: np.ndarray, kind: str = "train", seed: int = 0):
        """Return the first-axis subset this mode trains or evaluates on.

        Full mode returns the arrays unchanged.  Fast mode draws the same
        seeded random rows from every array (so images and labels stay paired).

        Args:
            *arrays: arrays with the same length N along axis 0.
            kind: ``"train"`` or ``"eval"``; picks ``max_train`` or ``max_eval``.
            seed: seed of the row choice.
        """
        if not arrays:
            raise ValueError("subset() needs at least one array")
        n = len(arrays[0])
        if any(len(a) != n for a in arrays):
            raise ValueError(f"arrays differ in length: {[len(a) for a in arrays]}")
        if kind not in ("train", "eval"):
            raise ValueError(f"kind must be 'train' or 'eval', got {kind!r}")
        keep = self.n_train(n) if kind == "train" else self.n_eval(n)
        if keep == n:
            out = arrays
        else:
            rows = np.sort(np.random.default_rng(seed).choice(n, size=keep, replace=False))
            out = tuple(a[rows] for a in arrays)
        return out if len(out) > 1 else out[0]

    def banner(self) -> str:
        """One line saying which mode is on and how to switch."""
        if self.fast:
            return (
                f"FAST mode ({FAST_ENV_VAR}=1): at most {self.max_epochs} epoch(s), "
                f"{self.max_train} training and {self.max_eval} evaluation images. "
                "Numbers below are NOT the lecture's results."
            )
        return (
            f"FULL mode: all data, all epochs (set {FAST_ENV_VAR}=1 for a quick run)."
        )


def run_mode(environ: dict[str, str] | None = None) -> RunMode:
    """The current :class:`RunMode`, read from ``CNN_COURSE_FAST``."""
    return RunMode(fast=fast_mode_enabled(environ))
