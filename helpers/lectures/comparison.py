"""A measured comparison on FashionMNIST: five small networks, one per family, trained the
same way.

Every model of :data:`ZOO` shares one skeleton so that only the building block differs::

    input 28x28x1 -> [light augmentation, training only] -> 3x3 conv-BN-ReLU stem (28x28)
    -> stage at 14x14 -> stage at 7x7 -> global average pool -> [dropout] -> softmax Dense

and the blocks come from the course's builders: :func:`helpers.architectures.classic`-style
VGG stacks (with BatchNormalization), GoogLeNet's :func:`inception_module`, ResNet's
:func:`basic_block`, DenseNet's :func:`dense_block`/:func:`transition_block` and MobileNet's
:func:`depthwise_separable_block`.  :func:`run_comparison` builds, counts (parameters and
multiply-adds per image with :func:`layer_table`) and trains each with
:func:`helpers.training.recipe.fit_and_evaluate` (same epochs, batch, learning rate and cosine
schedule), then :func:`plot_comparison` draws the learning curves and accuracy against time.
"""

from __future__ import annotations

from collections.abc import Callable

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import matplotlib.pyplot as plt
import pandas as pd

from helpers.architectures.small import (
    build_small_densenet,
    build_small_googlenet,
    build_small_mobilenet,
    build_small_resnet,
    build_small_vgg,
)
from helpers.arithmetic.layer_table import layer_table, layer_table_totals
from helpers.data import Splits, fashion_mnist_splits
from helpers.mode import FAST_SIZES, RunMode
from helpers.training.recipe import FitResult, fit_and_evaluate

#: The five contenders, one per family, with a comparable budget: 8-17 M multiply-adds per
#: image and 0.09-0.17 M parameters (widths are multiples of 8; see :func:`_multiple_of_8`).
ZOO: dict[str, Callable[[], keras.Model]] = {
    "VGG": build_small_vgg,
    "GoogLeNet": build_small_googlenet,
    "ResNet": build_small_resnet,
    "DenseNet": build_small_densenet,
    "MobileNet": build_small_mobilenet,
}


def comparison_splits(mode: RunMode) -> Splits:
    """The data of the architecture comparison for ``mode``.

    All of FashionMNIST in full mode (55,000 / 5,000 / 10,000); in fast mode a much smaller
    subset than the course default (256 training, validation and test images: two batches
    of 128), so that five models fit in the fast run's time (there, building each model's
    training graph takes longer than training it: the lecture also passes
    ``run_eagerly=mode.fast`` to :func:`run_comparison`).

    Args:
        mode: the :class:`~helpers.mode.RunMode`.

    Returns:
        :class:`~helpers.data.Splits` with float32 images ``(N, 28, 28, 1)`` and integer
        labels ``(N,)``.
    """
    if mode.fast:
        sizes = FAST_SIZES["comparison"]
        mode = RunMode(fast=True, max_epochs=mode.max_epochs, max_train=sizes["train"],
                       max_eval=sizes["eval"])
    return fashion_mnist_splits(mode=mode)


def build_zoo(zoo: dict[str, Callable[[], keras.Model]] | None = None,
              seed: int = 13) -> dict[str, keras.Model]:
    """Build every model of ``zoo`` (default :data:`ZOO`) after seeding Keras.

    Args:
        zoo: name -> a function of no arguments that builds a Keras model.
        seed: passed to ``keras.utils.set_random_seed`` before each build.

    Returns:
        A dict name -> built ``keras.Model``.
    """
    models = {}
    for name, build in (zoo or ZOO).items():
        keras.utils.set_random_seed(seed)
        models[name] = build()
    return models


def zoo_table(models: dict[str, keras.Model]) -> pd.DataFrame:
    """Size of each built model.

    Args:
        models: name -> built Keras model.

    Returns:
        A DataFrame with ``model``, ``params``, ``macs`` (multiply-adds per 28x28 image, via
        :func:`layer_table`) and ``layers``, one row per model.
    """
    rows = []
    for name, model in models.items():
        totals = layer_table_totals(layer_table(model))
        rows.append({"model": name, "params": totals["params"], "macs": totals["macs"],
                     "layers": totals["layers"]})
    return pd.DataFrame(rows)


def run_comparison(models: dict[str, keras.Model], splits: Splits, epochs: int,
                   **fit_kwargs) -> tuple[pd.DataFrame, dict[str, FitResult]]:
    """Train each model with :func:`fit_and_evaluate` and tabulate the results.

    Args:
        models: name -> built Keras model (softmax outputs).
        splits: :class:`~helpers.data.Splits` with integer labels.
        epochs: epochs for every model.
        **fit_kwargs: passed on to :func:`fit_and_evaluate`, the same for all models.

    Returns:
        A tuple ``(table, results)``: a DataFrame with columns ``model``, ``params``,
        ``macs``, ``test_accuracy``, ``best_val_accuracy``, ``s_per_epoch`` (median
        wall-clock seconds of the epochs) and ``total_s``; and a dict name ->
        :class:`FitResult`.
    """
    sizes = zoo_table(models).set_index("model")
    rows, results = [], {}
    for name, model in models.items():
        result = fit_and_evaluate(model, splits, epochs, **fit_kwargs)
        results[name] = result
        seconds = pd.Series(result.epoch_seconds)
        rows.append({
            "model": name, "params": int(sizes.loc[name, "params"]),
            "macs": int(sizes.loc[name, "macs"]), "test_accuracy": result.test_accuracy,
            "best_val_accuracy": max(result.history["val_accuracy"]),
            "s_per_epoch": float(seconds.median()), "total_s": result.seconds,
        })
    return pd.DataFrame(rows), results


def plot_comparison(table: pd.DataFrame, results: dict[str, FitResult]) -> plt.Figure:
    """Learning curves (left) and test accuracy against seconds per epoch (right).

    On the right, marker area is proportional to the parameters and each point is labelled
    with its multiply-adds.

    Args:
        table: the table of :func:`run_comparison`.
        results: the results of :func:`run_comparison`.

    Returns:
        The matplotlib ``Figure``.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=90)
    for name, result in results.items():
        val = result.history["val_accuracy"]
        left.plot(range(1, len(val) + 1), val, marker="o", markersize=3, label=name)
    left.set_xlabel("epoch")
    left.set_ylabel("validation accuracy")
    left.set_title("Learning curves (FashionMNIST validation split)")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    for i, row in enumerate(table.itertuples()):
        right.scatter(row.s_per_epoch, row.test_accuracy, s=row.params / 1e3, color=f"C{i}",
                      alpha=0.6, edgecolor="black")
        right.annotate(f"{row.model}\n{row.macs / 1e6:.1f} M MACs", (row.s_per_epoch,
                       row.test_accuracy), textcoords="offset points", xytext=(7, -4),
                       fontsize=8)
    right.set_xlabel("training time per epoch (s, wall clock, 2-core CPU)")
    right.set_ylabel("test accuracy")
    right.set_title("Accuracy against time (marker area ~ parameters)")
    right.grid(alpha=0.3)
    fig.tight_layout()
    return fig
