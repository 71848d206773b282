"""MobileNet-V1 (Howard et al. 2017, "MobileNets: Efficient Convolutional Neural Networks
for Mobile Vision Applications").

A depthwise separable convolution factorises a k x k convolution from M to N channels into a
k x k *depthwise* convolution (one filter per input channel) and a 1x1 *pointwise*
convolution (M -> N).  On an output grid of D x D it costs ``D^2 M k^2 + D^2 M N``
multiply-adds instead of ``D^2 M N k^2``: the ratio is ``1/N + 1/k^2``
(:func:`separable_cost_ratio`), about 1/8 to 1/9 for 3x3 kernels.

:func:`build_mobilenet_v1` builds the network of the paper's table 1 (13 depthwise separable
blocks after one standard convolution) layer for layer as
``keras.applications.MobileNet(weights=None, alpha=alpha)``: 4,253,864 parameters for
alpha = 1.0 (BatchNormalization's moving statistics included).  Like Keras it uses ReLU6
(the paper writes ReLU) and a 1x1 convolution as the classifier after the average pool.
:func:`mobilenet_v1_table` computes the paper's table 1 with multiply-adds and weights per row
(569M mult-adds and 4.2M parameters in the paper).  Measured here (224x224x3)::

    alpha   table MACs    table params   Keras count_params   Keras trainable
    1.0     568,740,352   4,210,088      4,253,864            4,231,976
    0.75    325,400,448   2,569,144      2,601,976            2,585,560
    0.5     149,497,088   1,320,648      1,342,536            1,331,592
    0.25     41,030,272     464,600        475,544              470,072

(the paper's table 6: 569M/4.2M, 325M/2.6M, 149M/1.3M, 41M/0.5M).  Keras' count adds the
four BatchNormalization vectors per channel (gamma, beta, moving mean and variance).
"""

from __future__ import annotations

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import pandas as pd
from keras import layers

from helpers.arithmetic import conv_arithmetic as ca

# (pointwise filters, stride of the depthwise convolution) of the 13 separable blocks.
MOBILENET_V1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    *((512, 1),) * 5,
    (1024, 2),
    (1024, 1),  # the paper's table prints "Conv dw / s2" here: a typo (7x7 stays 7x7)
)
STEM_FILTERS = 32


def _name(name: str | None, suffix: str) -> str | None:
    """Layer name ``{name}_{suffix}``, or None (Keras picks a unique name) when name is None."""
    return None if name is None else f"{name}_{suffix}"


def separable_cost_ratio(kernel_size: int, out_channels: int) -> float:
    """Multiply-adds of a depthwise separable convolution over those of the standard one.

    ``1/N + 1/k^2``, independent of the input channels and grid.

    Args:
        kernel_size: ``k``, the kernel side in pixels, a positive int.
        out_channels: ``N``, the output channels, a positive int.

    Returns:
        The ratio, a float in ``(0, 2]``.

    Raises:
        ValueError: if ``kernel_size`` or ``out_channels`` is not a positive int.

    Example:
        >>> round(separable_cost_ratio(3, 512), 4)
        0.1131
    """
    for label, value in (("kernel_size", kernel_size), ("out_channels", out_channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be a positive int, got {value!r}")
    return 1 / out_channels + 1 / kernel_size**2


def depthwise_separable_block(
    x: keras.KerasTensor,
    pointwise_filters: int,
    alpha: float = 1.0,
    stride: int = 1,
    depth_multiplier: int = 1,
    name: str | None = None,
) -> keras.KerasTensor:
    """3x3 depthwise conv (``stride``)-BN-ReLU6, then 1x1 pointwise conv-BN-ReLU6.

    The pointwise conv has ``int(pointwise_filters * alpha)`` channels; convolutions have no
    bias.  ``padding="same"``: with stride 2 on an even grid TensorFlow pads one row and
    column at the bottom/right, exactly what Keras' MobileNet does with its
    ZeroPadding2D((0, 1), (0, 1)) followed by a "valid" convolution.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        pointwise_filters: the pointwise conv's filters before ``alpha``.
        alpha: width multiplier.
        stride: stride of the depthwise convolution.
        depth_multiplier: depthwise output channels per input channel.
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor,
        ``(batch, ceil(H / stride), ceil(W / stride), int(pointwise_filters * alpha))``.
    """
    filters = int(pointwise_filters * alpha)
    x = layers.DepthwiseConv2D(
        3,
        strides=stride,
        padding="same",
        depth_multiplier=depth_multiplier,
        use_bias=False,
        name=_name(name, "dw"),
    )(x)
    x = layers.BatchNormalization(name=_name(name, "dw_bn"))(x)
    x = layers.ReLU(6.0, name=_name(name, "dw_relu"))(x)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=_name(name, "pw"))(x)
    x = layers.BatchNormalization(name=_name(name, "pw_bn"))(x)
    return layers.ReLU(6.0, name=_name(name, "pw_relu"))(x)


def build_mobilenet_v1(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    num_classes: int = 1000,
    alpha: float = 1.0,
    depth_multiplier: int = 1,
    dropout: float = 1e-3,
    small_input: bool = False,
    name: str | None = None,
) -> keras.Model:
    """MobileNet-V1 with Keras' head.

    3x3/2 conv (32 alpha filters)-BN-ReLU6, 13 depthwise separable blocks
    (:data:`MOBILENET_V1_BLOCKS`), then Keras' head: global average pool (kept as 1x1xC),
    dropout, 1x1 conv to ``num_classes`` (with bias), reshape, softmax.

    Args:
        input_shape: ``(H, W, C)``; 224x224x3 gives a 7x7x(1024 alpha) last feature map.
        num_classes: classes of the softmax output.
        alpha: width multiplier, every layer gets ``int(filters * alpha)`` channels.
        depth_multiplier: the resolution multiplier of the depthwise convolutions.
        dropout: rate of the dropout before the classifier.
        small_input: for 28x28 or 32x32 images, the stem convolution and the first
            stride-2 block use stride 1 (total downsampling 8 instead of 32: 28x28 -> 4x4).
        name: the model's name, default ``mobilenet_{alpha:.2f}_{H}`` as in Keras.

    Returns:
        A functional ``keras.Model``, ``(batch, H, W, C) -> (batch, num_classes)``
        probabilities.

    Raises:
        ValueError: if ``alpha <= 0``.
    """
    if alpha <= 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(
        int(STEM_FILTERS * alpha),
        3,
        strides=1 if small_input else 2,
        padding="same",
        use_bias=False,
        name="conv1",
    )(inputs)
    x = layers.BatchNormalization(name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    for i, (filters, stride) in enumerate(MOBILENET_V1_BLOCKS, start=1):
        if small_input and i == 2:
            stride = 1
        x = depthwise_separable_block(x, filters, alpha, stride, depth_multiplier, name=f"block{i}")
    x = layers.GlobalAveragePooling2D(keepdims=True, name="avg_pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Conv2D(num_classes, 1, padding="same", name="conv_preds")(x)
    x = layers.Reshape((num_classes,), name="reshape")(x)
    outputs = layers.Activation("softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name or f"mobilenet_{alpha:0.2f}_{input_shape[0]}")


def _shape_str(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def mobilenet_v1_table(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    alpha: float = 1.0,
    num_classes: int = 1000,
) -> pd.DataFrame:
    """Table 1 of the MobileNet paper, one row per layer (the "5x" row expanded).

    Computed with :mod:`helpers.arithmetic.conv_arithmetic`.  The depthwise convolution on
    7x7x1024 has stride 1, where the paper prints "s2" by mistake.  Sums at 224x224x3,
    alpha = 1: 568,740,352 multiply-adds and 4,210,088 parameters (the paper: 569M and
    4.2M).

    Args:
        input_shape: ``(H, W, C)`` of the input image (pixels, channels).
        alpha: width multiplier.
        num_classes: units of the FC layer.

    Returns:
        A DataFrame with columns ``type_stride`` ("Conv / s2", "Conv dw / s1", ...),
        ``filter_shape`` ("3x3x3x32", "3x3x32 dw", "1x1x32x64", "Pool 7x7", "1024x1000"),
        ``input_size`` ("224x224x3"), ``output_size``, ``macs`` (multiply-adds per image)
        and ``params`` (convolution weights; the FC layer's 1000 biases included;
        BatchNormalization is not in the paper's table and not counted).
    """
    h, w, c = (int(d) for d in input_shape)
    rows: list[dict[str, object]] = []

    def add(kind: str, stride: int, filt: str, out: tuple[int, int, int], macs: int, p: int):
        rows.append(
            {
                "type_stride": f"{kind} / s{stride}",
                "filter_shape": filt,
                "input_size": _shape_str((h, w, c)),
                "output_size": _shape_str(out),
                "macs": macs,
                "params": p,
            }
        )

    def conv(kernel: int, filters: int, stride: int) -> None:
        nonlocal h, w, c
        out = ca.conv_output_shape((h, w, c), filters, kernel, stride, "same")
        macs = ca.conv2d_macs(out, kernel, c)
        p = ca.conv2d_params(kernel, c, filters, use_bias=False)
        add("Conv", stride, f"{kernel}x{kernel}x{c}x{filters}", out, macs, p)
        h, w, c = out

    def depthwise(stride: int) -> None:
        nonlocal h, w, c
        out = ca.conv_output_shape((h, w, c), c, 3, stride, "same")
        macs = ca.depthwise_conv2d_macs(out, 3)
        p = ca.depthwise_conv2d_params(3, c, use_bias=False)
        add("Conv dw", stride, f"3x3x{c} dw", out, macs, p)
        h, w, c = out

    conv(3, int(STEM_FILTERS * alpha), 2)
    for filters, stride in MOBILENET_V1_BLOCKS:
        depthwise(stride)
        conv(1, int(filters * alpha), 1)
    add("Avg Pool", 1, f"Pool {h}x{w}", (1, 1, c), 0, 0)
    h, w = 1, 1
    add(
        "FC",
        1,
        f"{c}x{num_classes}",
        (1, 1, num_classes),
        ca.dense_macs(c, num_classes),
        ca.dense_params(c, num_classes),
    )
    c = num_classes
    add("Softmax", 1, "Classifier", (1, 1, c), 0, 0)
    df = pd.DataFrame(rows)
    df[["macs", "params"]] = df[["macs", "params"]].astype("int64")
    return df
