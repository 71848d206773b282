"""The small CNNs the lectures train on 28x28x1 FashionMNIST images.

* :func:`build_cnn1`, the seed's model (lecture 01), and :func:`build_cnn_deeper`, its deeper
  variant;
* :func:`build_transfer_cnn`, the three-block network lecture 09 pretrains and transfers;
* the families of lecture 07 at FashionMNIST scale (:func:`build_small_vgg`,
  :func:`build_small_googlenet`, :func:`build_small_resnet`, :func:`build_small_densenet`,
  :func:`build_small_mobilenet`), built from the blocks of :mod:`helpers.architectures`.

Inputs are channels-last float32 ``(N, 28, 28, 1)`` in ``[0, 1]``; outputs softmax ``(N, 10)``.
"""

from __future__ import annotations

import keras
from keras import KerasTensor as Tensor
from keras import layers

from helpers.architectures.densenet import dense_block, transition_block
from helpers.architectures.inception import GOOGLENET_MODULES, inception_module
from helpers.architectures.mobilenet import depthwise_separable_block
from helpers.architectures.resnet import basic_block


def build_cnn1(
    input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10, seed: int = 13
) -> keras.Model:
    """The lecture's ``cnn1``, a Sequential model with one convolution.

    Conv2D(32, 3x3) -> ReLU -> MaxPool(2x2) -> Dropout(0.2) -> Flatten -> Dense(128, relu) ->
    Dense(10, softmax).  Shapes for a 28x28x1 input: (26, 26, 32) -> (13, 13, 32) -> 5408 ->
    128 -> 10; 693,962 parameters.

    Args:
        input_shape: ``(H, W, C)`` of one image (pixels, channels).
        num_classes: units of the softmax output.
        seed: passed to ``keras.utils.set_random_seed`` before building (initial weights).

    Returns:
        A ``keras.Sequential`` named ``cnn1`` (uncompiled),
        ``(batch, H, W, C) -> (batch, num_classes)``.
    """
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3)),
        layers.Activation("relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(num_classes, activation="softmax"),
    ], name="cnn1")


def build_cnn_deeper(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    filters: tuple[int, ...] = (32, 64),
    padding: str = "same",
    dropout: float = 0.2,
    batch_norm: bool = False,
    seed: int = 13,
) -> keras.Model:
    """"Going deeper": one conv block per entry of ``filters``, then cnn1's head.

    A block is Conv2D(f, 3x3, padding) -> [BatchNormalization] -> ReLU -> MaxPool(2x2) ->
    Dropout (left out when ``dropout`` is 0).  Shapes with the defaults: (28, 28, 32) ->
    (14, 14, 32) -> (14, 14, 64) -> (7, 7, 64) -> Flatten 3136 -> Dense(128, relu) ->
    Dense(10, softmax); 421,642 parameters.

    Args:
        input_shape: ``(H, W, C)`` of one image (pixels, channels).
        num_classes: units of the softmax output.
        filters: output channels of each conv block.
        padding: the convolutions' padding, ``"same"`` or ``"valid"``.
        dropout: rate of the Dropout after each block (0: none).
        batch_norm: add a BatchNormalization after each convolution (whose bias is then
            dropped).
        seed: passed to ``keras.utils.set_random_seed`` before building.

    Returns:
        A ``keras.Sequential`` named ``cnn_deeper`` (uncompiled),
        ``(batch, H, W, C) -> (batch, num_classes)``.
    """
    keras.utils.set_random_seed(seed)
    stack: list = [keras.Input(shape=input_shape)]
    for f in filters:
        stack.append(layers.Conv2D(f, (3, 3), padding=padding, use_bias=not batch_norm))
        stack += [layers.BatchNormalization()] if batch_norm else []
        stack += [layers.Activation("relu"), layers.MaxPooling2D((2, 2))]
        stack += [layers.Dropout(dropout)] if dropout else []
    stack += [layers.Flatten(), layers.Dense(128, activation="relu"),
              layers.Dense(num_classes, activation="softmax")]
    return keras.Sequential(stack, name="cnn_deeper")


INPUT_SHAPE = (28, 28, 1)


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
    """VGG with BatchNormalization at FashionMNIST scale.

    Stem (widths[0]) -> max pool -> 2 x [3x3 conv-BN-ReLU] (widths[1], 14x14) -> max pool ->
    2 x [3x3 conv-BN-ReLU] (widths[2], 7x7) -> head (global average pooling, dropout,
    softmax).

    Args:
        widths: filters of the stem and of the two stages.
        num_classes: units of the softmax output.
        dropout: rate of the dropout before the output (0: none).
        augment: put :func:`augmentation_layers` after the input (active in training only).

    Returns:
        A functional ``keras.Model`` (uncompiled),
        ``(batch, 28, 28, 1) -> (batch, num_classes)`` softmax.
    """
    inputs, x = _stem(widths[0], augment)
    for stage, filters in enumerate(widths[1:], start=2):
        x = layers.MaxPooling2D(2, name=f"pool{stage - 1}")(x)
        for i in (1, 2):
            x = _conv_bn(x, filters, f"block{stage}_conv{i}")
    return _head(inputs, x, num_classes, dropout, "small_vgg")


def build_small_googlenet(width: float = 0.25, stem: int = 24, num_classes: int = 10,
                          dropout: float = 0.3, augment: bool = True) -> keras.Model:
    """GoogLeNet in miniature at FashionMNIST scale.

    Stem -> max pool -> Inception 3a, 3b (14x14) -> max pool -> 4a, 4b (7x7) -> head; every
    module is :func:`inception_module` (with BN) with the paper's filter numbers times
    ``width``, rounded to multiples of 8.

    Args:
        width: multiplier of the paper's filter numbers.
        stem: filters of the stem convolution.
        num_classes: units of the softmax output.
        dropout: rate of the dropout before the output (0: none).
        augment: put :func:`augmentation_layers` after the input (active in training only).

    Returns:
        A functional ``keras.Model`` (uncompiled),
        ``(batch, 28, 28, 1) -> (batch, num_classes)`` softmax.
    """
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
    """ResNet v1 at FashionMNIST scale.

    Stem (widths[0]) -> two stages of ``blocks`` :func:`basic_block` with widths[1] (14x14)
    and widths[2] (7x7) filters; the first block of a stage has stride 2 and a 1x1
    projection shortcut -> head.

    Args:
        widths: filters of the stem and of the two stages.
        blocks: basic blocks per stage.
        num_classes: units of the softmax output.
        dropout: rate of the dropout before the output (0: none).
        augment: put :func:`augmentation_layers` after the input (active in training only).

    Returns:
        A functional ``keras.Model`` (uncompiled),
        ``(batch, 28, 28, 1) -> (batch, num_classes)`` softmax.
    """
    inputs, x = _stem(widths[0], augment)
    for stage, filters in enumerate(widths[1:], start=2):
        for i in range(blocks):
            x = basic_block(x, filters, stride=2 if i == 0 else 1, name=f"conv{stage}_block{i + 1}")
    return _head(inputs, x, num_classes, dropout, "small_resnet")


def build_small_densenet(layers_per_block: int = 3, growth_rate: int = 32, stem: int = 32,
                         bottleneck: bool = False, num_classes: int = 10, dropout: float = 0.0,
                         augment: bool = True) -> keras.Model:
    """DenseNet-C at FashionMNIST scale.

    Stem -> max pool -> dense block (14x14) -> transition (compression 0.5, 2x2 average
    pool) -> dense block (7x7) -> BN-ReLU -> head; each dense layer is BN-ReLU-3x3 conv
    (k = ``growth_rate``), or with ``bottleneck=True`` (DenseNet-BC) BN-ReLU-1x1 conv
    (4k)-BN-ReLU-3x3 conv (k).  The default has no bottleneck because on a CPU every extra
    BatchNormalization of a small tensor costs a fixed few milliseconds per step: DenseNet's
    many thin layers make it the slowest family per multiply-add.

    Args:
        layers_per_block: dense layers in each of the two dense blocks.
        growth_rate: ``k``, the channels each dense layer adds.
        stem: filters of the stem convolution.
        bottleneck: use DenseNet-BC's 1x1 bottleneck in every dense layer.
        num_classes: units of the softmax output.
        dropout: rate of the dropout before the output (0: none).
        augment: put :func:`augmentation_layers` after the input (active in training only).

    Returns:
        A functional ``keras.Model`` (uncompiled),
        ``(batch, 28, 28, 1) -> (batch, num_classes)`` softmax.
    """
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
    """MobileNet-V1 in miniature at FashionMNIST scale.

    Stem (``stem * alpha``) -> :func:`depthwise_separable_block` per
    :data:`SMALL_MOBILENET_BLOCKS` (stride-2 depthwise convolutions instead of pools:
    28 -> 14 -> 7) -> head.

    Args:
        alpha: the width multiplier of every layer.
        stem: filters of the stem convolution (before ``alpha``).
        num_classes: units of the softmax output.
        dropout: rate of the dropout before the output (0: none).
        augment: put :func:`augmentation_layers` after the input (active in training only).

    Returns:
        A functional ``keras.Model`` (uncompiled),
        ``(batch, 28, 28, 1) -> (batch, num_classes)`` softmax.
    """
    inputs, x = _stem(int(stem * alpha), augment)
    for i, (filters, stride) in enumerate(SMALL_MOBILENET_BLOCKS, start=1):
        x = depthwise_separable_block(x, filters, alpha, stride, name=f"block{i}")
    return _head(inputs, x, num_classes, dropout, "small_mobilenet")


def build_transfer_cnn(num_classes: int = 5, filters: tuple[int, ...] = (16, 32, 64),
              head_units: int = 64, input_shape: tuple[int, ...] = (28, 28, 1),
              name: str = "cnn") -> keras.Model:
    """The three-block CNN that lecture 09 pretrains and transfers.

    Block ``i`` (1-based) is ``block{i}_conv`` (3x3, same, no bias) -> ``block{i}_bn`` ->
    ``block{i}_relu`` -> ``block{i}_pool`` (2x2); then ``features`` (global average pooling,
    ``(N, filters[-1])``), ``head_dense`` (ReLU) and ``head_out`` (softmax).  BN momentum
    0.9 so short runs still give usable moving statistics.

    Args:
        num_classes: units of the softmax output.
        filters: output channels of each block.
        head_units: units of ``head_dense``.
        input_shape: ``(H, W, C)`` of one image, default ``(28, 28, 1)``; the input layer is
            named ``image``.
        name: the model's name.

    Returns:
        A functional ``keras.Model`` (uncompiled), ``(N, 28, 28, 1) -> (N, num_classes)``
        softmax.
    """
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for i, f in enumerate(filters, 1):
        x = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"block{i}_conv")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn")(x)
        x = layers.ReLU(name=f"block{i}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="features")(x)
    x = layers.Dense(head_units, activation="relu", name="head_dense")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="head_out")(x)
    return keras.Model(inputs, outputs, name=name)
