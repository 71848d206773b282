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
:func:`helpers.training.fit_and_evaluate` (same epochs, batch, learning rate and cosine
schedule), then :func:`plot_comparison` draws the learning curves and accuracy against time.
"""

from __future__ import annotations

from collections.abc import Callable

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import matplotlib.pyplot as plt
import pandas as pd
from keras import layers

from helpers.architectures.densenet import dense_block, transition_block
from helpers.architectures.inception import GOOGLENET_MODULES, inception_module
from helpers.architectures.mobilenet import depthwise_separable_block
from helpers.architectures.resnet import basic_block
from helpers.layer_table import layer_table, layer_table_totals
from helpers.mode import RunMode
from helpers.training import FitResult, Splits, fashion_mnist_splits, fit_and_evaluate

INPUT_SHAPE = (28, 28, 1)
Tensor = keras.KerasTensor


def augmentation_layers() -> list[keras.layers.Layer]:
    """The light augmentation every model gets (active in training only): a random
    horizontal flip (a mirrored shirt is still a shirt) and a shift of up to 2 pixels."""
    return [layers.RandomFlip("horizontal", name="aug_flip"),
            layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", name="aug_shift")]


def _stem(filters: int, augment: bool) -> tuple[Tensor, Tensor]:
    """Input (28x28x1) -> [augmentation] -> 3x3 conv (no bias)-BN-ReLU: (28, 28, filters)."""
    inputs = keras.Input(INPUT_SHAPE)
    x = inputs
    for layer in augmentation_layers() if augment else []:
        x = layer(x)
    return inputs, _conv_bn(x, filters, "stem")


def _conv_bn(x: Tensor, filters: int, name: str, kernel: int = 3) -> Tensor:
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _multiple_of_8(filters: float) -> int:
    """Round a scaled filter count to the nearest multiple of 8 (at least 8): on CPUs
    (oneDNN) a layer of 19 or 29 channels runs several times slower per multiply-add than one
    of 16 or 32."""
    return max(8, 8 * round(filters / 8))


def _head(inputs: Tensor, x: Tensor, num_classes: int, dropout: float, name: str) -> keras.Model:
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def build_small_vgg(widths: tuple[int, int, int] = (24, 48, 96), num_classes: int = 10,
                    dropout: float = 0.3, augment: bool = True) -> keras.Model:
    """VGG with BatchNormalization: stem (widths[0]) -> max pool -> 2 x [3x3 conv-BN-ReLU]
    (widths[1], 14x14) -> max pool -> 2 x [3x3 conv-BN-ReLU] (widths[2], 7x7) -> head.
    ``(batch, 28, 28, 1) -> (batch, num_classes)``."""
    inputs, x = _stem(widths[0], augment)
    for stage, filters in enumerate(widths[1:], start=2):
        x = layers.MaxPooling2D(2, name=f"pool{stage - 1}")(x)
        for i in (1, 2):
            x = _conv_bn(x, filters, f"block{stage}_conv{i}")
    return _head(inputs, x, num_classes, dropout, "small_vgg")


def build_small_googlenet(width: float = 0.25, stem: int = 24, num_classes: int = 10,
                          dropout: float = 0.3, augment: bool = True) -> keras.Model:
    """GoogLeNet in miniature: stem -> max pool -> Inception 3a, 3b (14x14) -> max pool ->
    4a, 4b (7x7) -> head; every module is :func:`inception_module` (with BN) with the
    paper's filter numbers times ``width``, rounded to multiples of 8.
    ``(batch, 28, 28, 1) -> (batch, num_classes)``."""
    inputs, x = _stem(stem, augment)
    for stage in ("3a", "3b", "4a", "4b"):
        if stage in ("3a", "4a"):
            x = layers.MaxPooling2D(2, name=f"pool_{stage}")(x)
        filters = [_multiple_of_8(f * width) for f in GOOGLENET_MODULES[stage]]
        x = inception_module(x, *filters, name=f"inception_{stage}", batch_norm=True)
    return _head(inputs, x, num_classes, dropout, "small_googlenet")


def build_small_resnet(widths: tuple[int, int, int] = (24, 48, 96), blocks: int = 1,
                       num_classes: int = 10, dropout: float = 0.0,
                       augment: bool = True) -> keras.Model:
    """ResNet v1: stem (widths[0]) -> two stages of ``blocks`` :func:`basic_block` with
    widths[1] (14x14) and widths[2] (7x7) filters; the first block of a stage has stride 2
    and a 1x1 projection shortcut -> head.  ``(batch, 28, 28, 1) -> (batch, num_classes)``."""
    inputs, x = _stem(widths[0], augment)
    for stage, filters in enumerate(widths[1:], start=2):
        for i in range(blocks):
            x = basic_block(x, filters, stride=2 if i == 0 else 1, name=f"conv{stage}_block{i + 1}")
    return _head(inputs, x, num_classes, dropout, "small_resnet")


def build_small_densenet(layers_per_block: int = 3, growth_rate: int = 32, stem: int = 32,
                         bottleneck: bool = False, num_classes: int = 10, dropout: float = 0.0,
                         augment: bool = True) -> keras.Model:
    """DenseNet-C: stem -> max pool -> dense block (14x14) -> transition (compression 0.5,
    2x2 average pool) -> dense block (7x7) -> BN-ReLU -> head; each dense layer is
    BN-ReLU-3x3 conv (k = ``growth_rate``), or with ``bottleneck=True`` (DenseNet-BC)
    BN-ReLU-1x1 conv (4k)-BN-ReLU-3x3 conv (k).  The default has no bottleneck because on a
    CPU every extra BatchNormalization of a small tensor costs a fixed few milliseconds per
    step: DenseNet's many thin layers make it the slowest family per multiply-add.
    ``(batch, 28, 28, 1) -> (batch, num_classes)``."""
    inputs, x = _stem(stem, augment)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = dense_block(x, layers_per_block, growth_rate, bottleneck, name="conv2")
    x = transition_block(x, 0.5, name="pool2")
    x = dense_block(x, layers_per_block, growth_rate, bottleneck, name="conv3")
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(name="relu")(x)
    return _head(inputs, x, num_classes, dropout, "small_densenet")


#: (pointwise filters, depthwise stride) of the small MobileNet's separable blocks.
SMALL_MOBILENET_BLOCKS = ((64, 2), (128, 1), (128, 2), (256, 1), (256, 1))


def build_small_mobilenet(alpha: float = 1.0, stem: int = 32, num_classes: int = 10,
                          dropout: float = 0.0, augment: bool = True) -> keras.Model:
    """MobileNet-V1 in miniature: stem (``stem * alpha``) -> :func:`depthwise_separable_block`
    per :data:`SMALL_MOBILENET_BLOCKS` (stride-2 depthwise convolutions instead of pools:
    28 -> 14 -> 7) -> head.  ``(batch, 28, 28, 1) -> (batch, num_classes)``."""
    inputs, x = _stem(int(stem * alpha), augment)
    for i, (filters, stride) in enumerate(SMALL_MOBILENET_BLOCKS, start=1):
        x = depthwise_separable_block(x, filters, alpha, stride, name=f"block{i}")
    return _head(inputs, x, num_classes, dropout, "small_mobilenet")


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
    """All of FashionMNIST in full mode (55,000 / 5,000 / 10,000); in fast mode a much
    smaller subset than the course default (256 training, validation and test images: two
    batches of 128), so that five models fit in the fast run's time (there, building each
    model's training graph takes longer than training it: the lecture also passes
    ``run_eagerly=mode.fast`` to :func:`run_comparison`)."""
    if mode.fast:
        mode = RunMode(fast=True, max_epochs=mode.max_epochs, max_train=256, max_eval=256)
    return fashion_mnist_splits(mode=mode)


def build_zoo(zoo: dict[str, Callable[[], keras.Model]] | None = None,
              seed: int = 13) -> dict[str, keras.Model]:
    """Build every model of ``zoo`` (default :data:`ZOO`) after seeding Keras."""
    models = {}
    for name, build in (zoo or ZOO).items():
        keras.utils.set_random_seed(seed)
        models[name] = build()
    return models


def zoo_table(models: dict[str, keras.Model]) -> pd.DataFrame:
    """``model``, ``params``, ``macs`` (multiply-adds per 28x28 image, via
    :func:`layer_table`) and ``layers`` of each built model."""
    rows = []
    for name, model in models.items():
        totals = layer_table_totals(layer_table(model))
        rows.append({"model": name, "params": totals["params"], "macs": totals["macs"],
                     "layers": totals["layers"]})
    return pd.DataFrame(rows)


def run_comparison(models: dict[str, keras.Model], splits: Splits, epochs: int,
                   **fit_kwargs) -> tuple[pd.DataFrame, dict[str, FitResult]]:
    """Train each model with :func:`fit_and_evaluate` (``fit_kwargs`` passed on, the same for
    all) and return a table and the raw results.

    Table columns: ``model``, ``params``, ``macs``, ``test_accuracy``, ``best_val_accuracy``,
    ``s_per_epoch`` (median wall-clock seconds of the epochs) and ``total_s``.
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
    """Left: validation accuracy per epoch of each model.  Right: test accuracy against
    seconds per epoch, marker area ~ parameters, labelled with the multiply-adds."""
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
