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


def predict_batches(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """``model(x)`` in inference mode, batch by batch, as a NumPy array.

    Called directly rather than through ``model.predict``: a sweep builds dozens of small
    models, and a ``predict`` function traced for each makes TensorFlow warn about retracing
    (on standard error, where a notebook shows it).

    Args:
        model: a Keras model.
        x: its inputs, ``(N, ...)``.
        batch_size: inputs per call.

    Returns:
        The outputs ``(N, ...)``, concatenated over the batches.
    """
    return np.concatenate([np.asarray(model(x[i:i + batch_size], training=False))
                           for i in range(0, len(x), batch_size)])


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of every training epoch in ``self.seconds``."""

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


class TestSnapshots(keras.callbacks.Callback):
    """Test loss and accuracy after some epochs, in ``self.results[epoch]`` (1-based epochs).

    Lets one long run stand in for a shorter one with the same start (constant learning rate:
    the first ``k`` epochs of a long run are a ``k``-epoch run) instead of training it twice.

    Args:
        epochs: the epochs after which to evaluate, counted from 1.
        x_test: test images.
        y_test: integer test labels.
        batch_size: images per evaluation step.
    """

    def __init__(self, epochs: tuple[int, ...], x_test: np.ndarray, y_test: np.ndarray,
                 batch_size: int):
        super().__init__()
        self.epochs, self.x_test, self.y_test = set(epochs), x_test, y_test
        self.batch_size = batch_size
        self.results: dict[int, tuple[float, float]] = {}

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 in self.epochs:
            loss, accuracy = self.model.evaluate(self.x_test, self.y_test, verbose=0,
                                                 batch_size=self.batch_size)
            self.results[epoch + 1] = (float(loss), float(accuracy))


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

    def prefix(self, epochs: int) -> FitResult:
        """The run as it stood after its first ``epochs`` epochs.

        Needs a test snapshot at that epoch (``fit_and_evaluate(snapshot_epochs=...)``); the
        whole run is returned as it is when ``epochs`` is its length.

        Args:
            epochs: how many epochs to keep, ``1 <= epochs <= len(self.epoch_seconds)``.

        Returns:
            A :class:`FitResult` with the history and seconds of those epochs and the test
            loss and accuracy measured after them.

        Raises:
            ValueError: if no test snapshot was taken after ``epochs`` epochs.
        """
        if epochs == len(self.epoch_seconds):
            return self
        snapshots = self.extra.get("snapshots", {})
        if epochs not in snapshots:
            raise ValueError(f"no test snapshot after epoch {epochs}: pass "
                             f"snapshot_epochs=({epochs},) to fit_and_evaluate (have "
                             f"{sorted(snapshots)})")
        loss, accuracy = snapshots[epochs]
        return FitResult(name=self.name,
                         history={k: v[:epochs] for k, v in self.history.items()},
                         epoch_seconds=self.epoch_seconds[:epochs], test_loss=loss,
                         test_accuracy=accuracy, params=self.params)


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
    snapshot_epochs: tuple[int, ...] = (),
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
        snapshot_epochs: epochs (from 1) after which the test set is also evaluated, so
            that :meth:`FitResult.prefix` can stand in for a shorter run.

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
    snapshots = TestSnapshots(snapshot_epochs, splits.x_test, splits.y_test, batch_size)
    history = model.fit(
        **inputs, epochs=epochs,
        validation_data=(splits.x_val, splits.y_val) if len(splits.x_val) else None,
        callbacks=[timer, snapshots], verbose=fit_verbose() if verbose is None else verbose,
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
        extra={"snapshots": snapshots.results},
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
