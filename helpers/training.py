"""One training recipe for the architecture lectures: data splits, fit, evaluate, timing.

The lectures compare models *trained the same way*; this module is that way.  Data come
from :func:`helpers.data.load_fashion_mnist` (the real, verified FashionMNIST) as float32
``(N, 28, 28, 1)`` images in ``[0, 1]`` with integer labels ``(N,)``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import keras
import numpy as np
from sklearn.model_selection import train_test_split

from helpers.data import load_fashion_mnist
from helpers.mode import RunMode, run_mode


@dataclass(frozen=True)
class Splits:
    """Train / validation / test arrays: images float32 ``(N, 28, 28, 1)``, labels int ``(N,)``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def sizes(self) -> dict[str, int]:
        """Number of images per split."""
        return {"train": len(self.x_train), "val": len(self.x_val), "test": len(self.x_test)}


def fashion_mnist_splits(
    val_size: int = 5000, seed: int = 13, mode: RunMode | None = None
) -> Splits:
    """FashionMNIST split into train / validation (stratified, seeded) / the official test.

    In fast mode the splits are seeded subsets (see :meth:`RunMode.subset`).
    """
    mode = mode or run_mode()
    data = load_fashion_mnist()
    x = (data.x_train.astype("float32") / 255.0)[..., None]
    x_test = (data.x_test.astype("float32") / 255.0)[..., None]
    x_train, x_val, y_train, y_val = train_test_split(
        x, data.y_train.astype("int32"), test_size=val_size, random_state=seed,
        stratify=data.y_train,
    )
    x_train, y_train = mode.subset(x_train, y_train, kind="train", seed=seed)
    x_val, y_val = mode.subset(x_val, y_val, kind="eval", seed=seed)
    x_test, y_test = mode.subset(x_test, data.y_test.astype("int32"), kind="eval", seed=seed)
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test)


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of every training epoch in ``self.seconds``."""

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


@dataclass
class FitResult:
    """What :func:`fit_and_evaluate` measured.

    Attributes:
        history: per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.
        epoch_seconds: wall-clock seconds of each epoch.
        test_loss, test_accuracy: on ``splits.x_test``.
        params: ``model.count_params()``.
    """

    name: str
    history: dict[str, list[float]]
    epoch_seconds: list[float]
    test_loss: float
    test_accuracy: float
    params: int
    extra: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """Total training time in seconds."""
        return float(sum(self.epoch_seconds))

    @property
    def final_train_error(self) -> float:
        """1 - training accuracy of the last epoch."""
        return 1.0 - self.history["accuracy"][-1]


def fit_and_evaluate(
    model: keras.Model,
    splits: Splits,
    epochs: int,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    cosine_decay: bool = True,
    weight_decay: float = 0.0,
    seed: int = 13,
    run_eagerly: bool = False,
) -> FitResult:
    """Compile ``model`` with Adam(W) and sparse categorical cross-entropy, fit it on
    ``splits.x_train`` with validation, and evaluate it on the test split.

    Args:
        epochs: number of epochs (callers pass ``mode.epochs(full_epochs)``).
        cosine_decay: decay the learning rate to 0 over the run (cosine schedule).
        weight_decay: decoupled weight decay (AdamW) when > 0.
        run_eagerly: run the training and test steps eagerly (no graph).  For tiny fast-mode
            runs of deep models, where tracing the graphs takes longer than the few steps.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    keras.utils.set_random_seed(seed)
    steps = epochs * math.ceil(len(splits.x_train) / batch_size)
    lr = keras.optimizers.schedules.CosineDecay(learning_rate, steps) if cosine_decay else (
        learning_rate)
    optimizer = (keras.optimizers.AdamW(lr, weight_decay=weight_decay) if weight_decay > 0
                 else keras.optimizers.Adam(lr))
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], run_eagerly=run_eagerly)
    timer = EpochTimer()
    history = model.fit(
        splits.x_train, splits.y_train, batch_size=batch_size, epochs=epochs,
        validation_data=(splits.x_val, splits.y_val), callbacks=[timer], verbose=0,
    )
    test_loss, test_accuracy = model.evaluate(splits.x_test, splits.y_test, verbose=0)
    return FitResult(
        name=model.name,
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        epoch_seconds=timer.seconds,
        test_loss=float(test_loss),
        test_accuracy=float(test_accuracy),
        params=int(model.count_params()),
    )
