"""Transfer learning on FashionMNIST, offline: the source task, the tasks' splits, pretraining,
the shared target recipe and layer transferability.

* **Source task**: classes 0-4 (T-shirt/top, Trouser, Pullover, Dress, Coat), every training
  image of those classes.  A small CNN
  (:func:`~helpers.architectures.small.build_transfer_cnn`) is pretrained on it.
* **Target task**: classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot) relabelled 0-4, with
  only ``N`` labelled training images per class (seeded); its test set is the official test
  images of classes 5-9.  :mod:`helpers.lectures.transfer_targets` adds two more targets
  (the source classes regrouped, handwritten digits); :mod:`helpers.lectures.transfer_sweep`
  measures the methods.

Every target run trains with :func:`fit_target`.  :func:`layer_transferability` freezes the
first ``k`` blocks (Yosinski et al. 2014).

Images are float32 ``(N, 28, 28, 1)`` in ``[0, 1]``, labels int32 ``(N,)``.  Convention:
BatchNormalization layers of pretrained blocks stay frozen (inference mode) when fine-tuning
at a reduced rate, as the Keras transfer-learning guide recommends; in Keras 3 a BN layer with
``trainable=False`` always normalises with its moving statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.architectures.small import build_transfer_cnn
from helpers.data import FashionMNIST, Splits, as_images, load_fashion_mnist
from helpers.mode import FAST_SIZES, RunMode
from helpers.training.fine_tuning import (
    conv_blocks,
    freeze_up_to,
    trainable_parameter_count,
    transfer_model,
)
from helpers.training.recipe import FitResult, fit_and_evaluate

SOURCE_CLASSES: tuple[int, ...] = (0, 1, 2, 3, 4)
TARGET_CLASSES: tuple[int, ...] = (5, 6, 7, 8, 9)


@dataclass(frozen=True)
class TransferConfig:
    """Model, data and training budget of the transfer experiments (one recipe for all).

    A target run of ``n`` images trains ``target_epochs(n)`` epochs: about
    ``target_image_epochs`` images seen, clipped to ``[min_epochs, max_epochs]``.
    ``None`` for ``n_source`` / ``n_test`` means all images.  ``labels_per_class``,
    ``regrouped_labels_per_class`` and ``digit_labels_per_class``: the label sweeps on the
    new-classes, the regrouped and the new-domain target
    (:mod:`helpers.lectures.transfer_targets`), each drawn with every seed of ``seeds``.
    ``detail_labels_per_class``: the label counts at which the heads and the fine-tuning
    rates are compared.  ``frozen_blocks``: the values
    of ``k`` :func:`layer_transferability` tries (``None``: every ``k`` from 0 to the number
    of blocks).
    """

    filters: tuple[int, ...] = (16, 32, 64)
    head_units: int = 64
    labels_per_class: tuple[int, ...] = (1, 5, 10, 100, 1000)
    regrouped_labels_per_class: tuple[int, ...] = (1, 10, 100)
    digit_labels_per_class: tuple[int, ...] = (1, 5, 10, 25, 100)
    seeds: tuple[int, ...] = (13, 14, 15)
    detail_labels_per_class: tuple[int, ...] = (10, 100)
    transfer_labels_per_class: int = 200
    val_per_class: int = 50
    source_val_per_class: int = 500
    n_source: int | None = None
    n_test: int | None = None
    pretrain_epochs: int = 6
    target_image_epochs: int = 15_000
    min_epochs: int = 5
    max_epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 1e-3
    finetune_factor: float = 0.1
    seed: int = 13
    frozen_blocks: tuple[int, ...] | None = None

    def for_mode(self, mode: RunMode) -> TransferConfig:
        """Full mode: unchanged.  Fast mode: 600 source images, one seed and one small label
        count per sweep (each count trains two networks per seed), 250 test images, one epoch
        everywhere, and :func:`layer_transferability` at ``k = 0`` and ``k = L`` only (each
        ``k`` trains two networks) (same code, meaningless numbers)."""
        if not mode.fast:
            return self
        sizes = FAST_SIZES["transfer"]
        sweep = (sizes["sweep_labels_per_class"],)
        return replace(self, labels_per_class=sweep, digit_labels_per_class=sweep,
                       regrouped_labels_per_class=sweep,
                       seeds=self.seeds[:1], detail_labels_per_class=sweep,
                       transfer_labels_per_class=sizes["labels_per_class"],
                       val_per_class=sizes["val_per_class"],
                       source_val_per_class=sizes["source_val_per_class"],
                       n_source=sizes["n_source"], n_test=sizes["n_test"],
                       pretrain_epochs=mode.epochs(self.pretrain_epochs), min_epochs=1,
                       max_epochs=mode.epochs(self.max_epochs),
                       frozen_blocks=(0, len(self.filters)))

    def target_epochs(self, n_train: int) -> int:
        """Epochs for a target run on ``n_train`` images."""
        return int(np.clip(round(self.target_image_epochs / n_train), self.min_epochs,
                           self.max_epochs))

    def describe(self) -> str:
        """One line with the recipe."""
        src = "all" if self.n_source is None else f"{self.n_source:,}"
        return (f"CNN {self.filters} + head {self.head_units}; pretrain on {src} source images "
                f"for {self.pretrain_epochs} epoch(s); target labels per class "
                f"{self.labels_per_class} (digits {self.digit_labels_per_class}), seeds "
                f"{self.seeds}; Adam {self.learning_rate:g}, fine-tuning at "
                f"{self.finetune_factor:g}x; seed {self.seed}")


def _images(x: np.ndarray) -> np.ndarray:
    """uint8 ``(N, 28, 28)`` -> float32 ``(N, 28, 28, 1)`` in [0, 1]; float input is kept."""
    x = np.asarray(x)
    return as_images(x) if x.dtype == np.uint8 else (
        x[..., None] if x.ndim == 3 else x.astype("float32"))


def select_classes(x: np.ndarray, y: np.ndarray, classes: tuple[int, ...],
                   per_class: int | None = None, val_per_class: int = 0, seed: int = 13
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Images of ``classes`` relabelled ``classes[i] -> i``, split into train and validation.

    For every class a seeded permutation gives ``val_per_class`` validation images, then
    ``per_class`` training images (``None``: all the rest).  The two parts are disjoint.

    Args:
        x: images, uint8 ``(N, 28, 28)`` (scaled to float32 ``(N, 28, 28, 1)`` in [0, 1]) or
            float.
        y: labels ``(N,)``.
        classes: distinct labels to keep, in their new order.
        per_class: training images per class (None: all the rest), ``>= 1``.
        val_per_class: validation images per class, ``>= 0``.
        seed: seed of the permutations.

    Returns:
        ``x_train (n, ...), y_train (n,), x_val (m, ...), y_val (m,)``, rows shuffled;
        labels int32.

    Raises:
        ValueError: if ``classes`` is empty or not distinct, ``per_class < 1`` or
            ``val_per_class < 0``, or a class has too few images.
    """
    y = np.asarray(y)
    if len(classes) == 0 or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be a non-empty tuple of distinct labels, got {classes}")
    if (per_class is not None and per_class < 1) or val_per_class < 0:
        raise ValueError(f"per_class must be >= 1 (or None) and val_per_class >= 0, got "
                         f"{per_class} and {val_per_class}")
    rng = np.random.default_rng(seed)
    train_rows, val_rows, train_y, val_y = [], [], [], []
    for new, old in enumerate(classes):
        rows = rng.permutation(np.flatnonzero(y == old))
        want = val_per_class + (per_class or 1)
        if len(rows) < want:
            raise ValueError(
                f"class {old} has {len(rows)} images but {want} are needed "
                f"({val_per_class} for validation + {per_class or 1} for training): use at "
                f"most {len(rows) - val_per_class} labels per class or a smaller validation set")
        take = rows[val_per_class:] if per_class is None else rows[val_per_class:want]
        val_rows.append(rows[:val_per_class])
        train_rows.append(take)
        train_y.append(np.full(len(take), new))
        val_y.append(np.full(val_per_class, new))
    order_t = rng.permutation(sum(map(len, train_rows)))
    order_v = rng.permutation(val_per_class * len(classes))
    xt, xv = np.concatenate(train_rows), np.concatenate(val_rows)
    return (_images(x[xt[order_t]]), np.concatenate(train_y)[order_t].astype("int32"),
            _images(x[xv[order_v]]), np.concatenate(val_y)[order_v].astype("int32"))


def _task(data: FashionMNIST, classes: tuple[int, ...], per_class: int | None,
          val_per_class: int, n_test: int | None, seed: int) -> Splits:
    x_train, y_train, x_val, y_val = select_classes(
        data.x_train, data.y_train, classes, per_class, val_per_class, seed)
    x_test, y_test, _, _ = select_classes(data.x_test, data.y_test, classes, None, 0, seed)
    if n_test is not None and n_test < len(x_test):
        x_test, y_test = x_test[:n_test], y_test[:n_test]  # rows are already shuffled
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test)


def source_task(config: TransferConfig, data: FashionMNIST | None = None) -> Splits:
    """The source task: classes 0-4 of FashionMNIST.

    All their training images (``config.n_source`` in fast mode) minus a validation set of
    ``config.source_val_per_class`` per class; test = their test images.

    Args:
        config: the :class:`TransferConfig`.
        data: the loaded FashionMNIST (default: :func:`load_fashion_mnist`).

    Returns:
        :class:`~helpers.data.Splits` with float32 images ``(N, 28, 28, 1)`` and int32
        labels 0-4.
    """
    data = data or load_fashion_mnist()
    per_class = None if config.n_source is None else max(1, config.n_source // 5)
    return _task(data, SOURCE_CLASSES, per_class, config.source_val_per_class, config.n_test,
                 config.seed)


def target_task(labels_per_class: int, config: TransferConfig,
                data: FashionMNIST | None = None) -> Splits:
    """The target task: classes 5-9 relabelled 0-4, with ``labels_per_class`` labels per class.

    A disjoint validation set of ``config.val_per_class`` per class; test = their test
    images.

    Args:
        labels_per_class: training images per class, ``>= 1``.
        config: the :class:`TransferConfig`.
        data: the loaded FashionMNIST (default: :func:`load_fashion_mnist`).

    Returns:
        :class:`~helpers.data.Splits` with float32 images ``(N, 28, 28, 1)`` and int32
        labels 0-4.

    Raises:
        ValueError: if ``labels_per_class < 1`` or a class has too few images.
    """
    if labels_per_class < 1:
        raise ValueError(f"labels_per_class must be >= 1, got {labels_per_class}")
    return _task(data or load_fashion_mnist(), TARGET_CLASSES, labels_per_class,
                 config.val_per_class, config.n_test, config.seed)


def pretrain(source: Splits, config: TransferConfig) -> tuple[keras.Model, FitResult]:
    """Train :func:`~helpers.architectures.small.build_transfer_cnn` on the source task.

    Args:
        source: the :func:`source_task` splits.
        config: the :class:`TransferConfig`.

    Returns:
        A tuple ``(model, result)``: the trained model and its :class:`FitResult`.
    """
    keras.utils.set_random_seed(config.seed)
    model = build_transfer_cnn(len(SOURCE_CLASSES), config.filters, config.head_units,
                               name="source_cnn")
    result = fit_and_evaluate(model, source, config.pretrain_epochs, config.batch_size,
                              config.learning_rate, seed=config.seed)
    return model, result


def fit_target(model: keras.Model, target: Splits, config: TransferConfig, lr: float,
               verbose: int | None = None) -> FitResult:
    """Train ``model`` on a target task the way every target run of the lecture is trained.

    Adam at ``lr`` with cosine decay for ``config.target_epochs(n)`` epochs, batch
    ``n // 8`` clipped to ``[16, config.batch_size]`` (``n`` training images).

    Args:
        model: a Keras classifier with softmax outputs (frozen layers as the caller set them).
        target: the target splits (an empty validation set is allowed).
        config: the :class:`TransferConfig`.
        lr: the initial learning rate.
        verbose: ``model.fit``'s verbose (None: one line per epoch in full mode).

    Returns:
        The :class:`~helpers.training.recipe.FitResult`.
    """
    n = len(target.x_train)
    batch = int(np.clip(n // 8, 16, config.batch_size))
    return fit_and_evaluate(model, target, config.target_epochs(n), batch, lr, seed=config.seed,
                            verbose=verbose)


def _finish(fig: plt.Figure, ax: plt.Axes, xlabel: str, title: str) -> plt.Figure:
    ax.set(xlabel=xlabel, ylabel="target test accuracy (%)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def layer_transferability(pretrained: keras.Model, target: Splits, config: TransferConfig,
                          variants: tuple[str, ...] = ("retrain", "fine-tune")) -> pd.DataFrame:
    """Freeze the first ``k`` pretrained blocks (``k = 0..L``) and train the rest.

    ``k`` runs over ``0..L``, or ``config.frozen_blocks``.  ``"retrain"`` (Yosinski's AnB):
    blocks above ``k`` are re-initialised.  ``"fine-tune"`` (AnB+): they keep the pretrained
    weights.  Both train at
    ``config.learning_rate`` with a new head.

    Args:
        pretrained: the model trained on the source task.
        target: the target task's splits.
        config: the :class:`TransferConfig`.
        variants: ``"retrain"`` and/or ``"fine-tune"``.

    Returns:
        A DataFrame with one row per (variant, k): ``variant``, ``frozen_blocks``,
        ``accuracy``, ``trainable_params``.

    Raises:
        ValueError: for an unknown variant or a ``config.frozen_blocks`` entry out of
            range.
    """
    unknown = set(variants) - {"retrain", "fine-tune"}
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}: use 'retrain' and/or 'fine-tune'")
    n_blocks = len(conv_blocks(pretrained))
    depths = range(n_blocks + 1) if config.frozen_blocks is None else config.frozen_blocks
    if any(not 0 <= k <= n_blocks for k in depths):
        raise ValueError(f"config.frozen_blocks={config.frozen_blocks} is out of range: the "
                         f"model has {n_blocks} blocks, use values in 0..{n_blocks}")
    rows = []
    for variant in variants:
        for k in depths:
            model = transfer_model(pretrained, len(TARGET_CLASSES),
                                   k if variant == "retrain" else None,
                                   config.head_units, config.seed)
            freeze_up_to(model, k)
            res = fit_target(model, target, config, config.learning_rate)
            rows.append({"variant": variant, "frozen_blocks": k, "accuracy": res.test_accuracy,
                         "trainable_params": trainable_parameter_count(model)})
    return pd.DataFrame(rows)


def plot_transferability(results: pd.DataFrame, title: str = "") -> plt.Figure:
    """Target test accuracy against the number of frozen pretrained blocks, per variant.

    Args:
        results: the DataFrame of :func:`layer_transferability`.
        title: the axes' title.

    Returns:
        The matplotlib ``Figure``.
    """
    fig, ax = plt.subplots(figsize=(6, 3.8), dpi=90)
    for variant, part in results.groupby("variant", sort=False):
        ax.plot(part["frozen_blocks"], 100 * part["accuracy"], marker="o",
                label=f"{variant} the blocks above k")
    ax.set_xticks(sorted(results["frozen_blocks"].unique()))
    return _finish(fig, ax, "k = pretrained blocks copied and frozen",
                   title or "Layer transferability (Yosinski et al. 2014)")
