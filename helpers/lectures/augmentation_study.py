"""Lecture 03's experiments: lecture 01's split, cnn1 with noise, when not to augment (text,
digits), epoch timing, and the plots.  The augmentation layers and pipelines themselves are
:mod:`helpers.training.augmentation`; training is :func:`helpers.training.recipe.fit_and_evaluate`.

Images are channels-last float32 ``(N, H, W, 1)`` in ``[0, 1]``; labels are integers ``(N,)``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from helpers.architectures.small import build_cnn1
from helpers.data import Splits, as_images, load_fashion_mnist
from helpers.mode import FAST_SIZES, RunMode, run_mode
from helpers.training.recipe import FitResult, fit_and_evaluate, fit_inputs

#: Fast mode's :func:`lecture01_splits`: at most this many training and validation/test images
#: (every cnn1 run of the lecture trains on, validates on and is tested on them).
FAST_SPLIT_TRAIN = FAST_SIZES["lecture01_split"]["train"]


FAST_SPLIT_EVAL = FAST_SIZES["lecture01_split"]["eval"]


def lecture01_splits(mode: RunMode | None = None, val_size: float = 0.2,
                     random_state: int = 13) -> Splits:
    """Lecture 01's split of FashionMNIST, with integer labels.

    The 60,000 training images split 80/20 with ``train_test_split(test_size=0.2,
    random_state=13)`` (48,000 / 12,000, the same rows as ``recap.prepare_csv_data``), and
    the official 10,000 test images; seeded subsets in fast mode (at most
    :data:`FAST_SPLIT_TRAIN` training and :data:`FAST_SPLIT_EVAL` validation and test
    images).

    Args:
        mode: the :class:`~helpers.mode.RunMode` (default: :func:`run_mode`).
        val_size: fraction of the training images held out for validation.
        random_state: seed of the split and of the fast-mode subsets.

    Returns:
        :class:`~helpers.data.Splits` with float32 images ``(N, 28, 28, 1)`` in ``[0, 1]``
        and integer labels ``(N,)``.
    """
    mode = mode or run_mode()
    if mode.fast:
        mode = dataclasses.replace(mode, max_train=min(mode.max_train, FAST_SPLIT_TRAIN),
                                   max_eval=min(mode.max_eval, FAST_SPLIT_EVAL))
    data = load_fashion_mnist()
    x = as_images(data.x_train)
    x_tr, x_val, y_tr, y_val = train_test_split(x, data.y_train.astype("int32"),
                                                test_size=val_size, random_state=random_state)
    x_test = as_images(data.x_test)
    x_tr, y_tr = mode.subset(x_tr, y_tr, kind="train", seed=random_state)
    x_val, y_val = mode.subset(x_val, y_val, kind="eval", seed=random_state)
    x_test, y_test = mode.subset(x_test, data.y_test.astype("int32"), kind="eval", seed=13)
    return Splits(x_tr, y_tr, x_val, y_val, x_test, y_test)


def cnn1_with_noise(input_std: float = 0.0, hidden_std: float = 0.0,
                    seed: int = 13) -> keras.Sequential:
    """``cnn1`` with Gaussian noise on the pixels and on the 128 hidden units.

    ``GaussianNoise(input_std)`` on the pixels and ``GaussianNoise(hidden_std)`` on the 128
    hidden units (after their ReLU); the noise is active only in training.

    Args:
        input_std: standard deviation of the pixel noise (pixels in ``[0, 1]``).
        hidden_std: standard deviation of the hidden-unit noise.
        seed: seed of the weights (:func:`build_cnn1`) and of the noise.

    Returns:
        A ``keras.Sequential``, ``(N, 28, 28, 1) -> (N, 10)`` softmax.
    """
    cnn = build_cnn1(seed=seed)
    body, head = cnn.layers[:-1], cnn.layers[-1]
    return keras.Sequential([keras.Input((28, 28, 1)), layers.GaussianNoise(input_std, seed=seed),
                             *body, layers.GaussianNoise(hidden_std, seed=seed + 1), head],
                            name=f"cnn1_noise_{input_std:g}_{hidden_std:g}")


def train_variant(model: keras.Model,
                  train_data: tf.data.Dataset | tuple[np.ndarray, np.ndarray],
                  splits: Splits, epochs: int, batch_size: int = 256, seed: int = 13,
                  snapshot_epochs: tuple[int, ...] = ()) -> FitResult:
    """The lecture's recipe: Adam at a constant learning rate of 1e-3, cross-entropy.

    Trains ``epochs`` epochs on ``train_data``, validated on the clean ``splits.x_val``
    after every epoch, tested on ``splits.x_test``
    (:func:`helpers.training.recipe.fit_and_evaluate`, no cosine decay).

    Args:
        model: a Keras classifier with softmax outputs.
        train_data: a ``tf.data.Dataset`` of batches, or arrays ``(x, y)`` cut into batches
            of ``batch_size``.
        splits: :class:`~helpers.data.Splits` with integer labels.
        epochs: training epochs.
        batch_size: images per batch, for arrays.
        seed: passed to ``keras.utils.set_random_seed``.
        snapshot_epochs: epochs after which the test set is evaluated too
            (:meth:`FitResult.prefix` then gives the shorter run).

    Returns:
        A :class:`FitResult`; ``epoch_seconds`` holds each epoch's wall-clock time in
        seconds (validation included).
    """
    return fit_and_evaluate(model, splits, epochs, batch_size=batch_size, learning_rate=1e-3,
                            cosine_decay=False, seed=seed, train_data=train_data,
                            snapshot_epochs=snapshot_epochs)


def compare_epoch_seconds(variants: dict[str, tuple[keras.Model, object]], rounds: int = 3,
                          batch_size: int = 256) -> dict[str, float]:
    """Median seconds of one training epoch (no validation) for each ``name: (model, data)``.

    Every model first trains one untimed epoch (graph tracing); then ``rounds`` rounds train
    one epoch of each variant in turn, so that a change in machine load hits all variants
    alike.

    Args:
        variants: name -> ``(compiled model, data)``, ``data`` a ``tf.data.Dataset`` of
            batches or ``(x, y)`` arrays.
        rounds: timed epochs per variant.
        batch_size: images per batch, for arrays.

    Returns:
        A dict name -> median wall-clock seconds per epoch.
    """
    for model, data in variants.values():
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(**fit_inputs(data, batch_size), epochs=1, verbose=0)
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (model, data) in variants.items():
            start = time.perf_counter()
            model.fit(**fit_inputs(data, batch_size), epochs=1, verbose=0)
            seconds[name].append(time.perf_counter() - start)
    return {name: float(np.median(s)) for name, s in seconds.items()}


def plot_curves(results: dict[str, FitResult], key: str = "accuracy") -> Figure:
    """Training vs validation ``key`` per epoch, one panel per run, shared y axis.

    Args:
        results: run name -> :class:`FitResult`.
        key: the history key, e.g. ``"accuracy"`` or ``"loss"``.

    Returns:
        The matplotlib ``Figure``.
    """
    fig, axes = plt.subplots(1, len(results), figsize=(4.5 * len(results), 3.3), sharey=True,
                             squeeze=False)
    for ax, (name, res) in zip(axes[0], results.items(), strict=True):
        epochs = np.arange(1, len(res.history[key]) + 1)
        ax.plot(epochs, res.history[key], label=f"training {key}")
        ax.plot(epochs, res.history[f"val_{key}"], "--", label=f"validation {key}")
        ax.set(xlabel="epoch", ylabel=key)
        ax.set_title(f"{name}\ntest accuracy {res.test_accuracy:.4f}", fontsize=10)
        ax.grid(alpha=0.3), ax.legend()
    fig.tight_layout()
    return fig


def text_image(text: str = "STOP 42", height: int = 32, width: int = 128) -> np.ndarray:
    """``text`` rendered in black on white by matplotlib.

    Args:
        text: the text.
        height: image height in pixels.
        width: image width in pixels.

    Returns:
        A float32 array ``(height, width)`` of ink values in ``[0, 1]`` (1 = black).
    """
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=0.55 * height,
             fontweight="bold", family="DejaVu Sans")
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba(), dtype="float32")[:height, :width]
    return 1.0 - rgba[..., :3].mean(axis=-1) / 255.0


def digits_splits(test_size: float = 0.25, seed: int = 13):
    """scikit-learn's 1,797 bundled 8x8 digits, scaled to ``[0, 1]``, split stratified.

    Pixel values 0..16 are divided by 16.

    Args:
        test_size: fraction of the digits held out for testing.
        seed: seed of the split.

    Returns:
        A list ``[x_train, x_test, y_train, y_test]`` (``train_test_split``'s order):
        float32 images ``(N, 8, 8, 1)`` and int32 labels ``(N,)``.
    """
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    return train_test_split(x, digits.target.astype("int32"), test_size=test_size,
                            random_state=seed, stratify=digits.target)


def build_digits_cnn(augment: layers.Layer | None = None, seed: int = 13) -> keras.Sequential:
    """A small CNN for 8x8 digits.

    [augment] -> Conv 3x3 (16) -> Conv 3x3 (32) -> MaxPool 2 -> Flatten (512) -> Dense 64 ->
    Dense 10 softmax (38,282 parameters).

    Args:
        augment: a random layer put first (None: none).
        seed: passed to ``keras.utils.set_random_seed`` before building.

    Returns:
        An uncompiled ``keras.Sequential``, ``(N, 8, 8, 1) -> (N, 10)``.
    """
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((8, 8, 1)), *([augment] if augment else []),
                             layers.Conv2D(16, 3, padding="same", activation="relu"),
                             layers.Conv2D(32, 3, padding="same", activation="relu"),
                             layers.MaxPooling2D(2), layers.Flatten(),
                             layers.Dense(64, activation="relu"),
                             layers.Dense(10, activation="softmax")], name="digits_cnn")


def digits_experiment(augmenters: dict[str, Callable[[int], layers.Layer | None]],
                      epochs: int = 30, seeds: tuple[int, ...] = (13, 14, 15)
                      ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train :func:`build_digits_cnn` once per seed with each augmentation.

    Adam, batch 64, on :func:`digits_splits`.

    Args:
        augmenters: name -> function of a seed giving a fresh augmentation layer or None.
        epochs: training epochs per run.
        seeds: one run per seed.

    Returns:
        A dict name -> ``(y_true, y_pred)`` over the test digits of all seeds, each an int
        array ``(len(seeds) * 450,)``.
    """
    x_tr, x_te, y_tr, y_te = digits_splits()
    out = {}
    for name, factory in augmenters.items():
        preds = []
        for seed in seeds:
            model = build_digits_cnn(factory(seed), seed=seed)
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(x_tr, y_tr, batch_size=64, epochs=epochs, verbose=0)
            preds.append(model.predict(x_te, verbose=0).argmax(axis=1))
        out[name] = (np.tile(y_te, len(seeds)), np.concatenate(preds))
    return out


def plot_per_class(accuracies: dict[str, np.ndarray], title: str) -> Figure:
    """Grouped bars: per-class accuracy (fraction correct) of each named run.

    Args:
        accuracies: run name -> per-class accuracy ``(10,)``.
        title: the axes' title.

    Returns:
        The matplotlib ``Figure``.
    """
    fig, ax = plt.subplots(figsize=(8, 3.2))
    width = 0.8 / len(accuracies)
    for i, (name, acc) in enumerate(accuracies.items()):
        ax.bar(np.arange(len(acc)) + (i - (len(accuracies) - 1) / 2) * width, acc, width,
               label=name)
    ax.set(xlabel="true digit", ylabel="accuracy (fraction correct)", title=title,
           xticks=np.arange(10), ylim=(0, 1.25))
    ax.legend(loc="upper center", ncols=len(accuracies), fontsize=8)
    fig.tight_layout()
    return fig


def plot_noise_sweep(stds: list[float], accuracies: dict[str, list[float]], title: str,
                     ylabel: str = "validation accuracy") -> Figure:
    """Accuracy against the noise standard deviation σ, one line per placement of the noise.

    Args:
        stds: the noise standard deviations (x axis).
        accuracies: placement name -> accuracies, one per ``std``.
        title: the axes' title.
        ylabel: the y axis' label.

    Returns:
        The matplotlib ``Figure``.
    """
    fig, ax = plt.subplots(figsize=(5.5, 3.3))
    for name, acc in accuracies.items():
        ax.plot(stds, acc, "o-", label=name)
    ax.set(xlabel="noise standard deviation σ (pixel values range 0 to 1)",
           ylabel=ylabel, title=title)
    ax.grid(alpha=0.3), ax.legend()
    fig.tight_layout()
    return fig
