"""The small CNNs the lectures train on 28x28x1 FashionMNIST images.

* :func:`build_cnn1`, the seed's model (lecture 01), and :func:`build_cnn_deeper`, its deeper
  variant;
* :func:`build_transfer_cnn`, the three-block network lecture 09 pretrains and transfers.

Lecture 07's five families live in :mod:`helpers.architectures.fashion_zoo`.

Inputs are channels-last float32 ``(N, 28, 28, 1)`` in ``[0, 1]``; outputs softmax ``(N, 10)``.
"""

from __future__ import annotations

import keras
from keras import layers


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
