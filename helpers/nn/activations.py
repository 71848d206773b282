"""Activation functions in numpy, their derivatives, and dying ReLUs counted in Keras models.

Every elementwise activation ``f`` maps an array of pre-activations ``x`` (any shape, any
real values) to an array of the same shape; its derivative ``df`` returns ``f'(x)``
elementwise, the factor backpropagation multiplies the upstream gradient by.  At a kink
(``x = 0`` for the ReLU family) the derivative is the one-sided value deep learning
libraries use: ``relu'(0) = 0``, ``leaky_relu'(0) = alpha``.

Maxout (Goodfellow et al., 2013) is not elementwise: a unit outputs the largest of its
``k`` affine pieces, ``h_i = max_j z_ij``.  :func:`maxout` takes the pieces along an axis
and :func:`maxout_backward` routes the upstream gradient to the winning (argmax) piece,
as max pooling does.  :func:`maxout_unit` is a one-input maxout unit with three fixed
pieces, so that it can be plotted like the others.

>>> import numpy as np
>>> from helpers.nn.activations import ACTIVATIONS
>>> f, df = ACTIVATIONS["relu"]
>>> f(np.array([-1.0, 2.0])), df(np.array([-1.0, 2.0]))
(array([0., 2.]), array([0., 1.]))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = [
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad",
    "leaky_relu", "leaky_relu_grad", "prelu", "prelu_grad", "softplus", "softplus_grad",
    "elu", "elu_grad", "maxout", "maxout_backward", "maxout_unit", "maxout_unit_grad",
    "MAXOUT_UNIT_PIECES", "ACTIVATIONS", "KINKS", "numeric_derivative", "check_derivatives",
    "plot_activations", "relu_layers", "dead_relu_fraction",
]

Array = np.ndarray
Activation = Callable[[Array], Array]


def _check_alpha(alpha: float | Array, name: str) -> None:
    if np.any(np.asarray(alpha) < 0):
        raise ValueError(f"{name} must be >= 0 (the slope for x < 0), got {alpha!r}")


def sigmoid(x: Array) -> Array:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, in ``(0, 1)``; overflow-free for any ``x``.

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values;
            converted to a float64 array.

    Returns:
        ``sigmoid(x)``, a float64 array of the shape of ``x``, values in ``(0, 1)``.
    """
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(x: Array) -> Array:
    """Derivative of the sigmoid, ``sigmoid'(x) = s (1 - s)``.

    At most 0.25 (at 0), vanishing for large ``|x|``.

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values;
            converted to a float64 array.

    Returns:
        ``sigmoid'(x)``, a float64 array of the shape of ``x``, values in ``(0, 0.25]``.
    """
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x: Array) -> Array:
    """Hyperbolic tangent, in ``(-1, 1)``, zero-centred.

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values;
            converted to a float64 array.

    Returns:
        ``tanh(x)``, a float64 array of the shape of ``x``.
    """
    return np.tanh(np.asarray(x, dtype=float))


def tanh_grad(x: Array) -> Array:
    """Derivative of tanh, ``tanh'(x) = 1 - tanh(x)^2``: 1 at 0, vanishing for large ``|x|``.

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values;
            converted to a float64 array.

    Returns:
        ``tanh'(x)``, a float64 array of the shape of ``x``, values in ``(0, 1]``.
    """
    return 1.0 - np.tanh(np.asarray(x, dtype=float)) ** 2


def relu(x: Array) -> Array:
    """Rectified linear unit ``max(0, x)``.

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values;
            converted to a float64 array.

    Returns:
        ``relu(x)``, a float64 array of the shape of ``x``.
    """
    return np.maximum(np.asarray(x, dtype=float), 0.0)


def relu_grad(x: Array) -> Array:
    """Derivative of the ReLU: 1 for ``x > 0``, else 0 (also at 0).

    A unit that is never positive gets no gradient.

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values.

    Returns:
        ``relu'(x)``, a float64 array of 0s and 1s of the shape of ``x``.
    """
    return (np.asarray(x) > 0).astype(float)


def leaky_relu(x: Array, alpha: float = 0.01) -> Array:
    """Leaky ReLU: ``x`` for ``x > 0``, ``alpha x`` otherwise (fixed small slope ``alpha``).

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values;
            converted to a float64 array.
        alpha: the slope for ``x <= 0``, a float ``>= 0``.

    Returns:
        ``leaky_relu(x)``, a float64 array of the shape of ``x``.

    Raises:
        ValueError: if ``alpha < 0``.
    """
    _check_alpha(alpha, "alpha")
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * x)


def leaky_relu_grad(x: Array, alpha: float = 0.01) -> Array:
    """Derivative of the leaky ReLU: 1 for ``x > 0``, ``alpha`` otherwise.

    Never exactly 0 (for ``alpha > 0``), so units cannot die.

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values.
        alpha: the slope for ``x <= 0``, a float ``>= 0``.

    Returns:
        ``leaky_relu'(x)``, a float64 array of the shape of ``x``.

    Raises:
        ValueError: if ``alpha < 0``.
    """
    _check_alpha(alpha, "alpha")
    return np.where(np.asarray(x) > 0, 1.0, alpha)


def prelu(x: Array, alpha: float | Array = 0.25) -> Array:
    """Parametric ReLU (He et al., 2015): a leaky ReLU whose slope ``alpha`` is *learned*.

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values;
            converted to a float64 array.
        alpha: the slope for ``x <= 0``, ``>= 0``: a scalar or an array broadcastable to
            ``x`` (e.g. one slope per channel, shape ``(C,)`` for ``x`` of shape
            ``(N, H, W, C)``); 0.25 is He et al.'s initial value.

    Returns:
        ``prelu(x)``, a float64 array of the shape of ``x``.

    Raises:
        ValueError: if any ``alpha < 0``.
    """
    _check_alpha(alpha, "alpha")
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * x)


def prelu_grad(x: Array, alpha: float | Array = 0.25) -> Array:
    """Derivative ``d prelu / dx``: 1 for ``x > 0``, ``alpha`` otherwise.

    (The gradient with respect to ``alpha`` itself, used to learn it, is ``min(x, 0)``.)

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values;
            converted to a float64 array.
        alpha: the slope for ``x <= 0``, ``>= 0``: a scalar or an array broadcastable to
            ``x`` (e.g. shape ``(C,)`` for ``x`` of shape ``(N, H, W, C)``).

    Returns:
        ``prelu'(x)``, a float64 array of the shape of ``x``.

    Raises:
        ValueError: if any ``alpha < 0``.
    """
    _check_alpha(alpha, "alpha")
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, 1.0, np.broadcast_to(alpha, x.shape).astype(float))


def softplus(x: Array) -> Array:
    """Softplus ``log(1 + exp(x))``: a smooth ReLU, > 0 everywhere; overflow-free.

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values;
            converted to a float64 array.

    Returns:
        ``softplus(x)``, a float64 array of the shape of ``x``, values ``> 0``.
    """
    return np.logaddexp(0.0, np.asarray(x, dtype=float))


def softplus_grad(x: Array) -> Array:
    """Derivative of softplus, ``softplus'(x) = sigmoid(x)``: some gradient for every input.

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values.

    Returns:
        ``softplus'(x)``, a float64 array of the shape of ``x``, values in ``(0, 1)``.
    """
    return sigmoid(x)


def elu(x: Array, alpha: float = 1.0) -> Array:
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha (exp(x) - 1)`` otherwise.

    Saturates at ``-alpha``; smooth at 0 when ``alpha = 1``.

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values;
            converted to a float64 array.
        alpha: the saturation value for ``x -> -inf`` is ``-alpha``; a float ``>= 0``.

    Returns:
        ``elu(x)``, a float64 array of the shape of ``x``.

    Raises:
        ValueError: if ``alpha < 0``.
    """
    _check_alpha(alpha, "alpha")
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x: Array, alpha: float = 1.0) -> Array:
    """Derivative of the ELU: 1 for ``x > 0``, ``alpha exp(x)`` otherwise.

    Args:
        x: pre-activations, any shape (e.g. ``(N, D)`` or ``(N, H, W, C)``), real values;
            converted to a float64 array.
        alpha: the ELU's ``alpha``, a float ``>= 0``.

    Returns:
        ``elu'(x)``, a float64 array of the shape of ``x``.

    Raises:
        ValueError: if ``alpha < 0``.
    """
    _check_alpha(alpha, "alpha")
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def _pieces_view(z: Array, pieces: int, axis: int) -> tuple[Array, int]:
    """``z`` with ``axis`` (length ``units * pieces``) split into ``(units, pieces)``; the
    pieces axis is returned as an index of the new array."""
    z = np.asarray(z, dtype=float)
    if not isinstance(pieces, int | np.integer) or pieces < 1:
        raise ValueError(f"pieces must be a positive int (k affine pieces per unit), "
                         f"got {pieces!r}")
    if z.ndim == 0:
        raise ValueError("maxout needs an array with at least one axis, got a scalar")
    axis = axis % z.ndim
    if z.shape[axis] % pieces:
        raise ValueError(f"axis {axis} of z has length {z.shape[axis]}, not a multiple of "
                         f"pieces={pieces}: lay out the k pieces of each unit side by side "
                         "along that axis (units * pieces values)")
    shape = z.shape[:axis] + (z.shape[axis] // pieces, pieces) + z.shape[axis + 1:]
    return z.reshape(shape), axis + 1


def maxout(z: Array, pieces: int, axis: int = -1) -> Array:
    """Maxout: the maximum over groups of ``pieces`` consecutive values along ``axis``.

    Args:
        z: pre-activations, float; ``axis`` has length ``units * pieces``, unit ``i``'s
            pieces at positions ``i * pieces ... (i + 1) * pieces - 1`` (e.g. a dense layer
            with ``units * pieces`` outputs, shape ``(N, units * pieces)``).
        pieces: ``k``, the number of affine pieces per unit, a positive int (``k = 2`` with
            one piece fixed at 0 is a ReLU).
        axis: the axis holding the pieces (negative values count from the end).

    Returns:
        A float64 array: ``z`` with ``axis`` shrunk to ``units``, e.g. ``(N, units)``.

    Raises:
        ValueError: if ``pieces`` is not a positive int, ``z`` is a scalar, or the length of
            ``axis`` is not a multiple of ``pieces``.
    """
    grouped, piece_axis = _pieces_view(z, pieces, axis)
    return grouped.max(axis=piece_axis)


def maxout_backward(z: Array, upstream: Array, pieces: int, axis: int = -1) -> Array:
    """Gradient of ``sum(upstream * maxout(z))`` with respect to ``z``.

    Each unit's upstream gradient goes to its winning piece (the first one on a tie), the
    others get 0, as in max pooling.

    Args:
        z: the forward input, as for :func:`maxout`, e.g. ``(N, units * pieces)``.
        upstream: gradient with respect to the output, shape of
            ``maxout(z, pieces, axis)``, e.g. ``(N, units)``.
        pieces: ``k``, the number of affine pieces per unit, a positive int.
        axis: the axis of ``z`` holding the pieces.

    Returns:
        The gradient with respect to ``z``, a float64 array shaped like ``z``.

    Raises:
        ValueError: for a bad ``z`` or ``pieces`` (as :func:`maxout`), or if ``upstream``
            does not have the shape of ``maxout(z, pieces, axis)``.
    """
    grouped, piece_axis = _pieces_view(z, pieces, axis)
    upstream = np.asarray(upstream, dtype=float)
    out_shape = grouped.shape[:piece_axis] + grouped.shape[piece_axis + 1:]
    if upstream.shape != out_shape:
        raise ValueError(f"upstream has shape {upstream.shape}, but maxout(z) has shape "
                         f"{out_shape}: pass the gradient with respect to maxout's output")
    winner = np.expand_dims(grouped.argmax(axis=piece_axis), piece_axis)
    onehot = np.arange(pieces).reshape((-1,) + (1,) * (grouped.ndim - piece_axis - 1)) == winner
    return (onehot * np.expand_dims(upstream, piece_axis)).reshape(np.shape(z))


#: (weight, bias) of the three affine pieces of :func:`maxout_unit`, a convex function of x.
MAXOUT_UNIT_PIECES: tuple[tuple[float, float], ...] = ((-0.5, -0.5), (0.25, 0.0), (1.5, -2.0))


def maxout_unit(x: Array) -> Array:
    """A one-input maxout unit with the three pieces :data:`MAXOUT_UNIT_PIECES`.

    Computes ``max_j (w_j x + b_j)``, a convex piecewise-linear function (for plotting).

    Args:
        x: inputs, any shape, real values.

    Returns:
        The unit's outputs, a float64 array of the shape of ``x``.
    """
    x = np.asarray(x, dtype=float)
    z = np.stack([w * x + b for w, b in MAXOUT_UNIT_PIECES], axis=-1)
    return maxout(z, len(MAXOUT_UNIT_PIECES), axis=-1).reshape(x.shape)


def maxout_unit_grad(x: Array) -> Array:
    """Derivative of :func:`maxout_unit`: the slope ``w_j`` of the winning piece.

    Args:
        x: inputs, any shape, real values.

    Returns:
        The slopes, a float64 array of the shape of ``x``.
    """
    x = np.asarray(x, dtype=float)
    z = np.stack([w * x + b for w, b in MAXOUT_UNIT_PIECES], axis=-1)
    slopes = np.array([w for w, _ in MAXOUT_UNIT_PIECES])
    routed = maxout_backward(z, np.ones(x.shape + (1,)), len(MAXOUT_UNIT_PIECES), axis=-1)
    return (routed * slopes).sum(axis=-1)


def _maxout_unit_kinks() -> tuple[float, ...]:
    """x where two neighbouring pieces of :func:`maxout_unit` cross."""
    (w1, b1), (w2, b2), (w3, b3) = MAXOUT_UNIT_PIECES
    return ((b2 - b1) / (w1 - w2), (b3 - b2) / (w2 - w3))


#: name -> (f, f'), elementwise, with the default parameters (leaky 0.01, PReLU 0.25, ELU 1).
ACTIVATIONS: dict[str, tuple[Activation, Activation]] = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "prelu": (prelu, prelu_grad),
    "softplus": (softplus, softplus_grad),
    "elu": (elu, elu_grad),
    "maxout": (maxout_unit, maxout_unit_grad),
}

#: name -> the x where the function is not differentiable (derivative checks avoid them).
KINKS: dict[str, tuple[float, ...]] = {
    "sigmoid": (), "tanh": (), "softplus": (), "elu": (0.0,),
    "relu": (0.0,), "leaky_relu": (0.0,), "prelu": (0.0,), "maxout": _maxout_unit_kinks(),
}


def _lookup(name: str) -> tuple[Activation, Activation]:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def numeric_derivative(f: Activation, x: Array, h: float = 1e-5) -> Array:
    """Central difference ``(f(x + h) - f(x - h)) / 2h`` of an elementwise function.

    The error is ``O(h^2)`` where ``f`` is smooth on ``[x - h, x + h]``.

    Args:
        f: an elementwise function of a float array, e.g. :func:`relu`.
        x: points, any shape, real values.
        h: the step, a float ``> 0``.

    Returns:
        The numeric derivative at ``x``, a float array of the shape of ``x``.

    Raises:
        ValueError: if ``h <= 0``.
    """
    if h <= 0:
        raise ValueError(f"h must be > 0, got {h}")
    x = np.asarray(x, dtype=float)
    return (f(x + h) - f(x - h)) / (2.0 * h)


def _relative_error(a: Array, b: Array) -> Array:
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)


def check_derivatives(names: Sequence[str] | None = None, x: Array | None = None,
                      h: float = 1e-5, margin: float = 1e-3, seed: int = 0) -> pd.DataFrame:
    """Compare every analytic derivative with central differences.

    Args:
        names: activations of :data:`ACTIVATIONS` (default: all).
        x: points to check, any shape (flattened; default: 2,001 points in ``[-5, 5]``).
        h: step of the central difference.
        margin: points closer than ``margin`` to a kink (:data:`KINKS`) are left out.
        seed: seed of the random maxout input of the last row.

    Returns:
        A DataFrame with one row per activation (index ``name``): ``points`` checked and
        the ``max relative error`` ``|a - n| / max(|a|, |n|)``.  A last row
        ``maxout (k=3)`` checks :func:`maxout_backward` on random ``(8, 4 * 3)`` inputs
        against the numeric gradient of ``sum(upstream * maxout(z))``.

    Raises:
        ValueError: if a name is not in :data:`ACTIVATIONS`.
    """
    names = list(ACTIVATIONS) if names is None else list(names)
    x = np.linspace(-5.0, 5.0, 2001) if x is None else np.asarray(x, dtype=float).ravel()
    rows = []
    for name in names:
        f, df = _lookup(name)
        keep = np.all([np.abs(x - k) > margin for k in KINKS[name]], axis=0) \
            if KINKS[name] else np.ones(x.shape, bool)
        err = _relative_error(df(x[keep]), numeric_derivative(f, x[keep], h))
        rows.append({"name": name, "points": int(keep.sum()),
                     "max relative error": float(err.max()) if err.size else 0.0})
    rng = np.random.default_rng(seed)
    z, up = rng.normal(size=(8, 12)), rng.normal(size=(8, 4))
    while np.min(np.abs(np.diff(np.sort(z.reshape(8, 4, 3), axis=-1), axis=-1))) < 10 * h:
        z = rng.normal(size=(8, 12))  # no near-ties: the max must not switch within +-h
    numeric = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[i] = h
        numeric[i] = np.sum(up * (maxout(z + step, 3) - maxout(z - step, 3))) / (2 * h)
    analytic = maxout_backward(z, up, 3)
    zero = (analytic == 0) & (np.abs(numeric) < 1e-9)  # losing pieces: both 0
    err = np.where(zero, 0.0, _relative_error(analytic, numeric))
    rows.append({"name": "maxout (k=3)", "points": int(z.size),
                 "max relative error": float(err.max())})
    return pd.DataFrame(rows).set_index("name")


def plot_activations(names: Sequence[str] | None = None,
                     x: Array | None = None) -> plt.Figure:
    """Plot activations ``f(x)`` (left panel) and their derivatives ``f'(x)`` (right panel).

    Args:
        names: activations of :data:`ACTIVATIONS`, one line each (default: all).
        x: the points to plot, a 1-D array (default: 801 points in ``[-4, 4]``).

    Returns:
        The matplotlib ``Figure``, two panels side by side.

    Raises:
        ValueError: if ``names`` is empty or holds a name not in :data:`ACTIVATIONS`.
    """
    names = list(ACTIVATIONS) if names is None else list(names)
    if not names:
        raise ValueError("names is empty: pass at least one activation name")
    x = np.linspace(-4.0, 4.0, 801) if x is None else np.asarray(x, dtype=float)
    funcs = [_lookup(n) for n in names]
    fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(10, 4), dpi=90)
    for name, (f, df) in zip(names, funcs, strict=True):
        ax_f.plot(x, f(x), label=name)
        ax_d.plot(x, df(x), label=name)
    for ax, title, ylabel in ((ax_f, "activation", "f(x)"), (ax_d, "derivative", "f'(x)")):
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.axvline(0, color="grey", linewidth=0.6)
        ax.set_title(title)
        ax.set_xlabel("pre-activation x")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    ax_f.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _is_relu(layer: keras.layers.Layer) -> bool:
    """Whether ``layer``'s output is a plain ReLU (``max(0, x)``)."""
    if isinstance(layer, keras.layers.ReLU):
        return (layer.max_value is None and float(layer.negative_slope) == 0.0
                and float(layer.threshold) == 0.0)
    return getattr(layer, "activation", None) is keras.activations.relu


def relu_layers(model: keras.Model) -> list[str]:
    """Names of the layers of ``model`` whose output is a plain ReLU (``max(0, x)``).

    These are ``Dense``/``Conv*`` layers with ``activation="relu"``, ``Activation("relu")``
    and plain ``ReLU()`` layers (no ``max_value``, slope or threshold).

    Args:
        model: a Keras model.

    Returns:
        The layer names, a list of str, in the order of ``model.layers``.
    """
    return [layer.name for layer in model.layers if _is_relu(layer)]


def dead_relu_fraction(model: keras.Model, x: Array, layer_names: Sequence[str] | None = None,
                       batch_size: int = 256) -> pd.DataFrame:
    """Count dead ReLU units: units whose output is 0 for *every* input in ``x``.

    A unit of a dense layer is one output feature; a unit of a convolutional layer is a
    channel (channels last), counted dead only if it is 0 at every position of every image.
    A dead unit passes no gradient (``relu'(x) = 0``), so training cannot revive it.

    Args:
        model: a built single-input Keras model (functional, or Sequential with an Input).
        x: inputs, shaped as the model expects, e.g. ``(N, 28, 28, 1)``; ``N >= 1``.
        layer_names: ReLU layers to inspect (default: all, see :func:`relu_layers`).
        batch_size: images per forward pass, ``>= 1``.

    Returns:
        A DataFrame with one row per layer: ``layer``, ``units``, ``dead`` (count),
        ``fraction`` (dead/units).

    Raises:
        ValueError: if ``batch_size < 1``, ``x`` is empty, the model has no defined inputs
            or more than one, a name in ``layer_names`` is not a (ReLU) layer of the model,
            or the model has no ReLU layers.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    x = np.asarray(x)
    if x.ndim < 1 or len(x) == 0:
        raise ValueError("x is empty: pass at least one input (first axis = examples)")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError) as err:  # an unbuilt Sequential model
        raise ValueError("the model has no defined inputs: build it with keras.Input(...) "
                         "or call it once on data before counting dead ReLUs") from err
    if len(inputs) != 1:
        raise ValueError(f"the model has {len(inputs)} inputs; dead_relu_fraction takes "
                         "single-input models (one array x)")
    names = relu_layers(model)
    if layer_names is not None:
        known = {layer.name for layer in model.layers}
        for name in layer_names:
            if name not in known:
                raise ValueError(f"model has no layer {name!r}; its layers: {sorted(known)}")
            if name not in names:
                raise ValueError(f"layer {name!r} is not a ReLU layer; ReLU layers: {names}")
        names = list(layer_names)
    if not names:
        raise ValueError("the model has no ReLU layers (activation='relu', Activation('relu') "
                         "or ReLU())")
    probe = keras.Model(inputs[0], [model.get_layer(n).output for n in names])
    peak: list[Array] | None = None
    for start in range(0, len(x), batch_size):
        outs = probe(x[start:start + batch_size], training=False)
        outs = outs if isinstance(outs, list | tuple) else [outs]
        batch_peak = [np.asarray(o).reshape(-1, np.shape(o)[-1]).max(axis=0) for o in outs]
        peak = batch_peak if peak is None else [np.maximum(p, b)
                                                for p, b in zip(peak, batch_peak, strict=True)]
    rows = []
    for name, p in zip(names, peak, strict=True):
        dead = int(np.sum(p <= 0))
        rows.append({"layer": name, "units": int(p.size), "dead": dead,
                     "fraction": dead / p.size})
    return pd.DataFrame(rows)
