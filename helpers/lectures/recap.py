"""Lecture 01, the CNN recap on FashionMNIST: data preparation, the models, training, plots.

The notebook ``course/01_cnn_recap_fashion_mnist.ipynb`` keeps its cells short and calls
these functions.  Images are channels-last float32 ``(N, 28, 28, 1)`` in ``[0, 1]``;
targets are one-hot float ``(N, 10)``.
"""

from __future__ import annotations

# Importing helpers.lectures.recap runs helpers/__init__.py first, which quietens TensorFlow.
import time
from dataclasses import dataclass
from os import PathLike

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import train_test_split

from helpers.data import Splits, as_images
from helpers.input_checks import (
    check_class_indices,
    check_csv_columns,
    check_images,
    check_one_hot,
    check_same_length,
)
from helpers.mode import RunMode, run_mode
from helpers.training.progress import fit_verbose


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns: ``history`` maps ``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy`` to one value per epoch; ``seconds`` is the wall-clock time of ``fit``."""

    history: dict[str, list[float]]
    seconds: float
    epochs: int
    n_train: int


@dataclass(frozen=True)
class EvalResult:
    """What :func:`evaluate` returns: loss and accuracy on the ``x`` it used (the fast-mode
    subset or all of it), with integer labels ``y_true`` and predictions ``y_pred`` ``(N,)``."""

    loss: float
    accuracy: float
    x: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray


def prepare_csv_data(train_csv: str | PathLike, test_csv: str | PathLike,
                     val_size: float = 0.2, random_state: int = 13) -> Splits:
    """The lecture's pandas route from the Kaggle CSVs (``label, pixel1..pixel784``).

    Reads both files, one-hot encodes the labels with ``keras.utils.to_categorical``,
    splits the training rows with ``train_test_split(test_size=val_size,
    random_state=random_state)`` and reshapes/scales the pixels with
    :func:`helpers.data.as_images`.

    Args:
        train_csv: path of ``fashion-mnist_train.csv``.
        test_csv: path of ``fashion-mnist_test.csv``.
        val_size: fraction of the training rows held out for validation.
        random_state: seed of the split.

    Returns:
        :class:`~helpers.data.Splits` with float32 images ``(N, 28, 28, 1)`` in ``[0, 1]``
        and one-hot float labels ``(N, 10)``.
    """
    data_train, data_test = pd.read_csv(train_csv), pd.read_csv(test_csv)
    check_csv_columns(data_train.columns, train_csv)
    check_csv_columns(data_test.columns, test_csv)
    x = np.array(data_train.iloc[:, 1:])
    y = keras.utils.to_categorical(np.array(data_train.iloc[:, 0]), num_classes=10)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=val_size,
                                                      random_state=random_state)
    x_test = np.array(data_test.iloc[:, 1:])
    y_test = keras.utils.to_categorical(np.array(data_test.iloc[:, 0]), num_classes=10)
    return Splits(as_images(x_train), y_train, as_images(x_val), y_val,
                  as_images(x_test), y_test)


def train(model: keras.Model, data: Splits, epochs: int = 10, batch_size: int = 256,
          seed: int = 13, mode: RunMode | None = None) -> TrainResult:
    """Compile (Adam, categorical cross-entropy, accuracy) and fit with validation data.

    ``mode`` caps the epochs and subsamples the training (``kind="train"``) and validation
    (``kind="eval"``) sets in fast mode.  ``verbose=0``.

    Args:
        model: a Keras classifier with softmax outputs ``(N, 10)``.
        data: :class:`~helpers.data.Splits` with one-hot labels.
        epochs: epochs in full mode.
        batch_size: images per step.
        seed: seed of the subsets and of ``keras.utils.set_random_seed``.
        mode: the :class:`~helpers.mode.RunMode` (default: :func:`run_mode`).

    Returns:
        :class:`TrainResult`: per-epoch history, wall-clock seconds of ``fit``, epochs run
        and training images used.
    """
    outputs = model.output_shape[-1]
    for part in ("train", "val"):
        check_images(getattr(data, f"x_{part}"), f"data.x_{part}")
        check_one_hot(getattr(data, f"y_{part}"), outputs, f"data.y_{part}")
    mode = run_mode() if mode is None else mode
    x_train, y_train = mode.subset(data.x_train, data.y_train, kind="train", seed=seed)
    x_val, y_val = mode.subset(data.x_val, data.y_val, kind="eval", seed=seed)
    n_epochs = mode.epochs(epochs)
    keras.utils.set_random_seed(seed)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    start = time.perf_counter()
    hist = model.fit(x_train, y_train, batch_size=batch_size, epochs=n_epochs,
                     verbose=fit_verbose(mode),
                     validation_data=(x_val, y_val))
    seconds = time.perf_counter() - start
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    return TrainResult(history, seconds, n_epochs, len(x_train))


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray, mode: RunMode | None = None,
             seed: int = 13, batch_size: int = 256) -> EvalResult:
    """Test loss/accuracy of a compiled ``model``, plus the predictions.

    Args:
        model: a compiled Keras classifier.
        x: images ``(N, 28, 28, 1)``.
        y: one-hot labels ``(N, C)``.
        mode: the :class:`~helpers.mode.RunMode`; fast mode uses a subset
            (``kind="eval"``).
        seed: seed of the subset.
        batch_size: images per forward pass.

    Returns:
        :class:`EvalResult`: loss, accuracy, the images used and their integer labels
        ``y_true`` and predictions ``y_pred`` ``(n,)``.
    """
    check_images(x, "x")
    check_one_hot(y, model.output_shape[-1], "y")
    check_same_length(x=x, y=y)
    mode = run_mode() if mode is None else mode
    x, y = mode.subset(x, y, kind="eval", seed=seed)
    loss, accuracy = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    y_pred = model.predict(x, batch_size=batch_size, verbose=0).argmax(axis=1)
    return EvalResult(float(loss), float(accuracy), x, y.argmax(axis=1), y_pred)


def _labels(y: np.ndarray, num_classes: int, name: str) -> np.ndarray:
    """Integer labels ``(N,)`` in ``0 .. num_classes - 1`` from labels or one-hot ``(N, C)``."""
    y = np.asarray(y)
    if y.ndim == 2:
        if y.shape[1] != num_classes:
            raise ValueError(f"{name} has {y.shape[1]} columns but there are {num_classes} "
                             "class names; pass one-hot rows or probabilities (N, "
                             f"{num_classes}), or class indices (N,)")
        y = y.argmax(axis=1)
    return check_class_indices(y, num_classes, name)


def plot_history(history: dict[str, list[float]] | TrainResult, title: str = "") -> Figure:
    """Training vs validation accuracy (left) and cross-entropy loss (right) per epoch.

    Args:
        history: a :class:`TrainResult`, or its ``history`` dict (``loss``, ``accuracy``,
            ``val_loss``, ``val_accuracy``).
        title: prefix of the panel titles.

    Returns:
        The matplotlib ``Figure``.
    """
    hist = history.history if isinstance(history, TrainResult) else history
    epochs = np.arange(1, len(hist["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, key, label in zip(axes, ("accuracy", "loss"), ("accuracy", "cross-entropy loss"),
                              strict=True):
        ax.plot(epochs, hist[key], "o-", label=f"training {key}")
        ax.plot(epochs, hist[f"val_{key}"], "s--", label=f"validation {key}")
        ax.set(xlabel="epoch", ylabel=label, title=f"{title} training and validation {key}")
        ax.set_xticks(epochs)
        ax.legend()
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: tuple[str, ...] | list[str],
    title: str = "Confusion matrix",
) -> Figure:
    """Counts of true class (rows) vs predicted class (columns).

    Args:
        y_true: labels ``(N,)`` or one-hot ``(N, C)``.
        y_pred: labels ``(N,)`` or one-hot/probabilities ``(N, C)``.
        class_names: the ``C`` class names.
        title: the axes' title.

    Returns:
        The matplotlib ``Figure``.
    """
    n = len(class_names)
    truth, pred = _labels(y_true, n, "y_true"), _labels(y_pred, n, "y_pred")
    check_same_length(y_true=truth, y_pred=pred)
    cm = confusion_matrix(truth, pred, labels=range(n))
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax, label="number of test images")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    for i, j in np.ndindex(cm.shape):
        colour = "white" if cm[i, j] > cm.max() / 2 else "black"
        ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7, color=colour)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    fig.tight_layout()
    return fig


def _gallery(images: list[np.ndarray], titles: list[str], ncols: int, suptitle: str) -> Figure:
    """Grayscale images (28, 28[, 1]) in a grid, each with a small title."""
    nrows = max(1, -(-len(images) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.5 * ncols, 2.0 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, text in zip(axes.flat, images, titles, strict=False):
        ax.imshow(np.squeeze(image), cmap="gray_r")
        ax.set_title(text, fontsize=8)
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_class_examples(
    x: np.ndarray, y: np.ndarray, class_names: tuple[str, ...] | list[str]
) -> Figure:
    """The first image of every class in ``x``.

    Args:
        x: images ``(N, 28, 28[, 1])``.
        y: labels ``(N,)`` or one-hot ``(N, C)``.
        class_names: the ``C`` class names; every class must occur in ``y``.

    Returns:
        The matplotlib ``Figure``, a grid of 5 columns.
    """
    labels = _labels(y, len(class_names), "y")
    missing = sorted(set(range(len(class_names))) - set(labels.tolist()))
    if missing:
        raise ValueError(f"y holds no image of class(es) {missing}; pass a set with every class")
    first = [int(np.flatnonzero(labels == c)[0]) for c in range(len(class_names))]
    titles = [f"{c}: {name}" for c, name in enumerate(class_names)]
    return _gallery([x[i] for i in first], titles, 5, "One training image per class")


def show_misclassified(
    x: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray,
    class_names: tuple[str, ...] | list[str], n: int = 16,
) -> Figure:
    """The first ``n`` images whose prediction is wrong, titled "true / predicted".

    Args:
        x: images ``(N, 28, 28[, 1])``.
        y_true: labels ``(N,)`` or one-hot ``(N, C)``.
        y_pred: labels ``(N,)`` or one-hot/probabilities ``(N, C)``.
        class_names: the ``C`` class names.
        n: the most images shown.

    Returns:
        The matplotlib ``Figure``, a grid of 8 columns.
    """
    t = _labels(y_true, len(class_names), "y_true")
    p = _labels(y_pred, len(class_names), "y_pred")
    check_same_length(x=x, y_true=t, y_pred=p)
    wrong = np.flatnonzero(t != p)[:n]
    titles = [f"true: {class_names[t[i]]}\npred: {class_names[p[i]]}" for i in wrong]
    suptitle = f"First {len(wrong)} of {int((t != p).sum())} misclassified images"
    return _gallery([x[i] for i in wrong], titles, 8, suptitle)
