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
import tensorflow as tf

from helpers.data import Splits
from helpers.training.progress import fit_verbose


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
        """Total training time in seconds.

        Returns:
            The sum of ``epoch_seconds``, a float.
        """
        return float(sum(self.epoch_seconds))

    @property
    def final_train_error(self) -> float:
        """1 - training accuracy of the last epoch.

        Returns:
            The error, a float in ``[0, 1]``.
        """
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
    train_data: tf.data.Dataset | tuple[np.ndarray, np.ndarray] | None = None,
    verbose: int | None = None,
) -> FitResult:
    """Compile ``model`` with Adam(W), fit it with validation, and evaluate it on the test split.

    The loss is sparse categorical cross-entropy; the model is fitted on
    ``splits.x_train`` with ``splits``' validation set (none when it is empty: with one
    label per class there is nothing to spare for one).

    Args:
        model: a Keras classifier with softmax outputs.
        splits: the data splits (``x_train``, ``y_train``, ``x_val``, ``y_val``, ``x_test``,
            ``y_test``).
        epochs: number of epochs (callers pass ``mode.epochs(full_epochs)``), ``>= 1``.
        batch_size: images per step, ``>= 1``.
        learning_rate: the (initial) learning rate.
        cosine_decay: decay the learning rate to 0 over the run (cosine schedule).
        weight_decay: decoupled weight decay (AdamW) when > 0.
        seed: passed to ``keras.utils.set_random_seed`` before training.
        run_eagerly: run the training and test steps eagerly (no graph).  For tiny fast-mode
            runs of deep models, where tracing the graphs takes longer than the few steps.
        train_data: what to train on instead of ``(splits.x_train, splits.y_train)``: a
            ``tf.data.Dataset`` of ``(images, labels)`` batches (online augmentation) or
            arrays ``(x, y)`` (offline augmentation); the schedule counts its batches.
        verbose: ``model.fit``'s ``verbose``; None: :func:`fit_verbose` (one line per epoch
            in full mode).  Callers that show their own progress over many short runs pass 0.

    Returns:
        The :class:`FitResult`: per-epoch history and seconds, test loss and accuracy.

    Raises:
        ValueError: if ``epochs`` or ``batch_size`` is ``< 1``.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    keras.utils.set_random_seed(seed)
    inputs = fit_inputs(train_data if train_data is not None
                        else (splits.x_train, splits.y_train), batch_size)
    batches = (int(train_data.cardinality()) if isinstance(train_data, tf.data.Dataset)
               else math.ceil(len(inputs["x"]) / batch_size))
    steps = epochs * max(batches, 1)
    lr = keras.optimizers.schedules.CosineDecay(learning_rate, steps) if cosine_decay else (
        learning_rate)
    optimizer = (keras.optimizers.AdamW(lr, weight_decay=weight_decay) if weight_decay > 0
                 else keras.optimizers.Adam(lr))
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], run_eagerly=run_eagerly)
    timer = EpochTimer()
    history = model.fit(
        **inputs, epochs=epochs,
        validation_data=(splits.x_val, splits.y_val) if len(splits.x_val) else None,
        callbacks=[timer], verbose=fit_verbose() if verbose is None else verbose,
    )
    test_loss, test_accuracy = model.evaluate(splits.x_test, splits.y_test,
                                              batch_size=batch_size, verbose=0)
    return FitResult(
        name=model.name,
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        epoch_seconds=timer.seconds,
        test_loss=float(test_loss),
        test_accuracy=float(test_accuracy),
        params=int(model.count_params()),
    )


def fit_inputs(train_data: tf.data.Dataset | tuple[np.ndarray, np.ndarray],
               batch_size: int) -> dict:
    """``model.fit`` arguments for a dataset of batches or for ``(x, y)`` arrays.

    Args:
        train_data: a ``tf.data.Dataset`` of batches (which shuffles itself) or a tuple
            ``(x, y)`` of arrays.
        batch_size: images per batch, for arrays.

    Returns:
        A dict of keyword arguments: ``{"x", "y", "batch_size"}`` for arrays,
        ``{"x", "shuffle": False}`` for a dataset.
    """
    if isinstance(train_data, tf.data.Dataset):
        return {"x": train_data, "shuffle": False}
    return {"x": train_data[0], "y": train_data[1], "batch_size": batch_size}
