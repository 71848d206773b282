"""Receptive fields of chains of convolutions and pools, by formula and by measurement.

The receptive field (RF) of a unit is the side, in input pixels, of the input window that
can change its value.  For a chain of layers with kernels ``k_l``, strides ``s_l`` and
dilations ``d_l`` (square, one axis)::

    r_0 = 1, j_0 = 1
    r_l = r_{l-1} + d_l * (k_l - 1) * j_{l-1}       # receptive field after layer l
    j_l = j_{l-1} * s_l                             # "jump": input pixels between units

Padding shifts the window but does not change its size.  Two stacked 3x3 convolutions
(stride 1) see 5x5 pixels, three see 7x7:

>>> receptive_field([3, 3]), receptive_field([3, 3, 3])
(5, 7)

:func:`measured_receptive_field` checks the formula with Keras: it builds the chain with
all-ones kernels and counts the input pixels with a nonzero gradient for one output unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import numpy as np
import pandas as pd
import tensorflow as tf

from helpers.arithmetic.conv_arithmetic import conv2d_params


def _per_layer(name: str, values: Sequence[int] | None, n: int, default: int) -> list[int]:
    if values is None:
        return [default] * n
    values = [int(v) for v in values]
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries, kernels has {n}; give one per layer")
    if any(v < 1 for v in values):
        raise ValueError(f"{name} must be positive, got {values}")
    return values


def receptive_field_growth(
    kernels: Sequence[int],
    strides: Sequence[int] | None = None,
    dilations: Sequence[int] | None = None,
) -> list[tuple[int, int]]:
    """``(receptive_field, jump)`` in input pixels after each layer of a chain.

    Args:
        kernels: one kernel (or pool window) side per layer, in pixels, all ``>= 1``.
        strides: one stride per layer, in pixels (default: 1 for every layer).
        dilations: one dilation per layer (default: 1 for every layer).

    Returns:
        A list of ``(receptive_field, jump)`` int pairs, one per layer, in input pixels.

    Raises:
        ValueError: if ``kernels`` is empty or not positive, or ``strides``/``dilations``
            do not have one positive entry per layer.

    Example:
        >>> receptive_field_growth([11, 3], [4, 2])  # AlexNet CONV1, POOL1
        [(11, 4), (19, 8)]
    """
    kernels = [int(k) for k in kernels]
    if not kernels or any(k < 1 for k in kernels):
        raise ValueError(f"kernels must be a non-empty list of positive sizes, got {kernels}")
    strides = _per_layer("strides", strides, len(kernels), 1)
    dilations = _per_layer("dilations", dilations, len(kernels), 1)
    rf, jump, out = 1, 1, []
    for k, s, d in zip(kernels, strides, dilations, strict=True):
        rf += d * (k - 1) * jump
        jump *= s
        out.append((rf, jump))
    return out


def receptive_field(
    kernels: Sequence[int],
    strides: Sequence[int] | None = None,
    dilations: Sequence[int] | None = None,
) -> int:
    """Receptive field side (input pixels) of one unit after the whole chain.

    Args:
        kernels: one kernel (or pool window) side per layer, in pixels, all ``>= 1``.
        strides: one stride per layer, in pixels (default: 1 for every layer).
        dilations: one dilation per layer (default: 1 for every layer).

    Returns:
        The receptive field side in input pixels, an ``int``.

    Raises:
        ValueError: if ``kernels`` is empty or not positive, or ``strides``/``dilations``
            do not have one positive entry per layer.

    Example:
        >>> receptive_field([7]), receptive_field([3] * 3)
        (7, 7)
    """
    return receptive_field_growth(kernels, strides, dilations)[-1][0]


def _square(layer: keras.layers.Layer, attr: str) -> int:
    value = tuple(getattr(layer, attr))
    if len(set(value)) != 1:
        raise ValueError(f"layer {layer.name!r} has a non-square {attr} {value}")
    return int(value[0])


def model_receptive_fields(model: keras.Model) -> pd.DataFrame:
    """Receptive field after every convolution and pooling layer of a chain-shaped model.

    Conv2D (also depthwise/separable, with dilation) and 2-D max/average pooling layers get
    a row, other layers (activations, normalisation, padding, dropout) leave the receptive
    field unchanged and are skipped.  Stops at the first Flatten, global pooling or Dense
    layer (beyond it every unit sees the whole input).  Assumes the layers form one chain,
    as in LeNet, AlexNet, ZFNet and VGG; square kernels and strides only.

    Args:
        model: a Keras model whose layers form one chain.

    Returns:
        A DataFrame with columns ``name, type, kernel, stride, receptive_field, jump``
        (pixels of the input), one row per convolution/pooling layer.

    Raises:
        ValueError: if a kernel, stride or dilation is not square, or there is no Conv2D or
            pooling layer before the head.
    """
    convs = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
    pools = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
    stops = (
        keras.layers.Flatten,
        keras.layers.Dense,
        keras.layers.GlobalAveragePooling2D,
        keras.layers.GlobalMaxPooling2D,
    )
    rows: list[dict] = []
    for layer in model.layers:
        if isinstance(layer, stops):
            break
        if isinstance(layer, convs):
            k, s = _square(layer, "kernel_size"), _square(layer, "strides")
            d = _square(layer, "dilation_rate")
        elif isinstance(layer, pools):
            k, s, d = _square(layer, "pool_size"), _square(layer, "strides"), 1
        else:
            continue
        rows.append({"name": layer.name, "type": type(layer).__name__, "kernel": k,
                     "stride": s, "dilation": d})
    if not rows:
        raise ValueError(f"model {model.name!r} has no Conv2D or pooling layer before its head")
    growth = receptive_field_growth(
        [r["kernel"] for r in rows], [r["stride"] for r in rows], [r["dilation"] for r in rows]
    )
    df = pd.DataFrame(rows)
    df["receptive_field"] = [rf for rf, _ in growth]
    df["jump"] = [j for _, j in growth]
    return df.drop(columns="dilation")


def measured_receptive_field(
    kernels: Sequence[int],
    strides: Sequence[int] | None = None,
    dilations: Sequence[int] | None = None,
) -> int:
    """The receptive field of a chain of single-channel convolutions, measured with Keras.

    Builds ``Conv2D(1, k, strides=s, dilation_rate=d, use_bias=False)`` layers with all-ones
    kernels and no activation on an ``(H, H, 1)`` input large enough for several output
    units, takes the gradient of the centre output unit with respect to the input and
    returns how many input rows have a nonzero gradient.  Equals :func:`receptive_field`.

    Args:
        kernels: one kernel (or pool window) side per layer, in pixels, all ``>= 1``.
        strides: one stride per layer, in pixels (default: 1 for every layer).
        dilations: one dilation per layer (default: 1 for every layer).

    Returns:
        The measured receptive field side in input pixels, an ``int``.

    Raises:
        ValueError: if ``kernels`` is empty or not positive, or ``strides``/``dilations``
            do not have one positive entry per layer.
    """
    growth = receptive_field_growth(kernels, strides, dilations)
    rf, jump = growth[-1]
    side = 2 * rf + 4 * jump + 1
    strides = _per_layer("strides", strides, len(growth), 1)
    dilations = _per_layer("dilations", dilations, len(growth), 1)
    model = keras.Sequential(
        [keras.Input((side, side, 1))]
        + [
            keras.layers.Conv2D(
                1, k, strides=s, dilation_rate=d, use_bias=False, kernel_initializer="ones"
            )
            for k, s, d in zip(kernels, strides, dilations, strict=True)
        ]
    )
    x = tf.Variable(tf.zeros((1, side, side, 1)))
    with tf.GradientTape() as tape:
        y = model(x)
        centre = y.shape[1] // 2
        unit = y[0, centre, centre, 0]
    grad = tape.gradient(unit, x).numpy()[0, :, :, 0]
    rows = np.flatnonzero(np.abs(grad).sum(axis=1) > 0)
    return int(rows[-1] - rows[0] + 1)


def stacked_conv_weights(n_layers: int, kernel_size: int, channels: int) -> int:
    """Weights (no biases) of ``n_layers`` stacked convolutions that keep ``channels`` channels.

    ``n_layers * kernel_size**2 * channels**2``.

    Args:
        n_layers: the number of stacked convolutions, ``>= 1``.
        kernel_size: the square kernel's side, in pixels.
        channels: input and output channels of every layer.

    Returns:
        The number of weights, an ``int``.

    Raises:
        ValueError: if ``n_layers`` (or another size) is not positive.
        TypeError: if ``kernel_size`` or ``channels`` is not an integer.

    Example:
        >>> stacked_conv_weights(3, 3, 1), stacked_conv_weights(1, 7, 1)  # x C^2
        (27, 49)
    """
    if n_layers < 1:
        raise ValueError(f"n_layers must be positive, got {n_layers}")
    return n_layers * conv2d_params(kernel_size, channels, channels, use_bias=False)
