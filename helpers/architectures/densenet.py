"""DenseNet (Huang et al., CVPR 2017, "Densely Connected Convolutional Networks").

Inside a dense block every layer receives the concatenation of all earlier feature maps of
the block and adds ``growth_rate`` (k) new channels: a block entered with c0 channels has
``c0 + i * k`` channels after its i-th layer.  Transition blocks between dense blocks
compress the channels (factor ``compression``, theta = 0.5 in DenseNet-BC) and halve the grid.

With the defaults, :func:`build_densenet` builds DenseNet-121 layer for layer as
``keras.applications.DenseNet121(weights=None)`` (same layer names, 8,062,504 parameters)::

    input 224x224x3 -> 7x7/2 conv, 64 -> 3x3/2 max pool          56x56x64
    dense block 1 (6 layers)   -> 64 + 6*32 = 256 -> transition    28x28x128
    dense block 2 (12 layers)  -> 128 + 12*32 = 512 -> transition  14x14x256
    dense block 3 (24 layers)  -> 256 + 24*32 = 1024 -> transition 7x7x512
    dense block 4 (16 layers)  -> 512 + 16*32 = 1024 -> BN-ReLU -> global avg pool -> softmax

``small_input=True`` replaces the ImageNet stem by one 3x3 stride-1 convolution (no max pool),
as for CIFAR in the paper, so that a 28x28x1 FashionMNIST image keeps its resolution into the
first block, e.g. ``build_densenet((2, 2, 2), 12, (28, 28, 1), 10, small_input=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
from keras import layers

BN_EPSILON = 1.001e-5  # as in keras.applications.densenet


def _name(name: str | None, suffix: str) -> str | None:
    """Layer name ``{name}_{suffix}``, or None (Keras picks a unique name) when name is None."""
    return None if name is None else f"{name}_{suffix}"


def dense_layer(
    x: keras.KerasTensor, growth_rate: int, bottleneck: bool = True, name: str | None = None
) -> keras.KerasTensor:
    """One composite layer of a dense block, concatenated to its input.

    ``bottleneck=True`` (DenseNet-B): BN-ReLU-1x1 conv (4k filters)-BN-ReLU-3x3 conv (k);
    ``bottleneck=False``: BN-ReLU-3x3 conv (k).  Convolutions have no bias (BN follows).

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        growth_rate: ``k``, the channels the layer adds.
        bottleneck: use the 1x1 (4k) bottleneck.
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor, ``(batch, H, W, C + growth_rate)``.
    """
    y = layers.BatchNormalization(epsilon=BN_EPSILON, name=_name(name, "0_bn"))(x)
    y = layers.Activation("relu", name=_name(name, "0_relu"))(y)
    if bottleneck:
        y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=_name(name, "1_conv"))(y)
        y = layers.BatchNormalization(epsilon=BN_EPSILON, name=_name(name, "1_bn"))(y)
        y = layers.Activation("relu", name=_name(name, "1_relu"))(y)
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=_name(name, "2_conv"))(y)
    return layers.Concatenate(axis=-1, name=_name(name, "concat"))([x, y])


def dense_block(
    x: keras.KerasTensor,
    n_layers: int,
    growth_rate: int,
    bottleneck: bool = True,
    name: str | None = None,
) -> keras.KerasTensor:
    """``n_layers`` dense layers in a row; layer i is named ``{name}_block{i}`` (from 1).

    Args:
        x: the input tensor, ``(batch, H, W, c0)``.
        n_layers: the number of :func:`dense_layer` calls.
        growth_rate: ``k``, the channels each layer adds.
        bottleneck: use the 1x1 (4k) bottleneck in every layer.
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor, ``(batch, H, W, c0 + n_layers * growth_rate)``.
    """
    for i in range(1, n_layers + 1):
        x = dense_layer(x, growth_rate, bottleneck, name=_name(name, f"block{i}"))
    return x


def transition_block(
    x: keras.KerasTensor, compression: float = 0.5, name: str | None = None
) -> keras.KerasTensor:
    """BN-ReLU-1x1 conv to ``int(C * compression)`` channels, then 2x2 average pool, stride 2.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        compression: theta in ``(0, 1]`` (1.0: no compression).
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor, ``(batch, H // 2, W // 2, int(C * compression))``.

    Raises:
        ValueError: if ``compression`` is not in ``(0, 1]``.
    """
    if not 0 < compression <= 1:
        raise ValueError(f"compression must be in (0, 1], got {compression}")
    channels = int(x.shape[-1] * compression)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=_name(name, "bn"))(x)
    x = layers.Activation("relu", name=_name(name, "relu"))(x)
    x = layers.Conv2D(channels, 1, use_bias=False, name=_name(name, "conv"))(x)
    return layers.AveragePooling2D(2, strides=2, name=_name(name, "pool"))(x)


def build_densenet(
    blocks: Sequence[int] = (6, 12, 24, 16),
    growth_rate: int = 32,
    input_shape: tuple[int, int, int] = (224, 224, 3),
    num_classes: int = 1000,
    compression: float = 0.5,
    bottleneck: bool = True,
    stem_filters: int | None = None,
    small_input: bool = False,
    name: str = "densenet",
) -> keras.Model:
    """A DenseNet(-BC) classifier.

    Stem, dense blocks with transitions in between, BN-ReLU, global average pooling and a
    softmax Dense layer.

    Args:
        blocks: layers per dense block; (6, 12, 24, 16) is DenseNet-121, (6, 12, 32, 32)
            DenseNet-169, (6, 12, 48, 32) DenseNet-201.
        growth_rate: k, the channels each dense layer adds.
        input_shape: ``(H, W, C)``, channels last.
        num_classes: units of the softmax layer.
        compression: theta of the transition blocks (1.0: no compression).
        bottleneck: use the 1x1 (4k) bottleneck in every dense layer (DenseNet-B).
        stem_filters: filters of the stem convolution; default 2k (64 for k = 32).
        small_input: 3x3 stride-1 stem convolution and no max pool (for 28x28 or 32x32
            images) instead of the ImageNet stem (7x7 stride-2 convolution, 3x3/2 max pool).
        name: the model's name.

    Returns:
        A functional ``keras.Model``, ``(batch, H, W, C) -> (batch, num_classes)``
        probabilities.

    Raises:
        ValueError: if ``blocks`` is empty or has a non-positive entry, or ``compression``
            is not in ``(0, 1]``.
    """
    if not blocks or any(n < 1 for n in blocks):
        raise ValueError(f"blocks must be a non-empty sequence of positive ints, got {blocks!r}")
    stem_filters = 2 * growth_rate if stem_filters is None else stem_filters
    inputs = keras.Input(shape=input_shape)
    if small_input:
        x = layers.Conv2D(stem_filters, 3, padding="same", use_bias=False, name="conv1_conv")(
            inputs
        )
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    else:
        x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(inputs)
        x = layers.Conv2D(stem_filters, 7, strides=2, use_bias=False, name="conv1_conv")(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
        x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)

    # Keras' names: dense blocks conv2..conv5, transitions pool2..pool4.
    for i, n_layers in enumerate(blocks):
        x = dense_block(x, n_layers, growth_rate, bottleneck, name=f"conv{i + 2}")
        if i < len(blocks) - 1:
            x = transition_block(x, compression, name=f"pool{i + 2}")

    x = layers.BatchNormalization(epsilon=BN_EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)
