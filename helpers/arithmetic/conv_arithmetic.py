"""Convolution arithmetic: output sizes, parameter counts, multiply-adds, memory, top-k.

Pure Python/numpy (no TensorFlow), with Keras' conventions:

* sizes are in pixels, shapes are channels-last ``(H, W, C)`` without the batch axis;
* ``padding`` is ``"valid"`` (none), ``"same"`` (Keras/TF: output = ceil(input / stride),
  whatever the kernel), an int ``p`` (p zeros on each side) or a ``(before, after)`` tuple;
* the effective kernel of a dilated convolution is ``dilation * (kernel - 1) + 1``;
* output = floor((input + pad_total - effective_kernel) / stride) + 1.

A MAC is one multiply-add; biases are not counted as MACs.  Sizes must be Python or numpy
integers: floats and bools raise :class:`TypeError`, impossible values :class:`ValueError`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Padding = str | int | tuple[int, int]
Size2 = int | tuple[int, int]


def _int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an ``int`` >= ``minimum``; TypeError for floats, bools, strings."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"{name} must be an integer, got {value!r} ({type(value).__name__}); "
            f"pass e.g. int({value!r}) if that is what you mean"
        )
    if value < minimum:
        word = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{name} must be {word}, got {value}")
    return int(value)


def _pair(name: str, value: Any, minimum: int = 1) -> tuple[int, int]:
    """An int or a 2-tuple/list of ints as ``(rows, cols)``."""
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (rows, cols), got {value!r}")
        return _int(f"{name}[0]", value[0], minimum), _int(f"{name}[1]", value[1], minimum)
    v = _int(name, value, minimum)
    return v, v


def _shape3(value: Any, name: str = "input_shape", form: str = "(H, W, C)") -> tuple[int, ...]:
    if not isinstance(value, tuple | list) or len(value) != 3:
        raise ValueError(f"{name} must be {form} without the batch axis, got {value!r}")
    return tuple(_int(f"{name}[{i}]", v) for i, v in enumerate(value))


def _padding_total(n: int, k_eff: int, stride: int, padding: Padding) -> int:
    """Total zeros added along one axis (both sides together)."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return 0
        if mode == "same":
            out = -(-n // stride)  # ceil(n / stride)
            return max((out - 1) * stride + k_eff - n, 0)
        raise ValueError(
            f"unknown padding {padding!r}; use 'valid', 'same', an int p or a (before, after) pair"
        )
    if isinstance(padding, tuple | list):
        if len(padding) != 2:
            raise ValueError(f"padding pair must be (before, after), got {padding!r}")
        return _int("padding[0]", padding[0], 0) + _int("padding[1]", padding[1], 0)
    return 2 * _int("padding", padding, 0)


def conv_output_size(
    input_size: int,
    kernel_size: int,
    stride: int = 1,
    padding: Padding = "valid",
    dilation: int = 1,
    exact: bool = False,
) -> int:
    """Output length (pixels) of a convolution along one spatial axis.

    ``output = floor((input + pad_total - effective_kernel) / stride) + 1`` with
    ``effective_kernel = dilation * (kernel - 1) + 1``.

    Args:
        input_size: input length, in pixels, ``>= 1``.
        kernel_size: kernel length, in pixels, ``>= 1``.
        stride: step, in pixels, ``>= 1``.
        padding: ``"valid"``, ``"same"`` (output ``ceil(input / stride)``), an int ``p``
            (p zeros on each side) or a ``(before, after)`` pair.
        dilation: spacing of the kernel taps, ``>= 1``.
        exact: also raise when the kernel does not tile the padded input, i.e.
            ``(input + pad_total - effective_kernel)`` is not a multiple of ``stride``.

    Returns:
        The output length in pixels, an ``int``.

    Raises:
        TypeError: if a size is not a Python or numpy integer (floats and bools included).
        ValueError: if a size is not positive, the padding is unknown or negative, the
            effective kernel is larger than the padded input, or (``exact=True``) the stride
            does not fit.

    Example:
        >>> conv_output_size(227, 11, stride=4), conv_output_size(9, 3, padding="same")
        (55, 9)
    """
    n = _int("input_size", input_size)
    k = _int("kernel_size", kernel_size)
    s = _int("stride", stride)
    d = _int("dilation", dilation)
    k_eff = d * (k - 1) + 1
    pad = _padding_total(n, k_eff, s, padding)
    span = n + pad - k_eff
    if span < 0:
        raise ValueError(
            f"kernel {k} (effective {k_eff} with dilation {d}) is larger than the padded input "
            f"{n + pad} (input {n} + padding {pad}); use a smaller kernel or dilation, "
            f"more padding, or padding='same'"
        )
    if exact and span % s != 0:
        raise ValueError(
            f"stride {s} does not fit: (input {n} + padding {pad} - kernel {k_eff}) / stride {s} "
            f"+ 1 = {span / s + 1:g} is not an integer; change the input size, padding or stride"
        )
    return span // s + 1


def pool_output_size(
    input_size: int,
    pool_size: int,
    stride: int | None = None,
    padding: Padding = "valid",
    exact: bool = False,
) -> int:
    """Output length (pixels) of a pooling window along one axis.

    Args:
        input_size: input length, in pixels, ``>= 1``.
        pool_size: window length, in pixels, ``>= 1``.
        stride: step, in pixels; defaults to ``pool_size`` as in Keras.
        padding: ``"valid"``, ``"same"`` (output ``ceil(input / stride)``), an int ``p``
            (p zeros on each side) or a ``(before, after)`` pair.
        exact: also raise when the window does not tile the padded input.

    Returns:
        The output length in pixels, an ``int``.

    Raises:
        TypeError: as :func:`conv_output_size`.
        ValueError: as :func:`conv_output_size`.

    Example:
        >>> pool_output_size(55, 3, stride=2), pool_output_size(26, 2)
        (27, 13)
    """
    stride = pool_size if stride is None else stride
    return conv_output_size(input_size, pool_size, stride, padding, 1, exact)


def _padding_pair(padding: Any) -> tuple[Padding, Padding]:
    """Padding per axis: a str/int/(before, after) for both, or ((top, bottom), (left, right))."""
    if isinstance(padding, tuple | list) and len(padding) == 2:
        if all(isinstance(p, tuple | list) for p in padding):
            return tuple(padding[0]), tuple(padding[1])
    return padding, padding


def conv_output_shape(
    input_shape: tuple[int, int, int],
    filters: int,
    kernel_size: Size2,
    strides: Size2 = 1,
    padding: Padding | tuple[tuple[int, int], tuple[int, int]] = "valid",
    dilation: Size2 = 1,
) -> tuple[int, int, int]:
    """Output shape ``(H, W, filters)`` of a Conv2D on a channels-last ``(H, W, C)`` input.

    Args:
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        filters: output channels, ``>= 1``.
        kernel_size: an int or ``(rows, cols)``, in pixels.
        strides: an int or ``(rows, cols)``, in pixels.
        padding: as in :func:`conv_output_size` for both axes, or
            ``((top, bottom), (left, right))``.
        dilation: an int or ``(rows, cols)``.

    Returns:
        The output shape ``(H', W', filters)``, a tuple of ints.

    Raises:
        TypeError: if a size is not a Python or numpy integer (floats and bools included).
        ValueError: if a size is not positive, ``input_shape`` is not a 3-tuple, a pair
            does not have two entries, or a kernel does not fit (see
            :func:`conv_output_size`).

    Example:
        >>> conv_output_shape((32, 32, 3), 6, 5)
        (28, 28, 6)
    """
    h, w, _ = _shape3(input_shape)
    f = _int("filters", filters)
    (kh, kw), (sh, sw) = _pair("kernel_size", kernel_size), _pair("strides", strides)
    dh, dw = _pair("dilation", dilation)
    ph, pw = _padding_pair(padding)
    return conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw), f


def pool_output_shape(
    input_shape: tuple[int, int, int],
    pool_size: Size2,
    strides: Size2 | None = None,
    padding: Padding | tuple[tuple[int, int], tuple[int, int]] = "valid",
) -> tuple[int, int, int]:
    """Output shape ``(H, W, C)`` of a 2-D pooling layer; channels are unchanged.

    Args:
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        pool_size: an int or ``(rows, cols)``, in pixels.
        strides: an int or ``(rows, cols)``; defaults to ``pool_size``.
        padding: as in :func:`conv_output_shape`.

    Returns:
        The output shape ``(H', W', C)``, a tuple of ints.

    Raises:
        TypeError: if a size is not a Python or numpy integer (floats and bools included).
        ValueError: if a size is not positive, ``input_shape`` is not a 3-tuple, or a
            window does not fit.

    Example:
        >>> pool_output_shape((26, 26, 32), 2)
        (13, 13, 32)
    """
    h, w, c = _shape3(input_shape)
    ph_, pw_ = _pair("pool_size", pool_size)
    sh, sw = (ph_, pw_) if strides is None else _pair("strides", strides)
    ph, pw = _padding_pair(padding)
    return pool_output_size(h, ph_, sh, ph), pool_output_size(w, pw_, sw, pw), c


def conv2d_params(kernel_size: Size2, in_channels: int, filters: int, use_bias: bool = True) -> int:
    """Weights of a Conv2D: ``kh * kw * in_channels * filters`` (+ ``filters`` biases).

    Args:
        kernel_size: an int or ``(kh, kw)``, in pixels.
        in_channels: input channels ``C_in``.
        filters: output channels ``C_out``.
        use_bias: count one bias per filter.

    Returns:
        The number of weights, an ``int``.

    Raises:
        TypeError: if a size is not a Python or numpy integer (floats and bools included).
        ValueError: if a size is not positive.

    Example:
        >>> conv2d_params(11, 3, 96)  # AlexNet CONV1
        34944
    """
    kh, kw = _pair("kernel_size", kernel_size)
    c, f = _int("in_channels", in_channels), _int("filters", filters)
    return kh * kw * c * f + (f if use_bias else 0)


def depthwise_conv2d_params(
    kernel_size: Size2, in_channels: int, depth_multiplier: int = 1, use_bias: bool = True
) -> int:
    """Weights of a DepthwiseConv2D: ``kh * kw * C * m`` (+ ``C * m`` biases).

    Args:
        kernel_size: an int or ``(kh, kw)``, in pixels.
        in_channels: input channels ``C``.
        depth_multiplier: ``m``, output channels per input channel.
        use_bias: count one bias per output channel.

    Returns:
        The number of weights, an ``int``.

    Raises:
        TypeError: if a size is not a Python or numpy integer (floats and bools included).
        ValueError: if a size is not positive.

    Example:
        >>> depthwise_conv2d_params(3, 32)
        320
    """
    kh, kw = _pair("kernel_size", kernel_size)
    out = _int("in_channels", in_channels) * _int("depth_multiplier", depth_multiplier)
    return kh * kw * out + (out if use_bias else 0)


def separable_conv2d_params(
    kernel_size: Size2,
    in_channels: int,
    filters: int,
    depth_multiplier: int = 1,
    use_bias: bool = True,
) -> int:
    """Weights of a Keras SeparableConv2D.

    Depthwise ``kh * kw * C * m`` + pointwise ``C * m * filters`` (+ one bias per filter;
    the depthwise step has none).

    Args:
        kernel_size: an int or ``(kh, kw)``, in pixels.
        in_channels: input channels ``C``.
        filters: output channels.
        depth_multiplier: ``m``, depthwise output channels per input channel.
        use_bias: count one bias per filter.

    Returns:
        The number of weights, an ``int``.

    Raises:
        TypeError: if a size is not a Python or numpy integer (floats and bools included).
        ValueError: if a size is not positive.

    Example:
        >>> separable_conv2d_params(3, 32, 64)
        2400
    """
    kh, kw = _pair("kernel_size", kernel_size)
    mid = _int("in_channels", in_channels) * _int("depth_multiplier", depth_multiplier)
    f = _int("filters", filters)
    return kh * kw * mid + mid * f + (f if use_bias else 0)


def dense_params(in_features: int, units: int, use_bias: bool = True) -> int:
    """Weights of a Dense layer: ``in_features * units`` (+ ``units`` biases).

    Args:
        in_features: input features.
        units: output units.
        use_bias: count one bias per unit.

    Returns:
        The number of weights, an ``int``.

    Raises:
        TypeError: if a size is not a Python or numpy integer (floats and bools included).
        ValueError: if a size is not positive.

    Example:
        >>> dense_params(5408, 128)
        692352
    """
    n, u = _int("in_features", in_features), _int("units", units)
    return n * u + (u if use_bias else 0)


def batchnorm_params(channels: int, center: bool = True, scale: bool = True) -> int:
    """All weights of a BatchNormalization over ``channels``, as ``count_params`` reports.

    Trainable: gamma (if ``scale``) and beta (if ``center``), ``channels`` each.
    Non-trainable: moving mean and moving variance, ``channels`` each (always).

    Args:
        channels: the normalised channels (or features).
        center: the layer has beta.
        scale: the layer has gamma.

    Returns:
        The number of weights, an ``int``.

    Raises:
        TypeError: if a size is not a Python or numpy integer (floats and bools included).
        ValueError: if a size is not positive.

    Example:
        >>> batchnorm_params(64)
        256
    """
    c = _int("channels", channels)
    return c * (2 + bool(center) + bool(scale))


def conv2d_macs(output_shape: tuple[int, int, int], kernel_size: Size2, in_channels: int) -> int:
    """Multiply-adds of a Conv2D: ``H * W * C_out * kh * kw * C_in`` (biases not counted).

    Args:
        output_shape: the output ``(H, W, C_out)``, without the batch axis.
        kernel_size: an int or ``(kh, kw)``, in pixels.
        in_channels: input channels ``C_in``.

    Returns:
        The number of MACs for one image, an ``int``.

    Raises:
        TypeError: if a size is not a Python or numpy integer (floats and bools included).
        ValueError: if a size is not positive, or ``output_shape`` is not a 3-tuple.

    Example:
        >>> conv2d_macs((26, 26, 32), 3, 1)
        194688
    """
    h, w, c = _shape3(output_shape, "output_shape", "(H, W, C_out)")
    kh, kw = _pair("kernel_size", kernel_size)
    return h * w * c * kh * kw * _int("in_channels", in_channels)


def depthwise_conv2d_macs(output_shape: tuple[int, int, int], kernel_size: Size2) -> int:
    """Multiply-adds of a DepthwiseConv2D: ``H * W * C_out * kh * kw`` (biases not counted).

    Here ``C_out = in_channels * depth_multiplier``.

    Args:
        output_shape: the output ``(H, W, C_out)``, without the batch axis.
        kernel_size: an int or ``(kh, kw)``, in pixels.

    Returns:
        The number of MACs for one image, an ``int``.

    Raises:
        TypeError: if a size is not a Python or numpy integer (floats and bools included).
        ValueError: if a size is not positive, or ``output_shape`` is not a 3-tuple.

    Example:
        >>> depthwise_conv2d_macs((10, 10, 32), 3)
        28800
    """
    h, w, c = _shape3(output_shape, "output_shape", "(H, W, C_out)")
    kh, kw = _pair("kernel_size", kernel_size)
    return h * w * c * kh * kw


def separable_conv2d_macs(
    output_shape: tuple[int, int, int],
    kernel_size: Size2,
    in_channels: int,
    depth_multiplier: int = 1,
) -> int:
    """Multiply-adds of a SeparableConv2D with output ``(H, W, filters)`` (no biases).

    Depthwise ``H * W * C * m * kh * kw`` plus pointwise ``H * W * C * m * filters``.

    Args:
        output_shape: the output ``(H, W, filters)``, without the batch axis.
        kernel_size: an int or ``(kh, kw)``, in pixels.
        in_channels: input channels ``C``.
        depth_multiplier: ``m``.

    Returns:
        The number of MACs for one image, an ``int``.

    Raises:
        TypeError: if a size is not a Python or numpy integer (floats and bools included).
        ValueError: if a size is not positive, or ``output_shape`` is not a 3-tuple.

    Example:
        >>> separable_conv2d_macs((10, 10, 64), 3, 32)
        233600
    """
    h, w, f = _shape3(output_shape, "output_shape", "(H, W, C_out)")
    mid = _int("in_channels", in_channels) * _int("depth_multiplier", depth_multiplier)
    return depthwise_conv2d_macs((h, w, mid), kernel_size) + h * w * mid * f


def dense_macs(in_features: int, units: int) -> int:
    """Multiply-adds of a Dense layer on one vector: ``in_features * units`` (no biases).

    Args:
        in_features: input features.
        units: output units.

    Returns:
        The number of MACs, an ``int``.

    Raises:
        TypeError: if a size is not a Python or numpy integer (floats and bools included).
        ValueError: if a size is not positive.

    Example:
        >>> dense_macs(128, 10)
        1280
    """
    return _int("in_features", in_features) * _int("units", units)


def activation_values(shape: tuple[int | None, ...]) -> int:
    """Number of values in one activation of ``shape``; a leading ``None`` (batch) is ignored.

    Args:
        shape: an activation shape such as ``(None, H, W, C)`` or ``(H, W, C)``.

    Returns:
        The product of the sizes, an ``int``.

    Raises:
        TypeError: if a size is not an integer.
        ValueError: if a size after the batch axis is None or negative.

    Example:
        >>> activation_values((None, 26, 26, 32))
        21632
    """
    dims = tuple(shape)
    if dims and dims[0] is None:
        dims = dims[1:]
    if any(d is None for d in dims):
        raise ValueError(f"shape {tuple(shape)!r} has an unknown (None) size after the batch axis")
    return math.prod(_int(f"shape[{i}]", d, 0) for i, d in enumerate(dims))


def activation_memory_bytes(
    shape: tuple[int | None, ...], batch_size: int = 1, bytes_per_value: int = 4
) -> int:
    """Bytes to hold one activation of ``shape`` for ``batch_size`` images.

    Args:
        shape: an activation shape such as ``(None, H, W, C)`` or ``(H, W, C)``.
        batch_size: images, ``>= 1``.
        bytes_per_value: 4 for float32, 2 for float16.

    Returns:
        The memory in bytes, an ``int``.

    Raises:
        TypeError: if a size is not an integer.
        ValueError: as :func:`activation_values`, or if ``batch_size`` or
            ``bytes_per_value`` is not positive.

    Example:
        >>> activation_memory_bytes((26, 26, 32), batch_size=64)
        5537792
    """
    b, nbytes = _int("batch_size", batch_size), _int("bytes_per_value", bytes_per_value)
    return activation_values(shape) * b * nbytes


def top_k_accuracy(y_true: Any, scores: Any, k: int) -> float:
    """Fraction of the N examples whose true class is among the k highest ``scores``.

    Tie rule: exactly k classes are predicted per example, by a stable argsort of the
    negated scores, so tied scores go to the lower class index.  Keras'
    ``top_k_categorical_accuracy`` (``tf.math.in_top_k``) instead counts every class tied
    with the k-th score as a hit, so with ties at the cut-off Keras can report more.

    Args:
        y_true: integer labels ``(N,)`` in ``[0, C)`` or one-hot ``(N, C)`` (argmax is
            taken).
        scores: ``(N, C)`` probabilities or logits, numeric.
        k: ``1 <= k <= C``.

    Returns:
        The top-k accuracy, a Python float in ``[0, 1]``.

    Raises:
        ValueError: if ``scores`` is not ``(N, C)`` with ``N, C >= 1``, ``k > C``, ``y_true``
            has the wrong shape, or a label is outside ``[0, C)``.
        TypeError: if ``scores`` is not numeric, ``k`` is not an int, or labels ``(N,)`` are
            not integers.

    Example:
        >>> top_k_accuracy([2], [[0.1, 0.5, 0.3, 0.1]], k=2)
        1.0
    """
    s = np.asarray(scores)
    if s.ndim != 2 or s.shape[0] == 0 or s.shape[1] == 0:
        raise ValueError(f"scores must have shape (N, C) with N, C >= 1, got shape {s.shape}")
    if not np.issubdtype(s.dtype, np.number):
        raise TypeError(f"scores must be numeric, got dtype {s.dtype}")
    s = s.astype(np.float64)
    n, c = s.shape
    k = _int("k", k)
    if k > c:
        raise ValueError(f"k={k} is larger than the number of classes C={c}; use k <= {c}")
    y = np.asarray(y_true)
    if y.ndim == 2:
        if y.shape != s.shape:
            raise ValueError(f"one-hot y_true shape {y.shape} differs from scores shape {s.shape}")
        labels = y.argmax(axis=1)
    elif y.ndim == 1:
        if y.shape[0] != n:
            raise ValueError(f"y_true has {y.shape[0]} labels but scores has {n} rows")
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(
                f"integer labels expected, got dtype {y.dtype}; use y_true.astype(int) "
                f"or pass one-hot labels of shape (N, C)"
            )
        if y.min() < 0 or y.max() >= c:
            raise ValueError(f"labels must be in [0, {c - 1}], got min {y.min()}, max {y.max()}")
        labels = y
    else:
        raise ValueError(f"y_true must be labels (N,) or one-hot (N, C), got shape {y.shape}")
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1)))
