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

#: Every size fast mode shrinks, in one place: the course-wide bounds of :class:`RunMode`
#: ("default") and the experiments that need other sizes, each read by that experiment's
#: config (``for_mode`` or its settings function).  Full mode uses none of them.
FAST_SIZES: dict[str, dict[str, int]] = {
    # every notebook: at most this many epochs, training and evaluation images
    "default": {"epochs": 1, "train": 4000, "eval": 2000},
    # lecture 03 on lecture 01's split (helpers.lectures.augmentation_study.lecture01_splits)
    "lecture01_split": {"train": 1000, "eval": 500},
    # lecture 03's size sweep: two sizes, a few steps (lectures.augmentation_sweep)
    "augmentation_sweep": {"small": 100, "large": 400, "steps": 4},
    # lecture 06: the plain and residual nets on one batch (lectures.degradation)
    "degradation": {"train": 64},
    # lecture 07: five models in one run, two batches each (lectures.comparison)
    "comparison": {"train": 256, "eval": 256},
    # lecture 08: BN against no BN (lectures.bn_experiment), the zero-init demo
    # (lectures.initialisation_study)
    "bn_experiment": {"train": 1024, "eval": 512},
    "initialisation": {"train": 500},
    # lecture 09: one label count, small source and test sets (lectures.transfer)
    "transfer": {"labels_per_class": 40, "sweep_labels_per_class": 2, "val_per_class": 10,
                 "source_val_per_class": 40, "n_source": 600, "n_test": 250},
    # lecture 05: label smoothing with and without, one seed (lectures.label_smoothing)
    "label_smoothing": {"seeds": 1},
    # lecture 10: every detector end to end on a few scenes (lectures.object_detection)
    "detection": {"n_pretrain": 500, "pretrain_epochs": 1, "n_pretrain_test": 500,
                  "n_localise_train": 150, "n_localise_test": 25, "localise_epochs": 1,
                  "n_train": 16, "n_test": 12, "two_stage_epochs": 1, "rcnn_epochs": 1,
                  "max_proposals": 150,
                  "rcnn_pretrain_items": 0},
    # lecture 10: time per image at two proposal counts, one repeat (detection.proposal_timing)
    "proposal_timing": {"small": 10, "large": 40, "repeats": 1},
}


def fast_mode_enabled(environ: dict[str, str] | None = None) -> bool:
    """Return True when ``CNN_COURSE_FAST`` asks for fast mode.

    Args:
        environ: the environment to read (None: ``os.environ``).

    Returns:
        True for a true-ish value (such as ``1``), False for a false-ish one or when unset.

    Raises:
        ValueError: for a value that is neither true-ish nor false-ish, so a typo does not
            silently start an hour of training.
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
    max_epochs: int = FAST_SIZES["default"]["epochs"]
    max_train: int = FAST_SIZES["default"]["train"]
    max_eval: int = FAST_SIZES["default"]["eval"]

    @property
    def name(self) -> str:
        return "fast" if self.fast else "full"

    def epochs(self, full: int) -> int:
        """Epochs to run: ``full`` in full mode, at most ``max_epochs`` in fast mode.

        Args:
            full: the full-mode number of epochs, ``>= 1``.

        Returns:
            The number of epochs, an ``int``.

        Raises:
            ValueError: if ``full < 1``.
        """
        if full < 1:
            raise ValueError(f"epochs must be >= 1, got {full}")
        return min(full, self.max_epochs) if self.fast else full

    def n_train(self, full: int) -> int:
        """Number of training examples to use out of ``full``.

        Args:
            full: the number available.

        Returns:
            ``full``, or at most ``max_train`` in fast mode.
        """
        return min(full, self.max_train) if self.fast else full

    def n_eval(self, full: int) -> int:
        """Number of evaluation examples to use out of ``full``.

        Args:
            full: the number available.

        Returns:
            ``full``, or at most ``max_eval`` in fast mode.
        """
        return min(full, self.max_eval) if self.fast else full

    def subset(self, *arrays: np.ndarray, kind: str = "train", seed: int = 0):
        """Return the first-axis subset this mode trains or evaluates on.

        Full mode returns the arrays unchanged.  Fast mode draws the same
        seeded random rows from every array (so images and labels stay paired).

        Args:
            *arrays: arrays with the same length N along axis 0.
            kind: ``"train"`` or ``"eval"``; picks ``max_train`` or ``max_eval``.
            seed: seed of the row choice.

        Returns:
            The subset array for one array, else a tuple of them, each ``(n, ...)``.

        Raises:
            ValueError: if no array is given, the arrays differ in length, or ``kind`` is
                unknown.
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
        """One line saying which mode is on and how to switch.

        Returns:
            The line, a str.
        """
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
    """The current :class:`RunMode`, read from ``CNN_COURSE_FAST``.

    Args:
        environ: the environment to read (None: ``os.environ``).

    Returns:
        A :class:`RunMode`.

    Raises:
        ValueError: as :func:`fast_mode_enabled`.
    """
    return RunMode(fast=fast_mode_enabled(environ))
