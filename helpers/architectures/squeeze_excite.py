"""Squeeze-and-Excitation (Hu et al., CVPR 2018, "Squeeze-and-Excitation Networks").

An SE block recalibrates the C channels of a feature map ``u`` of shape ``(H, W, C)``:

* squeeze: ``z_c = 1 / (H W) * sum_ij u_c(i, j)``, global average pooling -> ``(C,)``;
* excitation: ``s = sigmoid(W2 relu(W1 z))`` with ``W1``: C -> C/r and ``W2``: C/r -> C,
  r the reduction ratio (4, 8, 16 or 32; 16 in the paper), so ``s`` in (0, 1) per channel;
* scale: ``out_c = s_c * u_c``, shape ``(H, W, C)`` unchanged.

It costs ``2 C^2 / r + C / r + C`` parameters (two Dense layers with biases,
:func:`se_params`) and almost no multiply-adds; it can be added to any block, e.g. to the
residual branch of a ResNet block before the addition (:func:`se_basic_residual_block`).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
from keras import layers


def _name(name: str | None, suffix: str) -> str | None:
    """Layer name ``{name}_{suffix}``, or None (Keras picks a unique name) when name is None."""
    return None if name is None else f"{name}_{suffix}"


def _hidden_units(channels: int, ratio: int) -> int:
    if channels < 1 or ratio < 1:
        raise ValueError(f"channels and ratio must be positive, got {channels} and {ratio}")
    return max(1, channels // ratio)


def se_params(channels: int, ratio: int = 16) -> int:
    """Parameters of :func:`se_block` on C channels.

    ``C * C/r + C/r`` (first Dense) plus ``C/r * C + C`` (second Dense), with
    ``C/r = max(1, C // r)``.

    Args:
        channels: ``C``, a positive int.
        ratio: ``r``, the reduction ratio, a positive int.

    Returns:
        The number of parameters, an ``int``.

    Raises:
        ValueError: if ``channels`` or ``ratio`` is not positive.

    Example:
        >>> se_params(256, 16)  # 2 * 256 * 256 / 16 + 256 / 16 + 256
        8464
    """
    hidden = _hidden_units(channels, ratio)
    return channels * hidden + hidden + hidden * channels + channels


def se_block(x: keras.KerasTensor, ratio: int = 16, name: str | None = None) -> keras.KerasTensor:
    """Squeeze (global average pool) - excite (Dense C/r ReLU, Dense C sigmoid) - scale.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        ratio: ``r``, the reduction ratio.
        name: the prefix of the layer names (None: Keras picks them); the per-channel
            scales ``s`` of shape ``(C,)`` are the output of the layer named
            ``{name}_excite``.

    Returns:
        The rescaled tensor, ``(batch, H, W, C)``.

    Raises:
        ValueError: if ``ratio`` is not positive.
    """
    channels = int(x.shape[-1])
    hidden = _hidden_units(channels, ratio)
    s = layers.GlobalAveragePooling2D(name=_name(name, "squeeze"))(x)  # (C,)
    s = layers.Dense(hidden, activation="relu", name=_name(name, "reduce"))(s)  # (C/r,)
    s = layers.Dense(channels, activation="sigmoid", name=_name(name, "excite"))(s)  # (C,)
    s = layers.Reshape((1, 1, channels), name=_name(name, "reshape"))(s)  # (1, 1, C)
    return layers.Multiply(name=_name(name, "scale"))([x, s])  # broadcast over H, W


def se_basic_residual_block(
    x: keras.KerasTensor,
    filters: int,
    stride: int = 1,
    ratio: int = 16,
    name: str | None = None,
) -> keras.KerasTensor:
    """SE-ResNet basic block (SE-ResNet module, Hu et al. figure 3).

    3x3 conv-BN-ReLU-3x3 conv-BN, SE on this residual branch, then the addition with the
    shortcut and a ReLU.  The shortcut is the identity, or a 1x1 convolution with ``stride``
    and BN when the stride or the number of channels changes.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        filters: filters of both convolutions.
        stride: stride of the first convolution and the shortcut.
        ratio: ``r`` of the SE block.
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor, ``(batch, ceil(H / stride), ceil(W / stride), filters)``.
    """
    shortcut = x
    y = layers.Conv2D(
        filters, 3, strides=stride, padding="same", use_bias=False, name=_name(name, "conv1")
    )(x)
    y = layers.BatchNormalization(name=_name(name, "bn1"))(y)
    y = layers.Activation("relu", name=_name(name, "relu1"))(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=_name(name, "conv2"))(y)
    y = layers.BatchNormalization(name=_name(name, "bn2"))(y)
    y = se_block(y, ratio, name=_name(name, "se"))
    if stride != 1 or int(x.shape[-1]) != filters:
        shortcut = layers.Conv2D(
            filters, 1, strides=stride, use_bias=False, name=_name(name, "proj")
        )(x)
        shortcut = layers.BatchNormalization(name=_name(name, "proj_bn"))(shortcut)
    y = layers.Add(name=_name(name, "add"))([y, shortcut])
    return layers.Activation("relu", name=_name(name, "out"))(y)


def build_se_resnet_demo(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    filters: Sequence[int] = (16, 32, 64),
    ratio: int = 4,
    name: str = "se_resnet_demo",
) -> keras.Model:
    """A small SE-ResNet for 28x28 images.

    3x3 stem conv, one :func:`se_basic_residual_block` per entry of ``filters`` (stride 2
    from the second on), global average pooling and a softmax Dense layer.

    Args:
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        num_classes: units of the softmax layer.
        filters: filters of each residual block.
        ratio: ``r`` of every SE block.
        name: the model's name.

    Returns:
        A functional ``keras.Model``, ``(batch, H, W, C) -> (batch, num_classes)``.
    """
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(filters[0], 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    for i, f in enumerate(filters):
        x = se_basic_residual_block(x, f, stride=1 if i == 0 else 2, ratio=ratio, name=f"res{i}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)
