"""Lecture 07's five families at FashionMNIST scale, on the fast recipe's skeleton.

Every model shares one skeleton so that only the family's block differs::

    input 28x28x1 -> [flip, shift <= 2 px; training only]
    -> stem: 3x3 conv (32) -> max pool -> BN -> ReLU                     (14, 14, 32)
    -> the family's block at 14x14                                         (14, 14, C)
    -> max pool -> BN -> ReLU                                              (7, 7, C)
    -> head: flatten -> dropout 0.1 -> dense 256 -> BN -> ReLU -> softmax  (10,)

The stem and the pooling follow the course's fast recipe (:mod:`helpers.training.fast`):
pooling straight after a convolution so that BatchNormalization and ReLU work on a quarter
of the values, BN momentum 0.9.  The blocks come from the course's builders: VGG's plain
3x3 convolution, GoogLeNet's :func:`inception_module`, ResNet's :func:`basic_block`,
DenseNet's :func:`dense_block` and MobileNet's :func:`depthwise_separable_block`.  The VGG
member is the fast recipe's CNN itself (two 3x3 convolutions, 32 and 64 filters).

Inputs are channels-last float32 ``(N, 28, 28, 1)`` in ``[0, 1]``; outputs softmax ``(N, 10)``.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import KerasTensor as Tensor
from keras import layers

from helpers.architectures.densenet import dense_block
from helpers.architectures.inception import inception_module
from helpers.architectures.mobilenet import depthwise_separable_block
from helpers.architectures.resnet import basic_block

INPUT_SHAPE = (28, 28, 1)
STEM_FILTERS = 32
HEAD_UNITS = 256
BN_MOMENTUM = 0.9


def augmentation_layers() -> list[keras.layers.Layer]:
    """The light augmentation every model gets, active in training only.

    Returns:
        ``[RandomFlip("horizontal"), RandomTranslation(2/28, 2/28)]``, named ``aug_flip`` and
        ``aug_shift``: a mirrored shirt is still a shirt, and a shift of up to 2 pixels keeps
        the item inside the 28x28 frame.
    """
    return [layers.RandomFlip("horizontal", name="aug_flip"),
            layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", name="aug_shift")]


def _pool_bn_relu(x: Tensor, name: str) -> Tensor:
    """2x2 max pool -> BN -> ReLU, the fast recipe's order: ``(H, W, C) -> (H/2, W/2, C)``."""
    x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _stem(augment: bool) -> tuple[Tensor, Tensor]:
    """Input -> [augmentation] -> 3x3 conv (32, no bias) -> pool-BN-ReLU: ``(14, 14, 32)``."""
    inputs = keras.Input(INPUT_SHAPE)
    x = inputs
    for layer in augmentation_layers() if augment else []:
        x = layer(x)
    x = layers.Conv2D(STEM_FILTERS, 3, padding="same", use_bias=False, name="stem_conv")(x)
    return inputs, _pool_bn_relu(x, "stem")


def _head(inputs: Tensor, x: Tensor, num_classes: int, name: str) -> keras.Model:
    """pool-BN-ReLU to 7x7 -> flatten -> dropout -> dense 256-BN-ReLU -> softmax."""
    x = _pool_bn_relu(x, "block")
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.1, name="dropout")(x)
    x = layers.Dense(HEAD_UNITS, use_bias=False, name="fc")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="fc_bn")(x)
    x = layers.ReLU(name="fc_relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def build_fashion_vgg(filters: int = 64, num_classes: int = 10,
                      augment: bool = True) -> keras.Model:
    """VGG's idea, plain 3x3 convolutions only: the block is one 3x3 conv (no bias).

    With the stem this is the fast recipe's CNN: ``(14, 14, 32) -> (14, 14, 64)``.

    Args:
        filters: output channels of the block's convolution.
        num_classes: units of the softmax output.
        augment: put :func:`augmentation_layers` after the input.

    Returns:
        A functional ``keras.Model`` named ``fashion_vgg`` (uncompiled),
        ``(batch, 28, 28, 1) -> (batch, num_classes)`` softmax.
    """
    inputs, x = _stem(augment)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name="block_conv")(x)
    return _head(inputs, x, num_classes, "fashion_vgg")


def build_fashion_googlenet(filters: tuple[int, int, int, int, int, int] = (16, 24, 32, 8, 8, 8),
                            num_classes: int = 10, augment: bool = True) -> keras.Model:
    """GoogLeNet's idea: one :func:`inception_module` (with BN), four parallel branches.

    ``(14, 14, 32) -> (14, 14, f1 + f3 + f5 + pool_proj)`` (64 with the defaults).

    Args:
        filters: ``(f1, f3_reduce, f3, f5_reduce, f5, pool_proj)`` of the module.
        num_classes: units of the softmax output.
        augment: put :func:`augmentation_layers` after the input.

    Returns:
        A functional ``keras.Model`` named ``fashion_googlenet`` (uncompiled),
        ``(batch, 28, 28, 1) -> (batch, num_classes)`` softmax.
    """
    inputs, x = _stem(augment)
    x = inception_module(x, *filters, name="inception", batch_norm=True)
    return _head(inputs, x, num_classes, "fashion_googlenet")


def build_fashion_resnet(filters: int = 32, num_classes: int = 10,
                         augment: bool = True) -> keras.Model:
    """ResNet's idea: one :func:`basic_block` (two 3x3 conv-BN, identity shortcut, ReLU).

    ``(14, 14, 32) -> (14, 14, filters)``; with ``filters != 32`` the shortcut is a 1x1
    projection.

    Args:
        filters: output channels of the block.
        num_classes: units of the softmax output.
        augment: put :func:`augmentation_layers` after the input.

    Returns:
        A functional ``keras.Model`` named ``fashion_resnet`` (uncompiled),
        ``(batch, 28, 28, 1) -> (batch, num_classes)`` softmax.
    """
    inputs, x = _stem(augment)
    x = basic_block(x, filters, stride=1, name="residual")
    return _head(inputs, x, num_classes, "fashion_resnet")


def build_fashion_densenet(n_layers: int = 3, growth_rate: int = 16, num_classes: int = 10,
                           augment: bool = True) -> keras.Model:
    """DenseNet's idea: one :func:`dense_block`, each layer BN-ReLU-3x3 conv adding k maps.

    ``(14, 14, 32) -> (14, 14, 32 + n_layers * growth_rate)`` (80 with the defaults).

    Args:
        n_layers: dense layers in the block.
        growth_rate: ``k``, the channels each layer adds.
        num_classes: units of the softmax output.
        augment: put :func:`augmentation_layers` after the input.

    Returns:
        A functional ``keras.Model`` named ``fashion_densenet`` (uncompiled),
        ``(batch, 28, 28, 1) -> (batch, num_classes)`` softmax.
    """
    inputs, x = _stem(augment)
    x = dense_block(x, n_layers, growth_rate, bottleneck=False, name="dense")
    return _head(inputs, x, num_classes, "fashion_densenet")


def build_fashion_mobilenet(filters: tuple[int, ...] = (64, 64), num_classes: int = 10,
                            augment: bool = True) -> keras.Model:
    """MobileNet's idea: :func:`depthwise_separable_block` s (3x3 depthwise, 1x1 pointwise).

    ``(14, 14, 32) -> (14, 14, filters[-1])``, one block per entry of ``filters``.

    Args:
        filters: pointwise filters of each block.
        num_classes: units of the softmax output.
        augment: put :func:`augmentation_layers` after the input.

    Returns:
        A functional ``keras.Model`` named ``fashion_mobilenet`` (uncompiled),
        ``(batch, 28, 28, 1) -> (batch, num_classes)`` softmax.
    """
    inputs, x = _stem(augment)
    for i, f in enumerate(filters, start=1):
        x = depthwise_separable_block(x, f, name=f"separable{i}")
    return _head(inputs, x, num_classes, "fashion_mobilenet")


#: The five contenders of lecture 07, one per family, in the order the lecture introduces them.
ZOO: dict[str, Callable[[], keras.Model]] = {
    "VGG": build_fashion_vgg,
    "GoogLeNet": build_fashion_googlenet,
    "ResNet": build_fashion_resnet,
    "DenseNet": build_fashion_densenet,
    "MobileNet": build_fashion_mobilenet,
}
