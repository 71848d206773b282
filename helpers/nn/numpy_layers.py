"""Dropout and batch normalisation in numpy, forward and backward side by side.

The interface follows the lecture's code (seed 004) and CS231n's ``layers.py``: every forward
function returns ``(out, cache)`` and its backward function takes ``(dout, cache)``.  Shapes:

* dropout: any shape; ``p`` is the probability of **keeping** a unit (the seed's convention;
  ``keras.layers.Dropout(rate)`` takes the probability of *dropping* one, ``rate = 1 - p``);
* batch normalisation: ``x`` of shape ``(N, D)`` (a fully connected layer's activations),
  ``gamma`` and ``beta`` of shape ``(D,)``; :func:`spatial_batchnorm_forward` handles a
  convolutional ``(N, H, W, C)`` tensor by normalising each channel over ``N, H, W``.

``bn_param`` is a dict that carries the mode and the running statistics between calls:
``mode`` (``"train"`` or ``"test"``), ``eps`` (default 1e-5), ``momentum`` (default 0.9) and
``running_mean`` / ``running_var`` (created as zeros and ones on the first training call).
"""

from __future__ import annotations

from typing import Any

import numpy as np

Cache = tuple[Any, ...]


def _check_mode(mode: object, where: str) -> str:
    if mode not in ("train", "test"):
        raise ValueError(f"{where}: mode must be 'train' or 'test', got {mode!r}")
    return str(mode)


# --------------------------------------------------------------------------------- dropout
def dropout_forward(x: np.ndarray, dropout_param: dict[str, Any]) -> tuple[np.ndarray, Cache]:
    """Inverted dropout forward pass.

    In training each unit is kept with probability ``p`` and the kept ones are divided by
    ``p``, so that ``E[out] = x`` and test mode is the identity (nothing to rescale).

    Args:
        x: the input, an array of any shape, e.g. ``(N, D)``.
        dropout_param: a dict with ``p`` (keep probability, ``0 < p <= 1``), ``mode``
            (``"train"``/``"test"``) and optionally ``seed`` (an int: the same mask on every
            call; without one every call draws a new mask).

    Returns:
        A tuple ``(out, cache)``: ``out`` of the same shape and dtype as ``x`` and the
        ``cache`` for :func:`dropout_backward` (``dropout_param`` and the mask, ``None`` in
        test mode).

    Raises:
        ValueError: if ``mode`` is not ``"train"``/``"test"`` or ``p`` is not in ``(0, 1]``.
    """
    p, mode = dropout_param.get("p"), _check_mode(dropout_param.get("mode"), "dropout_forward")
    if not isinstance(p, int | float) or not 0 < p <= 1:
        raise ValueError(f"dropout_forward: p is the keep probability, in (0, 1]; got {p!r}")
    if mode == "test":
        return x, (dropout_param, None)
    rng = np.random.default_rng(dropout_param.get("seed"))
    mask = (rng.random(x.shape) < p) / p
    return (x * mask).astype(x.dtype, copy=False), (dropout_param, mask)


def dropout_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Backward pass of inverted dropout.

    The gradient flows only through the kept units, scaled by the same ``1/p`` (it *is* the
    mask); in test mode ``dx = dout``.

    Args:
        dout: the upstream gradient, the shape of ``x``, e.g. ``(N, D)``.
        cache: the cache returned by :func:`dropout_forward`.

    Returns:
        ``dx``, the gradient with respect to ``x``, of the same shape.
    """
    dropout_param, mask = cache
    return dout if dropout_param["mode"] == "test" else dout * mask


# ------------------------------------------------------------------ batch normalisation
def _running_stats(bn_param: dict[str, Any], d: int, dtype: np.dtype) -> tuple[np.ndarray, ...]:
    mean = bn_param.get("running_mean")
    var = bn_param.get("running_var")
    return (np.zeros(d, dtype) if mean is None else mean,
            np.ones(d, dtype) if var is None else var)


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                      bn_param: dict[str, Any]) -> tuple[np.ndarray, Cache]:
    """Batch normalisation forward pass, ``x`` ``(N, D)`` -> ``out`` ``(N, D)``.

    Train mode: normalise with the mini-batch mean and (biased, 1/N) variance, then update
    ``running_mean = momentum * running_mean + (1 - momentum) * mean`` and the same for the
    variance, in ``bn_param``.  Test mode: normalise with the stored running statistics; no
    batch statistics are used, so one example's output does not depend on the others.

    Args:
        x: the activations of a fully connected layer, shape ``(N, D)``.
        gamma: the scale, shape ``(D,)``.
        beta: the shift, shape ``(D,)``.
        bn_param: a dict with ``mode`` (``"train"``/``"test"``) and optionally ``eps``
            (default 1e-5), ``momentum`` (default 0.9), ``running_mean`` and
            ``running_var`` (shape ``(D,)``; zeros and ones when absent).  Updated in place
            in train mode.

    Returns:
        A tuple ``(out, cache)``: ``out`` of shape ``(N, D)`` and the ``cache`` for
        :func:`batchnorm_backward` / :func:`batchnorm_backward_alt`.

    Raises:
        ValueError: if ``mode`` is not ``"train"``/``"test"``, or ``x`` is not 2-D with
            ``gamma`` and ``beta`` of shape ``(D,)`` (for ``(N, H, W, C)`` use
            :func:`spatial_batchnorm_forward`).
    """
    mode = _check_mode(bn_param.get("mode"), "batchnorm_forward")
    if x.ndim != 2 or gamma.shape != (x.shape[1],) or beta.shape != (x.shape[1],):
        raise ValueError(f"batchnorm_forward expects x (N, D) with gamma and beta (D,); got x "
                         f"{x.shape}, gamma {gamma.shape}, beta {beta.shape}. For a conv "
                         "tensor (N, H, W, C) use spatial_batchnorm_forward.")
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    running_mean, running_var = _running_stats(bn_param, x.shape[1], x.dtype)
    if mode == "test":
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        return gamma * x_hat + beta, ("test", x_hat, gamma, np.sqrt(running_var + eps))
    # the staged computation of the seed: each step is one node of the graph
    mu = x.mean(axis=0)                   # step 1: mini-batch mean          (D,)
    xmu = x - mu                          # step 2: centre                   (N, D)
    sq = xmu ** 2                         # step 3                           (N, D)
    var = sq.mean(axis=0)                 # step 4: biased variance          (D,)
    sqrtvar = np.sqrt(var + eps)          # step 5                           (D,)
    invvar = 1.0 / sqrtvar                # step 6                           (D,)
    x_hat = xmu * invvar                  # step 7: normalised               (N, D)
    out = gamma * x_hat + beta            # steps 8-9: scale and shift       (N, D)
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    return out, ("train", xmu, var, sqrtvar, invvar, x_hat, gamma, eps)


def batchnorm_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    """Backward pass of batch normalisation through the staged graph, step by step in reverse.

    Follows the steps of :func:`batchnorm_forward` one at a time.  Unlike the seed's printed
    version (which unpacks 11 names from a cache of 12 and then uses ``invvar``, which it
    never unpacked), every cached value is unpacked by name.  A test-mode cache gives the
    gradients of the per-feature affine map ``gamma / sqrt(running_var + eps)``.

    Args:
        dout: the upstream gradient, shape ``(N, D)``.
        cache: the cache returned by :func:`batchnorm_forward`.

    Returns:
        A tuple ``(dx, dgamma, dbeta)`` of shapes ``(N, D)``, ``(D,)``, ``(D,)``.
    """
    if cache[0] == "test":
        return _batchnorm_backward_test(dout, cache)
    _, xmu, var, sqrtvar, invvar, x_hat, gamma, eps = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)                           # step 9
    dgamma = (x_hat * dout).sum(axis=0)                # step 8
    dx_hat = gamma * dout
    dxmu = invvar * dx_hat                             # step 7, path through xmu
    dinvvar = (xmu * dx_hat).sum(axis=0)               # step 7, path through invvar
    dsqrtvar = -dinvvar / sqrtvar ** 2                 # step 6
    dvar = 0.5 * dsqrtvar / np.sqrt(var + eps)         # step 5
    dsq = np.full_like(dout, 1.0 / n) * dvar           # step 4
    dxmu = dxmu + 2 * xmu * dsq                        # step 3
    dmu = -dxmu.sum(axis=0)                            # step 2, path through mu
    dx = dxmu + dmu / n                                # steps 2 and 1
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    """Backward pass of batch normalisation in closed form (the staged graph simplified on paper).

        dx = gamma / (N * sqrt(var + eps)) * (N * dout - sum(dout) - x_hat * sum(dout * x_hat))

    Args:
        dout: the upstream gradient, shape ``(N, D)``.
        cache: the cache returned by :func:`batchnorm_forward`.

    Returns:
        A tuple ``(dx, dgamma, dbeta)`` of shapes ``(N, D)``, ``(D,)``, ``(D,)``, the same
        as :func:`batchnorm_backward`.
    """
    if cache[0] == "test":
        return _batchnorm_backward_test(dout, cache)
    _, _, _, _, invvar, x_hat, gamma, _ = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (x_hat * dout).sum(axis=0)
    dx = gamma * invvar / n * (n * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def _batchnorm_backward_test(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    """Test mode is an affine map per feature: ``dx = gamma / sqrt(running_var + eps) * dout``."""
    _, x_hat, gamma, scale = cache
    return gamma / scale * dout, (x_hat * dout).sum(axis=0), dout.sum(axis=0)


def spatial_batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                              bn_param: dict[str, Any]) -> tuple[np.ndarray, Cache]:
    """BatchNormalization after a convolution: ``x`` ``(N, H, W, C)`` -> ``(N, H, W, C)``.

    Each channel is normalised over the ``N * H * W`` positions, by
    :func:`batchnorm_forward` on ``x`` reshaped to ``(N * H * W, C)``.

    Args:
        x: a convolutional feature map, shape ``(N, H, W, C)`` (channels last).
        gamma: the scale, shape ``(C,)``.
        beta: the shift, shape ``(C,)``.
        bn_param: as for :func:`batchnorm_forward` (running statistics of shape ``(C,)``).

    Returns:
        A tuple ``(out, cache)``: ``out`` of shape ``(N, H, W, C)`` and the ``cache`` for
        :func:`spatial_batchnorm_backward`.

    Raises:
        ValueError: if ``x`` is not 4-D, or as :func:`batchnorm_forward`.
    """
    if x.ndim != 4:
        raise ValueError(f"spatial_batchnorm_forward expects (N, H, W, C), got {x.shape}")
    out, cache = batchnorm_forward(x.reshape(-1, x.shape[-1]), gamma, beta, bn_param)
    return out.reshape(x.shape), (x.shape, cache)


def spatial_batchnorm_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    """Backward pass of :func:`spatial_batchnorm_forward`.

    Args:
        dout: the upstream gradient, shape ``(N, H, W, C)``.
        cache: the cache returned by :func:`spatial_batchnorm_forward`.

    Returns:
        A tuple ``(dx, dgamma, dbeta)`` of shapes ``(N, H, W, C)``, ``(C,)``, ``(C,)``.
    """
    shape, inner = cache
    dx, dgamma, dbeta = batchnorm_backward_alt(dout.reshape(-1, shape[-1]), inner)
    return dx.reshape(shape), dgamma, dbeta


# ------------------------------------------------------------------ normalisation variants
#: Axes of an NHWC tensor each normalisation averages over (group norm: see group_norm).
NORM_AXES = {"batch": (0, 1, 2), "layer": (1, 2, 3), "instance": (1, 2)}


def normalise(x: np.ndarray, kind: str, groups: int = 1, eps: float = 1e-5) -> np.ndarray:
    """Normalise ``x`` ``(N, H, W, C)`` to zero mean, unit variance over the axes of ``kind``.

    ``"batch"`` (per channel, over N, H, W), ``"layer"`` (per example, over H, W, C),
    ``"instance"`` (per example and channel, over H, W) or ``"group"`` (per example and group
    of ``C // groups`` channels, over H, W and the group).  No gamma/beta.

    Args:
        x: a feature map, shape ``(N, H, W, C)`` (channels last).
        kind: ``"batch"``, ``"layer"``, ``"instance"`` or ``"group"``.
        groups: the number of channel groups ``G`` for ``"group"``; must divide ``C``.
        eps: added to the variance before the square root.

    Returns:
        The normalised array, same shape ``(N, H, W, C)``.

    Raises:
        ValueError: if ``x`` is not 4-D, ``kind`` is unknown, or for ``"group"`` if
            ``groups < 1`` or does not divide ``C``.
    """
    if x.ndim != 4:
        raise ValueError(f"normalise expects an (N, H, W, C) tensor, got shape {x.shape}")
    if kind == "group":
        n, h, w, c = x.shape
        if groups < 1 or c % groups:
            raise ValueError(f"group norm needs a number of groups dividing C={c}, got {groups}")
        g = x.reshape(n, h, w, groups, c // groups)
        mean = g.mean(axis=(1, 2, 4), keepdims=True)
        var = g.var(axis=(1, 2, 4), keepdims=True)
        return ((g - mean) / np.sqrt(var + eps)).reshape(x.shape)
    if kind not in NORM_AXES:
        raise ValueError(f"kind must be one of {[*NORM_AXES, 'group']}, got {kind!r}")
    axes = NORM_AXES[kind]
    return (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


# ------------------------------------------------------------------ BN folding (inference)
def fold_batchnorm(kernel: np.ndarray, bias: np.ndarray | None, gamma: np.ndarray,
                   beta: np.ndarray, mean: np.ndarray, var: np.ndarray,
                   eps: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Fold an inference-mode BatchNormalization into the convolution (or dense layer) before it.

    Seed 004, algorithm 2, step 11: ``BN(conv(x)) = conv'(x)`` with

        scale   = gamma / sqrt(var + eps)                  (C_out,)
        kernel' = kernel * scale   (over the last axis: (kh, kw, C_in, C_out) or (D_in, D_out))
        bias'   = (bias - mean) * scale + beta             (C_out,)

    Args:
        kernel: the layer's weights, shape ``(kh, kw, C_in, C_out)`` or ``(D_in, D_out)``.
        bias: the layer's bias, shape ``(C_out,)``, or None if the layer has no bias.
        gamma: BN scale, shape ``(C_out,)``.
        beta: BN shift, shape ``(C_out,)``.
        mean: BN moving mean, shape ``(C_out,)``.
        var: BN moving variance, shape ``(C_out,)``.
        eps: BN epsilon; defaults to Keras' 1e-3.

    Returns:
        A tuple ``(kernel', bias')`` of the shapes of ``kernel`` and ``(C_out,)``.

    Raises:
        ValueError: if ``gamma``, ``beta``, ``mean`` or ``var`` does not have shape
            ``(C_out,)``.
    """
    c_out = kernel.shape[-1]
    for name, value in (("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var)):
        if np.shape(value) != (c_out,):
            raise ValueError(f"fold_batchnorm: {name} must have shape ({c_out},) to match the "
                             f"kernel's {c_out} output channels, got {np.shape(value)}")
    scale = gamma / np.sqrt(var + eps)
    bias = np.zeros(c_out, kernel.dtype) if bias is None else bias
    return kernel * scale, (bias - mean) * scale + beta
