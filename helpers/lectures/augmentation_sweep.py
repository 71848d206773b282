"""Where augmentation helps: a training-set-size sweep and a comparison of augmentations.

Lecture 03's slide comparison trains on all 48,000 images, where augmentation buys little.
:func:`augmentation_sweep` trains the course's fast CNN
(:func:`helpers.training.fast.build_fast_cnn`) on class-balanced subsets of several sizes, with
and without augmentation, for the **same number of optimisation steps** whatever the size
(:func:`train_for_steps`: Adam, warm-up and cosine decay over the steps, label smoothing), and
several seeds; :func:`sweep_summary` and :func:`plot_size_sweep` show the mean, the spread
over seeds and the gain over no augmentation.  :data:`AUGMENTATIONS` names the transformations
the lecture measures: label-preserving ones for FashionMNIST (horizontal flip, small shifts,
the slide's affine transform, random erasing) and two that change what a garment looks like
(vertical flip, large rotations).

Images are float32 ``(N, 28, 28, 1)`` in ``[0, 1]``; labels are integers ``(N,)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tensorflow as tf
from keras import layers
from matplotlib.figure import Figure
from sklearn.model_selection import train_test_split

from helpers.mode import FAST_SIZES, RunMode
from helpers.training.augmentation import seed_augmentation, with_augmentation
from helpers.training.fast import FAST, build_fast_cnn, one_hot
from helpers.training.progress import progress
from helpers.training.recipe import predict_batches
from helpers.training.schedules import WarmupCosine

#: A builder: seed -> a random Keras layer ``(B, 28, 28, 1) -> (B, 28, 28, 1)``, or None for
#: no augmentation.
Builder = Callable[[int], "layers.Layer | None"]

#: Zhong et al.'s random erasing: the probability that an image gets a rectangle erased.
ERASING_PROBABILITY = 0.5
#: Range of the squared side fractions Keras' ``RandomErasing`` draws (``scale``): each side
#: of the rectangle is ``sqrt(u)`` of the image's, ``u`` uniform in this range.
ERASING_SCALE = (0.02, 0.4)


def random_erasing(seed: int, probability: float = ERASING_PROBABILITY) -> layers.Layer:
    """Keras 3's ``RandomErasing`` with a fixed probability per image (not a random one).

    ``RandomErasing(factor=p)`` draws each image's probability uniformly from ``[0, p]``, so it
    erases only ``p / 2`` of the images on average; ``factor=(p, p)`` erases ``p`` of them, as
    in Zhong et al. (2020).  The rectangle is filled with 0, the background of FashionMNIST.

    Args:
        seed: seed of the layer.
        probability: fraction of the images that get a rectangle erased, in ``[0, 1]``.

    Returns:
        A ``RandomErasing`` layer for images in ``[0, 1]``.
    """
    return layers.RandomErasing(factor=(probability, probability), scale=ERASING_SCALE,
                                fill_value=0.0, value_range=(0, 1), seed=seed)


def erased_fraction(layer: layers.Layer, images: np.ndarray) -> float:
    """Fraction of ``images`` that ``layer`` changes when called with ``training=True``.

    Args:
        layer: a random Keras layer.
        images: float32 ``(N, 28, 28, 1)``.

    Returns:
        The fraction of images with at least one changed pixel, a float in ``[0, 1]``.
    """
    out = np.asarray(layer(images, training=True))
    return float(np.mean(np.any(out != images, axis=(1, 2, 3))))


def _stack(*parts: layers.Layer) -> keras.Sequential:
    return keras.Sequential(list(parts))


#: The augmentations lecture 03 measures, by name: seed -> layer (None: no augmentation).
AUGMENTATIONS: dict[str, Builder] = {
    "none": lambda seed: None,
    "horizontal flip": lambda seed: layers.RandomFlip("horizontal", seed=seed),
    "shift ±2 px": lambda seed: layers.RandomTranslation(0.08, 0.08, fill_mode="constant",
                                                          seed=seed),
    "slide's affine": lambda seed: seed_augmentation(seed=seed),
    "random erasing": random_erasing,
    "flip + shift + erasing": lambda seed: _stack(
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomTranslation(0.08, 0.08, fill_mode="constant", seed=seed + 1),
        random_erasing(seed + 2)),
    "vertical flip": lambda seed: layers.RandomFlip("vertical", seed=seed),
    "rotation ±90°": lambda seed: layers.RandomRotation(0.25, fill_mode="constant", seed=seed),
}


@dataclass(frozen=True)
class SweepConfig:
    """Sizes, steps and seeds of the sweep.

    Attributes:
        sizes: training-set sizes (images, class-balanced subsets of the training split).
        steps: optimisation steps of every run, whatever its size.
        batch_size: images per step.
        peak_lr: Adam's learning rate after the warm-up (a tenth of the steps).
        seeds: one run per seed and cell; the seed draws the subset, the initial weights, the
            batches and the augmentation.
        type_size: the training-set size at which every augmentation is compared.
    """

    sizes: tuple[int, ...] = (500, 2000, 10000, 48000)
    steps: int = 512
    batch_size: int = 128
    peak_lr: float = 3e-3
    seeds: tuple[int, ...] = (13, 14, 15)
    type_size: int = 2000

    @classmethod
    def for_mode(cls, mode: RunMode) -> SweepConfig:
        """The full configuration, or fast mode's few steps on two small sizes.

        Args:
            mode: the notebook's :class:`~helpers.mode.RunMode`.

        Returns:
            A :class:`SweepConfig`.
        """
        if not mode.fast:
            return cls()
        fast = FAST_SIZES["augmentation_sweep"]
        return cls(sizes=(fast["small"], fast["large"]), steps=fast["steps"], seeds=(13,),
                   type_size=fast["small"])


def balanced_subset(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of a class-balanced random subset of ``n`` labels (all of them if ``n >= len``).

    Args:
        y: integer labels ``(N,)``.
        n: subset size, at least one image per class.
        seed: seed of the draw.

    Returns:
        Sorted int indices ``(n,)`` into ``y``.

    Raises:
        ValueError: if ``n`` is smaller than the number of classes.
    """
    classes = len(np.unique(y))
    if n < classes:
        raise ValueError(f"a balanced subset needs at least one image per class: n={n} < "
                         f"{classes} classes")
    if n >= len(y):
        return np.arange(len(y))
    index, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y,
                                random_state=seed)
    return np.sort(index)


def train_for_steps(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                    augment: layers.Layer | None, steps: int, batch_size: int = 128,
                    peak_lr: float = 3e-3, seed: int = 13) -> float:
    """Train the fast CNN for ``steps`` optimisation steps and return its test accuracy.

    The training images are reshuffled and repeated as often as needed: a small set is seen
    for many epochs, a large one for few.  ``augment`` runs inside the model (training only).

    Args:
        x: float32 training images ``(N, 28, 28, 1)`` in ``[0, 1]``.
        y: integer labels ``(N,)``.
        x_test: float32 test images ``(M, 28, 28, 1)``.
        y_test: integer labels ``(M,)``.
        augment: a random layer or None.
        steps: optimisation steps (>= 2).
        batch_size: images per step.
        peak_lr: Adam's learning rate after a warm-up of a tenth of the steps.
        seed: seeds the weights, the batches and (through its builder) the augmentation.

    Returns:
        The test accuracy after the last step, a float in ``[0, 1]``.

    Raises:
        ValueError: if ``steps < 2``.
    """
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (warm-up and decay), got {steps}")
    model = build_fast_cnn(FAST.with_(seed=seed))
    if augment is not None:
        model = with_augmentation(model, augment)
    keras.utils.set_random_seed(seed)
    data = (tf.data.Dataset.from_tensor_slices((x, one_hot(y))).cache()
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat()
            .batch(batch_size).prefetch(tf.data.AUTOTUNE))
    schedule = WarmupCosine(peak_lr, steps, max(steps // 10, 1))
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True,
                                                            label_smoothing=0.1),
                  steps_per_execution=min(16, steps))
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return float(np.mean(predict_batches(model, x_test).argmax(axis=1) == y_test))


def augmentation_sweep(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                       augmentations: dict[str, Builder], sizes: tuple[int, ...],
                       config: SweepConfig, mode: RunMode | None = None) -> pd.DataFrame:
    """Train every (size, augmentation, seed) for ``config.steps`` steps, with a progress bar.

    For a seed, every augmentation trains on the same subset from the same initial weights.

    Args:
        x: float32 training images ``(N, 28, 28, 1)``, the pool the subsets are drawn from.
        y: integer labels ``(N,)``.
        x_test: float32 test images ``(M, 28, 28, 1)``.
        y_test: integer labels ``(M,)``.
        augmentations: name -> builder (seed -> layer or None), e.g. from
            :data:`AUGMENTATIONS`.
        sizes: training-set sizes.
        config: steps, batch size, learning rate and seeds.
        mode: the notebook's mode (the progress bar shows only in full mode).

    Returns:
        A DataFrame, one row per run: ``size``, ``augmentation``, ``seed``,
        ``test_accuracy`` and ``seconds`` (wall clock, building and testing included).
    """
    cells = [(n, name, seed) for n in sizes for seed in config.seeds for name in augmentations]
    rows, subsets = [], {}
    for n, name, seed in progress(cells, desc="runs (size x seed x augmentation)", mode=mode):
        index = subsets.setdefault((n, seed), balanced_subset(y, n, seed))
        start = time.perf_counter()
        accuracy = train_for_steps(x[index], y[index], x_test, y_test,
                                   augmentations[name](seed), config.steps,
                                   config.batch_size, config.peak_lr, seed)
        rows.append({"size": len(index), "augmentation": name, "seed": seed,
                     "test_accuracy": accuracy, "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def sweep_summary(runs: pd.DataFrame, baseline: str = "none") -> pd.DataFrame:
    """Mean, spread and gain over ``baseline`` per (size, augmentation).

    Args:
        runs: the rows of :func:`augmentation_sweep`.
        baseline: the augmentation the gains are measured against.

    Returns:
        A DataFrame indexed by ``(size, augmentation)`` with ``mean``, ``min``, ``max`` (test
        accuracy over seeds), ``gain_points`` (100 x the mean of the per-seed differences
        from ``baseline`` on the same subset), ``gain_min``/``gain_max`` (their range, in
        points) and ``runs``.

    Raises:
        ValueError: if ``baseline`` is not one of the runs' augmentations.
    """
    if baseline not in set(runs["augmentation"]):
        raise ValueError(f"baseline {baseline!r} is not among the runs' augmentations: "
                         f"{sorted(set(runs['augmentation']))}")
    base = runs[runs["augmentation"] == baseline].set_index(["size", "seed"])["test_accuracy"]
    gain = 100 * (runs["test_accuracy"]
                  - base.loc[list(zip(runs["size"], runs["seed"], strict=True))].to_numpy())
    runs = runs.assign(gain=gain)
    grouped = runs.groupby(["size", "augmentation"], sort=False)
    return pd.DataFrame({
        "mean": grouped["test_accuracy"].mean(), "min": grouped["test_accuracy"].min(),
        "max": grouped["test_accuracy"].max(), "gain_points": grouped["gain"].mean(),
        "gain_min": grouped["gain"].min(), "gain_max": grouped["gain"].max(),
        "runs": grouped.size()})


def plot_size_sweep(summary: pd.DataFrame, steps: int) -> Figure:
    """Test accuracy and gain over no augmentation against the training-set size.

    Args:
        summary: :func:`sweep_summary` of a sweep over several sizes.
        steps: the steps of every run (for the title).

    Returns:
        A ``Figure`` with two panels (log-scaled x axis): accuracy (mean, bar from the lowest
        to the highest seed) and gain in points, one line per augmentation.
    """
    fig, (acc_ax, gain_ax) = plt.subplots(1, 2, figsize=(11, 4), dpi=90)
    for i, name in enumerate(summary.index.get_level_values("augmentation").unique()):
        part = summary.xs(name, level="augmentation")
        sizes = part.index.to_numpy()
        for ax, (mid, low, high) in ((acc_ax, ("mean", "min", "max")),
                                     (gain_ax, ("gain_points", "gain_min", "gain_max"))):
            ax.errorbar(sizes, part[mid], yerr=[part[mid] - part[low], part[high] - part[mid]],
                        marker="o", capsize=3, color=f"C{i}", label=name)
    acc_ax.set(ylabel="test accuracy (mean; bars: lowest to highest seed)",
               title=f"Every run {steps} steps, whatever the size")
    gain_ax.axhline(0, color="black", linewidth=0.8)
    gain_ax.set(ylabel="gain over no augmentation (points)",
                title="What augmentation adds, per training-set size")
    for ax in (acc_ax, gain_ax):
        ax.set_xscale("log")
        ax.set_xlabel("training images (log scale)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_gains(summary: pd.DataFrame, size: int) -> Figure:
    """Gain of every augmentation over none at one training-set size, as horizontal bars.

    Args:
        summary: :func:`sweep_summary` with rows for ``size``.
        size: the training-set size to show.

    Returns:
        A ``Figure``: one bar per augmentation (mean gain in points, sorted), a line from the
        lowest to the highest seed's gain; green bars help, red ones hurt.
    """
    part = summary.xs(size, level="size").drop(index="none", errors="ignore")
    part = part.sort_values("gain_points")
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(part) + 1.2), dpi=90)
    colours = ["tab:green" if g > 0 else "tab:red" for g in part["gain_points"]]
    ax.barh(part.index, part["gain_points"], color=colours, alpha=0.8,
            xerr=[part["gain_points"] - part["gain_min"], part["gain_max"] - part["gain_points"]],
            capsize=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(xlabel="test accuracy gain over no augmentation (points; line: lowest to highest seed)",
           title=f"{size:,} training images: which augmentation helps FashionMNIST")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
