"""Convolution basics in numpy: classic filters, im2col, a naive reference, pooling, NCHW/NHWC.

Conventions (those of Keras and ``tf.nn.conv2d``):

* image batches are channels-last ``(N, H, W, C)`` (NHWC); sizes are in pixels;
* kernels are ``(kh, kw, C_in, C_out)``; what deep-learning libraries call "convolution"
  is **cross-correlation**: the kernel is *not* flipped,
  ``y[n, i, j, f] = sum_{u, v, c} x_pad[n, i*s + u, j*s + v, c] * w[u, v, c, f] (+ b[f])``;
* ``padding`` is ``"valid"`` (none), ``"same"`` (output ``ceil(H / s)``, zeros split as TF
  does: the extra one goes after) or an int ``p`` (p zeros on every side).

Output sizes and parameter counts come from :mod:`helpers.arithmetic.conv_arithmetic`, and
top-k accuracy
is :func:`helpers.arithmetic.conv_arithmetic.top_k_accuracy`; this module does not repeat them.

>>> import numpy as np
>>> x = np.arange(16.0).reshape(1, 4, 4, 1)
>>> cols, (oh, ow) = im2col(x, 3, 3)
>>> cols.shape, (oh, ow)
((4, 9), (2, 2))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.arithmetic.conv_arithmetic import (
    Padding,
    conv2d_params,
    conv_output_shape,
    conv_output_size,
    dense_params,
)

__all__ = [
    "classic_kernels", "filter_image", "im2col", "conv2d_im2col", "conv2d_naive", "pool2d",
    "top_k_classes", "mlp_weights", "mlp_vs_conv_parameters", "conv_shape_table",
    "nhwc_to_nchw", "nchw_to_nhwc", "best_time", "plot_kernels", "plot_filtered", "plot_images",
]


# ---------------------------------------------------------------------------------------
# Classic 3x3 filters
# ---------------------------------------------------------------------------------------


def classic_kernels() -> dict[str, np.ndarray]:
    """The 3x3 filters of the lecture's table, as float64 arrays ``(3, 3)``.

    ``"laplacian (slide: sharpen)"`` is the kernel the slide calls *Sharpen*,
    ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``: its weights sum to 0, so flat regions go to 0
    and only edges remain (a second-derivative edge detector).  A real sharpening kernel is
    identity minus that Laplacian, ``"sharpen"`` (sum 1).  ``"sobel x"`` is not on the slide:
    it is not symmetric under a 180 degree rotation, so it tells convolution and
    cross-correlation apart.

    Returns:
        A dict name -> float64 kernel of shape ``(3, 3)``: ``"identity"``, ``"edge"``,
        ``"laplacian (slide: sharpen)"``, ``"sharpen"``, ``"box blur"``,
        ``"gaussian blur"``, ``"sobel x"``.
    """
    identity = np.zeros((3, 3))
    identity[1, 1] = 1.0
    laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float)
    return {
        "identity": identity,
        "edge": np.array([[1, 0, -1], [0, 0, 0], [-1, 0, 1]], dtype=float),
        "laplacian (slide: sharpen)": laplacian,
        "sharpen": identity - laplacian,
        "box blur": np.ones((3, 3)) / 9.0,
        "gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=float) / 16.0,
        "sobel x": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=float),
    }


# ---------------------------------------------------------------------------------------
# Checks and padding
# ---------------------------------------------------------------------------------------


def _nhwc(x: Any, name: str = "x") -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 4:
        raise ValueError(
            f"{name} must be a batch of images (N, H, W, C), got shape {a.shape}; "
            f"for one grey image (H, W) pass {name}[None, :, :, None]"
        )
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real numbers, got dtype {a.dtype}")
    return a.astype(np.float64, copy=False)


def _pads(n: int, k: int, stride: int, padding: Padding) -> tuple[int, int]:
    """Zeros (before, after) along one axis; validates via :func:`conv_output_size`."""
    out = conv_output_size(n, k, stride, padding)
    if isinstance(padding, str):  # 'valid' gives 0, 'same' what TF adds
        total = max((out - 1) * stride + k - n, 0)
        return total // 2, total - total // 2
    if isinstance(padding, tuple | list):
        return int(padding[0]), int(padding[1])
    return int(padding), int(padding)


def _windows(x: np.ndarray, kh: int, kw: int, stride: int,
             padding: Padding) -> tuple[np.ndarray, int, int]:
    """All ``kh x kw`` windows of NHWC ``x``: ``(N, out_h, out_w, kh * kw, C)``."""
    n, h, w, c = x.shape
    oh, ow = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    (top, bottom), (left, right) = _pads(h, kh, stride, padding), _pads(w, kw, stride, padding)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    rows, cols = stride * (oh - 1) + 1, stride * (ow - 1) + 1
    shifted = [xp[:, u:u + rows:stride, v:v + cols:stride, :]
               for u in range(kh) for v in range(kw)]
    return np.stack(shifted, axis=3), oh, ow


def _kernel(w: Any, channels: int) -> np.ndarray:
    k = np.asarray(w, dtype=np.float64)
    if k.ndim != 4:
        raise ValueError(
            f"w must be a kernel (kh, kw, C_in, C_out) as in Keras, got shape {k.shape}; "
            f"for one 2-D filter f pass f[:, :, None, None]"
        )
    if k.shape[2] != channels:
        raise ValueError(
            f"w expects C_in={k.shape[2]} input channels but x has C={channels}; "
            f"the kernel's third axis must equal the input's last axis"
        )
    return k


def _bias(b: Any, filters: int) -> np.ndarray:
    if b is None:
        return np.zeros(filters)
    bias = np.asarray(b, dtype=np.float64)
    if bias.shape != (filters,):
        raise ValueError(f"b must have shape ({filters},), one bias per filter, got {bias.shape}")
    return bias


# ---------------------------------------------------------------------------------------
# Convolution: im2col and the naive loops
# ---------------------------------------------------------------------------------------


def im2col(x: Any, kh: int, kw: int, stride: int = 1,
           padding: Padding = "valid") -> tuple[np.ndarray, tuple[int, int]]:
    """Rearrange every receptive field of ``x`` into one row of a matrix.

    Each input pixel appears in up to ``kh * kw`` rows: memory is traded for one big matrix
    product.

    Args:
        x: images ``(N, H, W, C)``, real numbers (converted to float64).
        kh: kernel height (pixels).
        kw: kernel width (pixels).
        stride: step between neighbouring windows (pixels), the same along both axes.
        padding: ``"valid"``, ``"same"`` or an int (zeros on every side).

    Returns:
        A tuple ``(cols, (out_h, out_w))`` with ``cols`` float64 of shape
        ``(N * out_h * out_w, kh * kw * C)``; row ``(n * out_h + i) * out_w + j`` holds the
        window of output pixel ``(n, i, j)``, flattened in the order ``(kh, kw, C)`` of
        ``w.reshape(-1, C_out)``.

    Raises:
        ValueError: if ``x`` is not 4-D, or the sizes do not fit (see
            :func:`helpers.arithmetic.conv_arithmetic.conv_output_size`).
        TypeError: if ``x`` is not real-valued, or a size is not an int.
    """
    a = _nhwc(x)
    windows, oh, ow = _windows(a, kh, kw, stride, padding)
    return windows.reshape(a.shape[0] * oh * ow, kh * kw * a.shape[3]), (oh, ow)


def conv2d_im2col(x: Any, w: Any, b: Any = None, stride: int = 1,
                  padding: Padding = "valid") -> np.ndarray:
    """Cross-correlation as one matrix product: ``im2col(x) @ w.reshape(-1, C_out) + b``.

    Args:
        x: images ``(N, H, W, C_in)``, real numbers.
        w: kernel ``(kh, kw, C_in, C_out)``, as in Keras.
        b: biases ``(C_out,)``, or None for none.
        stride: step (pixels), both axes.
        padding: ``"valid"``, ``"same"`` or an int (zeros on every side).

    Returns:
        Float64 ``(N, out_h, out_w, C_out)``, what ``tf.nn.conv2d`` returns.

    Raises:
        ValueError: if ``x`` or ``w`` is not 4-D, ``w``'s ``C_in`` differs from ``x``'s
            ``C``, ``b`` is not ``(C_out,)``, or the sizes do not fit.
        TypeError: if ``x`` is not real-valued, or a size is not an int.
    """
    a = _nhwc(x)
    k = _kernel(w, a.shape[3])
    kh, kw, _, filters = k.shape
    cols, (oh, ow) = im2col(a, kh, kw, stride, padding)
    out = cols @ k.reshape(-1, filters) + _bias(b, filters)
    return out.reshape(a.shape[0], oh, ow, filters)


def conv2d_naive(x: Any, w: Any, b: Any = None, stride: int = 1,
                 padding: Padding = "valid") -> np.ndarray:
    """The same as :func:`conv2d_im2col`, written as the textbook's loops.

    Loops over every image, output row, output column and filter (slow: one small dot
    product per output value).

    Args:
        x: images ``(N, H, W, C_in)``, real numbers.
        w: kernel ``(kh, kw, C_in, C_out)``, as in Keras.
        b: biases ``(C_out,)``, or None for none.
        stride: step (pixels), both axes.
        padding: ``"valid"``, ``"same"`` or an int (zeros on every side).

    Returns:
        Float64 ``(N, out_h, out_w, C_out)``.

    Raises:
        ValueError: as :func:`conv2d_im2col`.
        TypeError: as :func:`conv2d_im2col`.
    """
    a = _nhwc(x)
    k = _kernel(w, a.shape[3])
    kh, kw, _, filters = k.shape
    bias = _bias(b, filters)
    n, h, wd, _ = a.shape
    oh, ow = conv_output_size(h, kh, stride, padding), conv_output_size(wd, kw, stride, padding)
    (top, bottom), (left, right) = _pads(h, kh, stride, padding), _pads(wd, kw, stride, padding)
    xp = np.pad(a, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out = np.empty((n, oh, ow, filters))
    for m in range(n):
        for i in range(oh):
            for j in range(ow):
                patch = xp[m, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
                for f in range(filters):
                    out[m, i, j, f] = np.sum(patch * k[:, :, :, f]) + bias[f]
    return out


def filter_image(image: Any, kernel: Any, mode: str = "same") -> np.ndarray:
    """Filter a grey or colour image with a 2-D kernel, each channel on its own.

    Cross-correlation with zero padding.

    Args:
        image: a grey ``(H, W)`` or colour ``(H, W, C)`` image, real values.
        kernel: a 2-D filter ``(kh, kw)``.
        mode: ``"same"`` keeps ``H x W``, ``"valid"`` shrinks it to
            ``(H - kh + 1, W - kw + 1)``.

    Returns:
        Float64 ``(H', W')`` or ``(H', W', C)``, in the image's units.

    Raises:
        ValueError: if ``image`` is not 2-D or 3-D, ``kernel`` is not 2-D, ``mode`` is not
            ``"same"``/``"valid"``, or the kernel is larger than the image (``"valid"``).
    """
    img = np.asarray(image)
    if img.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {img.shape}")
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2:
        raise ValueError(f"kernel must be 2-D (kh, kw), got shape {k.shape}")
    if mode not in ("same", "valid"):
        raise ValueError(f"mode must be 'same' or 'valid', got {mode!r}")
    x = img[None, :, :, None] if img.ndim == 2 else np.moveaxis(img, -1, 0)[..., None]
    out = conv2d_im2col(x, k[:, :, None, None], padding=mode)[..., 0]  # (C or 1, H', W')
    return out[0] if img.ndim == 2 else np.moveaxis(out, 0, -1)


# ---------------------------------------------------------------------------------------
# Pooling, layouts, top-k, parameter counts
# ---------------------------------------------------------------------------------------


def pool2d(x: Any, size: int = 2, stride: int | None = None, kind: str = "max") -> np.ndarray:
    """Max or average pooling with ``size x size`` windows and no padding.

    Each channel is pooled on its own.

    Args:
        x: ``(N, H, W, C)``, or one map ``(H, W)``.
        size: the window side (pixels).
        stride: the step (pixels); defaults to ``size`` (Keras' default).
        kind: ``"max"`` or ``"avg"``.

    Returns:
        Float64 ``(N, out_h, out_w, C)``, or ``(out_h, out_w)`` for a single map.

    Raises:
        ValueError: if ``kind`` is not ``"max"``/``"avg"``, ``x`` is neither 2-D nor 4-D, or
            the window does not fit.
    """
    if kind not in ("max", "avg"):
        raise ValueError(f"kind must be 'max' or 'avg', got {kind!r}")
    a = np.asarray(x)
    single = a.ndim == 2
    windows, _, _ = _windows(_nhwc(a[None, :, :, None] if single else a),
                             size, size, size if stride is None else stride, "valid")
    out = windows.max(axis=3) if kind == "max" else windows.mean(axis=3)
    return out[0, :, :, 0] if single else out


def nhwc_to_nchw(x: Any) -> np.ndarray:
    """Channels-last to channels-first: ``(N, H, W, C)`` -> ``(N, C, H, W)``.

    Args:
        x: a batch ``(N, H, W, C)``, real numbers.

    Returns:
        A float64 array ``(N, C, H, W)``.

    Raises:
        ValueError: if ``x`` is not 4-D.
        TypeError: if ``x`` is not real-valued.
    """
    return np.transpose(_nhwc(x), (0, 3, 1, 2))


def nchw_to_nhwc(x: Any) -> np.ndarray:
    """Channels-first to channels-last: ``(N, C, H, W)`` -> ``(N, H, W, C)``.

    Args:
        x: a batch ``(N, C, H, W)``, real numbers.

    Returns:
        A float64 array ``(N, H, W, C)``.

    Raises:
        ValueError: if ``x`` is not 4-D.
        TypeError: if ``x`` is not real-valued.
    """
    return np.transpose(_nhwc(x, "x (N, C, H, W)"), (0, 2, 3, 1))


def top_k_classes(scores: Any, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores per row, best first.

    Ties: lower index first, the rule of
    :func:`helpers.arithmetic.conv_arithmetic.top_k_accuracy`.

    Args:
        scores: ``(N, C)`` probabilities or logits.
        k: how many classes per row, ``1 <= k <= C``.

    Returns:
        An int array ``(N, k)`` of class indices.

    Raises:
        ValueError: if ``scores`` is not 2-D or ``k`` is outside ``[1, C]``.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or not 1 <= k <= s.shape[1]:
        raise ValueError(f"need scores (N, C) and 1 <= k <= C, got shape {s.shape} and k={k}")
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def mlp_weights(layer_sizes: Sequence[int], use_bias: bool = False) -> int:
    """Weights of a fully connected net with these layer widths (input first).

    Args:
        layer_sizes: the widths, input first, e.g. the slide's
            ``(128 * 128 * 3, 16 * 16 * 36, 10)``; at least two.
        use_bias: count the biases too.

    Returns:
        The number of weights, an int.

    Raises:
        ValueError: if fewer than two widths are given.
    """
    if len(layer_sizes) < 2:
        raise ValueError(f"need at least an input and an output width, got {list(layer_sizes)}")
    pairs = zip(layer_sizes[:-1], layer_sizes[1:], strict=True)
    return sum(dense_params(a, b, use_bias) for a, b in pairs)


def mlp_vs_conv_parameters(input_shape: tuple[int, int, int], kernel_size: int, filters: int,
                           stride: int = 1, padding: Padding = "valid",
                           use_bias: bool = False) -> dict[str, int]:
    """Weights needed to produce one output volume three ways.

    The output volume is ``(H', W', filters)`` from ``input_shape`` ``(H, W, C)``:
    ``"fully connected"`` (every output value sees every input value), ``"locally
    connected"`` (each output value sees only its ``k x k x C`` window, with its own weights)
    and ``"convolution"`` (the same window weights shared by all positions).

    Args:
        input_shape: ``(H, W, C)``, pixels and channels, without the batch axis.
        kernel_size: the side ``k`` of the square window (pixels).
        filters: output channels.
        stride: step (pixels).
        padding: ``"valid"``, ``"same"`` or an int.
        use_bias: count one bias per output value (per filter for the convolution).

    Returns:
        A dict ``{"fully connected": int, "locally connected": int, "convolution": int}``.

    Raises:
        ValueError: if the window does not fit the input (see
            :func:`helpers.arithmetic.conv_arithmetic.conv_output_shape`).
    """
    oh, ow, f = conv_output_shape(input_shape, filters, kernel_size, stride, padding)
    n_in, n_out = int(np.prod(input_shape)), oh * ow * f
    window = kernel_size * kernel_size * input_shape[2]
    return {
        "fully connected": dense_params(n_in, n_out, use_bias),
        "locally connected": n_out * (window + int(use_bias)),
        "convolution": conv2d_params(kernel_size, input_shape[2], filters, use_bias),
    }


def conv_shape_table(cases: Sequence[tuple[int, int, int, Padding]],
                     filters: int = 4) -> pd.DataFrame:
    """Output sizes from the formula next to those of a real ``keras.layers.Conv2D``.

    Each case is applied as a ``Conv2D(filters, kernel, strides, padding)`` to zeros
    ``(1, n, n, 1)``.

    Args:
        cases: ``(input size n, kernel, stride, padding)`` tuples, sizes in pixels.
        filters: the layer's output channels.

    Returns:
        A DataFrame with one row per case: ``input`` (``"nxn"``), ``kernel``, ``stride``,
        ``padding``, ``formula`` (the output size) and ``Keras output`` (the shape
        ``(H', W', filters)``).
    """
    rows = []
    for n, k, s, pad in cases:
        layer = keras.layers.Conv2D(filters, k, strides=s, padding=pad)
        shape = tuple(layer(np.zeros((1, n, n, 1), "float32")).shape[1:])
        rows.append({"input": f"{n}x{n}", "kernel": k, "stride": s, "padding": pad,
                     "formula": conv_output_size(n, k, s, pad), "Keras output": shape})
    return pd.DataFrame(rows)


def best_time(fn: Callable[..., Any], *args: Any, repeat: int = 3, **kwargs: Any) -> float:
    """Shortest wall-clock time of ``repeat`` calls ``fn(*args, **kwargs)``.

    Args:
        fn: the function to time.
        *args: its positional arguments.
        repeat: the number of calls.
        **kwargs: its keyword arguments.

    Returns:
        The shortest time, in seconds, a float.
    """
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return min(times)


# ---------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------


def plot_kernels(kernels: Mapping[str, np.ndarray]) -> plt.Figure:
    """One heat map per 2-D kernel with its weights written in (red > 0, blue < 0).

    Each panel is titled with the name and the sum of the weights.

    Args:
        kernels: name -> 2-D kernel ``(kh, kw)``, e.g. :func:`classic_kernels`.

    Returns:
        The matplotlib ``Figure``, one panel per kernel in a row.
    """
    fig, axes = plt.subplots(1, len(kernels), figsize=(2.1 * len(kernels), 2.5), dpi=90,
                             squeeze=False)
    for ax, (name, k) in zip(axes[0], kernels.items(), strict=True):
        m = float(np.abs(k).max()) or 1.0
        ax.imshow(k, cmap="coolwarm", vmin=-m, vmax=m)
        for (i, j), v in np.ndenumerate(k):
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=8)
        ax.set(title=f"{name}\nsum {k.sum():.3g}", xticks=range(k.shape[1]),
               yticks=range(k.shape[0]), xlabel="column v")
        ax.title.set_fontsize(9)
    axes[0, 0].set_ylabel("row u")
    fig.tight_layout()
    return fig


def plot_filtered(images: Mapping[str, np.ndarray],
                  kernels: Mapping[str, np.ndarray]) -> plt.Figure:
    """Grid of filtered images: one row per grey image, one column per kernel.

    Each panel is the filtered image (:func:`filter_image`, ``"same"``).  Kernels whose
    weights sum to 1 are drawn on the input's grey scale (values outside it clipped); the
    others give signed maps, drawn symmetric around 0 (mid-grey) up to the 99th percentile
    of ``|output|``.

    Args:
        images: name -> grey image ``(H, W)``.
        kernels: name -> 2-D kernel ``(kh, kw)``.

    Returns:
        The matplotlib ``Figure``.
    """
    fig, axes = plt.subplots(len(images), len(kernels), squeeze=False, dpi=90,
                             figsize=(1.9 * len(kernels), 2.0 * len(images) + 0.4))
    for r, (iname, img) in enumerate(images.items()):
        for c, (kname, k) in enumerate(kernels.items()):
            ax, out = axes[r, c], filter_image(img, k)
            if np.isclose(k.sum(), 1.0):
                lo, hi = float(img.min()), float(img.max())
            else:
                hi = float(np.percentile(np.abs(out), 99)) or 1.0
                lo = -hi
            ax.imshow(out, cmap="gray", vmin=lo, vmax=hi)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(kname, fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{iname}\n{img.shape[0]} px", fontsize=9)
            if r == len(images) - 1:
                ax.set_xlabel(f"{img.shape[1]} px", fontsize=8)
    fig.suptitle("Classic 3x3 filters (cross-correlation, zero padding, 'same' size)")
    fig.tight_layout()
    return fig


def plot_images(images: Mapping[str, np.ndarray], title: str = "") -> plt.Figure:
    """A row of grey maps ``(H, W)`` with pixel axes, each titled with its name and size.

    Maps of different sizes are drawn at the same width, so coarser ones look blockier.

    Args:
        images: name -> grey map ``(H, W)``.
        title: the figure's title.

    Returns:
        The matplotlib ``Figure``.
    """
    fig, axes = plt.subplots(1, len(images), figsize=(2.6 * len(images), 3.0), dpi=90,
                             squeeze=False)
    for ax, (name, img) in zip(axes[0], images.items(), strict=True):
        ax.imshow(img, cmap="gray")
        ax.set(title=f"{name}\n{img.shape[0]} x {img.shape[1]}", xlabel="column (pixel)")
        ax.title.set_fontsize(9)
    axes[0, 0].set_ylabel("row (pixel)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
