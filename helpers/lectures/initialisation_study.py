"""Lecture 08's initialisation experiment: the same MLP trained from zero and from He
initialisation on FashionMNIST, and how many of its hidden units stay identical.
The schemes themselves are :mod:`helpers.nn.initialisation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from helpers.data import fashion_mnist_splits
from helpers.mode import FAST_SIZES, RunMode
from helpers.nn.initialisation import build_mlp, check_scheme, distinct_columns
from helpers.training.progress import fit_verbose
from helpers.training.recipe import EpochTimer


@dataclass
class SymmetryDemo:
    """What :func:`zero_init_symmetry_demo` measured, per scheme (``"zero"``, ``"he"``).

    Attributes:
        histories: per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.
        distinct_units: distinct columns of ``hidden1``'s kernel after training.
        units: columns (hidden units) of ``hidden1``.
        column_spread: largest (over inputs) difference between ``hidden1``'s columns, max
            minus min, after training: 0 means every unit has the same weights.
        weight_change: Frobenius norm of ``hidden1``'s kernel change during training.
        seconds: training seconds per scheme.
        n_train, epochs: how much training.
    """

    histories: dict[str, dict[str, list[float]]]
    distinct_units: dict[str, int]
    units: int
    column_spread: dict[str, float]
    weight_change: dict[str, float]
    seconds: dict[str, float]
    n_train: int
    epochs: int

    def table(self) -> pd.DataFrame:
        """One row per scheme: distinct hidden units, column spread, weight change,
        final training and validation accuracy, seconds."""
        return pd.DataFrame({
            "distinct hidden1 units": self.distinct_units,
            "hidden1 units": {s: self.units for s in self.histories},
            "column spread": self.column_spread,
            "weight change": self.weight_change,
            "final train acc": {s: h["accuracy"][-1] for s, h in self.histories.items()},
            "final val acc": {s: h["val_accuracy"][-1] for s, h in self.histories.items()},
            "seconds": self.seconds,
        }).rename_axis("init")


def zero_init_symmetry_demo(mode: RunMode, schemes: Sequence[str] = ("zero", "he"),
                            hidden: Sequence[int] = (64, 64), activation: str = "sigmoid",
                            epochs: int = 3,
                            fast_train: int = FAST_SIZES["initialisation"]["train"],
                            learning_rate: float = 1e-3,
                            batch_size: int = 64, seed: int = 13,
                            run_eagerly: bool = False) -> SymmetryDemo:
    """Train the same MLP from zero and from He initialisation: zero init never breaks symmetry.

    The MLP is :func:`build_mlp`, trained on FashionMNIST.  With every weight 0, all units
    of a layer compute the same output and receive the same gradient, so they stay
    identical for ever: ``hidden1`` ends with one distinct column.  The default sigmoid
    (``sigmoid(0) = 0.5 != 0``) lets the zero-initialised weights move, so they do learn,
    but in lock-step; with tanh or ReLU (output 0 at 0) the hidden kernels would get no
    gradient at all.

    Full mode takes about a minute on two busy cores (zero init ends near 24 % validation
    accuracy, He init near 86 %).

    Args:
        mode: fast mode trains on ``fast_train`` images for ``mode.epochs(epochs)`` epoch(s)
            and validates on ``fast_train`` images; full mode trains on all 55,000 for
            ``epochs`` and validates on 5,000 (Adam, fixed ``learning_rate``).
        schemes: initialisation schemes to compare (keys of
            :data:`helpers.nn.initialisation.SCHEMES`).
        hidden: widths of the hidden layers (at least one).
        activation: the hidden layers' activation.
        epochs: epochs in full mode.
        fast_train: training and validation images in fast mode.
        learning_rate: Adam's learning rate.
        batch_size: images per step.
        seed: seed of the split, the weights and the training.
        run_eagerly: run the steps eagerly (no graph tracing; for tiny test runs).

    Returns:
        A :class:`SymmetryDemo` with per-scheme histories, distinct ``hidden1`` units,
        column spread, weight change and seconds.

    Raises:
        ValueError: if a scheme is unknown or ``hidden`` is empty.
    """
    for s in schemes:
        check_scheme(s)
    if not hidden:
        raise ValueError("hidden is empty: the demo needs at least one hidden layer")
    splits = fashion_mnist_splits(mode=mode, seed=seed)
    x, y, x_val, y_val = splits.x_train, splits.y_train, splits.x_val, splits.y_val
    if mode.fast:
        x, y, x_val, y_val = x[:fast_train], y[:fast_train], x_val[:fast_train], y_val[:fast_train]
    epochs = mode.epochs(epochs)
    result = SymmetryDemo({}, {}, int(hidden[0]), {}, {}, {}, len(x), epochs)
    for scheme in schemes:
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        model = build_mlp(scheme, hidden, activation, tuple(x.shape[1:]), seed=seed)
        before = model.get_layer("hidden1").get_weights()[0]
        model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                      metrics=["accuracy"], jit_compile=False, run_eagerly=run_eagerly)
        timer = EpochTimer()
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=fit_verbose(),
                            validation_data=(x_val, y_val), callbacks=[timer])
        after = model.get_layer("hidden1").get_weights()[0]
        result.histories[scheme] = {k: [float(v) for v in vals]
                                    for k, vals in history.history.items()}
        result.distinct_units[scheme] = distinct_columns(after)
        result.column_spread[scheme] = float(np.max(after.max(axis=1) - after.min(axis=1)))
        result.weight_change[scheme] = float(np.linalg.norm(after - before))
        result.seconds[scheme] = float(sum(timer.seconds))
    return result
