"""Weight initialisation: the schemes, what they do to activations in depth, and symmetry.

A dense layer computes ``y = x W + b`` with ``x`` of shape ``(N, n_in)`` and ``W`` of shape
``(n_in, n_out)``.  With zero-mean inputs of variance ``v`` and independent weights of
variance ``Var(W)``, each pre-activation has variance ``n_in Var(W) v``; the schemes choose
``Var(W)`` (weights Gaussian, mean 0; biases 0) so that this product stays near 1:

=============  ======================  ==================================================
scheme         ``Var(W)``              for
=============  ======================  ==================================================
``zero``       0                       (a counter-example: no symmetry breaking)
``small``      ``0.01 ** 2``           "small random numbers" (std 0.01)
``xavier``     ``1 / n_in``            linear / tanh units (Xavier, forward pass only)
``glorot``     ``2 / (n_in + n_out)``  tanh units, forward and backward (Glorot & Bengio)
``he``         ``2 / n_in``            ReLU units, which zero half their inputs (He et al.)
=============  ======================  ==================================================

>>> from helpers.nn.initialisation import init_std
>>> init_std("he", 200, 100)
0.1
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.nn.activations import ACTIVATIONS

__all__ = [
    "SCHEMES", "init_std", "init_weights", "forward_activations", "forward_activation_stats",
    "plot_activation_histograms", "keras_initializer", "build_mlp", "distinct_columns",
]

#: scheme -> one line describing Var(W).
SCHEMES: dict[str, str] = {
    "zero": "W = 0",
    "small": "std 0.01",
    "xavier": "Var(W) = 1 / n_in",
    "glorot": "Var(W) = 2 / (n_in + n_out)",
    "he": "Var(W) = 2 / n_in",
}


def check_scheme(scheme: str) -> None:
    """Check that ``scheme`` is a known initialisation scheme.

    Args:
        scheme: a key of :data:`SCHEMES` (``"zero"``, ``"small"``, ``"xavier"``,
            ``"glorot"``, ``"he"``).

    Raises:
        ValueError: if ``scheme`` is not a key of :data:`SCHEMES`.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown initialisation scheme {scheme!r}: choose from "
                         f"{list(SCHEMES)}")


def init_std(scheme: str, n_in: int, n_out: int) -> float:
    """Standard deviation of the Gaussian weights of a ``(n_in, n_out)`` layer under ``scheme``.

    Args:
        scheme: a key of :data:`SCHEMES` (``"zero"``, ``"small"``, ``"xavier"``,
            ``"glorot"``, ``"he"``).
        n_in: fan-in, the number of inputs of the layer, ``>= 1``.
        n_out: fan-out, the number of units of the layer, ``>= 1``.

    Returns:
        ``sqrt(Var(W))``, a Python float (0.0 for ``"zero"``).

    Raises:
        ValueError: if ``scheme`` is unknown or ``n_in`` or ``n_out`` is ``< 1``.
    """
    check_scheme(scheme)
    if n_in < 1 or n_out < 1:
        raise ValueError(f"n_in and n_out must be >= 1 (fan-in and fan-out of the layer), "
                         f"got {n_in} and {n_out}")
    variance = {"zero": 0.0, "small": 0.01 ** 2, "xavier": 1.0 / n_in,
                "glorot": 2.0 / (n_in + n_out), "he": 2.0 / n_in}[scheme]
    return math.sqrt(variance)


def init_weights(scheme: str, n_in: int, n_out: int,
                 rng: np.random.Generator | int | None = 0) -> np.ndarray:
    """Gaussian weights of a dense layer, mean 0 and :func:`init_std`'s standard deviation.

    Args:
        scheme: a key of :data:`SCHEMES` (``"zero"``, ``"small"``, ``"xavier"``,
            ``"glorot"``, ``"he"``).
        n_in: fan-in, ``>= 1``.
        n_out: fan-out, ``>= 1``.
        rng: a numpy ``Generator`` (used, and advanced, as it is) or a seed for a new one.

    Returns:
        A float64 array of shape ``(n_in, n_out)`` (all zeros for ``"zero"``).

    Raises:
        ValueError: as :func:`init_std`.
    """
    std = init_std(scheme, n_in, n_out)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return rng.normal(0.0, std, size=(n_in, n_out)) if std > 0 else np.zeros((n_in, n_out))


def forward_activations(scheme: str, activation: str, n_layers: int = 10, width: int = 500,
                        batch: int = 1000, seed: int = 0) -> list[np.ndarray]:
    """Push unit-Gaussian data through ``n_layers`` dense layers (numpy, biases 0).

    Args:
        scheme: a key of :data:`SCHEMES`.
        activation: a key of :data:`helpers.nn.activations.ACTIVATIONS` (``"tanh"``, ``"relu"``..).
        n_layers: depth, ``>= 1``.
        width: units of every layer (the input has ``width`` features too), ``>= 1``.
        batch: number of input examples, ``>= 1``.
        seed: seed of the inputs and the weights.

    Returns:
        A list of the ``n_layers`` activations (after the nonlinearity), each float32
        ``(batch, width)``.

    Raises:
        ValueError: if ``scheme`` or ``activation`` is unknown, or ``n_layers``, ``width`` or
            ``batch`` is ``< 1``.
    """
    check_scheme(scheme)
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: choose from "
                         f"{sorted(ACTIVATIONS)}")
    if min(n_layers, width, batch) < 1:
        raise ValueError(f"n_layers, width and batch must be >= 1, got {n_layers}, {width}, "
                         f"{batch}")
    f, _ = ACTIVATIONS[activation]
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((batch, width))
    out = []
    for _ in range(n_layers):
        h = f(h @ init_weights(scheme, width, width, rng))
        out.append(h.astype(np.float32))
    return out


def forward_activation_stats(scheme: str, activation: str, n_layers: int = 10,
                             width: int = 500, batch: int = 1000,
                             seed: int = 0) -> pd.DataFrame:
    """Per-layer statistics of the activations of :func:`forward_activations`.

    Args:
        scheme: a key of :data:`SCHEMES`.
        activation: a key of :data:`helpers.nn.activations.ACTIVATIONS`.
        n_layers: depth.
        width: units of every layer.
        batch: number of input examples.
        seed: seed of the inputs and the weights.

    Returns:
        A DataFrame with one row per layer (1-based index ``layer``) and the columns
        ``mean``, ``std`` and ``fraction zero`` (exactly 0) of the activations.

    Raises:
        ValueError: as :func:`forward_activations`.
    """
    acts = forward_activations(scheme, activation, n_layers, width, batch, seed)
    return pd.DataFrame({
        "layer": np.arange(1, n_layers + 1),
        "mean": [float(a.mean()) for a in acts],
        "std": [float(a.std()) for a in acts],
        "fraction zero": [float(np.mean(a == 0)) for a in acts],
    }).set_index("layer")


def plot_activation_histograms(activation: str,
                               schemes: Sequence[str] = ("small", "xavier", "glorot", "he"),
                               layers: Sequence[int] | None = None, n_layers: int = 10,
                               width: int = 500, batch: int = 1000, seed: int = 0,
                               bins: int = 40) -> plt.Figure:
    """A grid of histograms of the activations: one row per scheme, one column per layer.

    Every panel shows its layer's standard deviation.  All panels share one x range
    (``[-1, 1]`` for tanh; for other activations from the 0.5th to the 99.5th percentile of
    all values), so collapsing activations pile up in a single bin.  Other than for tanh,
    exact zeros (ReLU's switched-off units) are left out of the histograms but counted in
    the std and in the panel's ``zero`` fraction.

    Args:
        activation: ``"tanh"``, ``"relu"``, ... (see :func:`forward_activations`).
        schemes: the rows, keys of :data:`SCHEMES`.
        layers: 1-based layers to show, the columns (default: all ``n_layers``).
        n_layers: depth of the network (as :func:`forward_activations`).
        width: units of every layer.
        batch: number of input examples.
        seed: seed of the inputs and the weights.
        bins: histogram bins per panel.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: if ``schemes`` is empty, ``layers`` is empty or has a layer outside
            ``[1, n_layers]``, or as :func:`forward_activations`.
    """
    if not schemes:
        raise ValueError("schemes is empty: pass at least one initialisation scheme")
    layers = list(range(1, n_layers + 1)) if layers is None else list(layers)
    if not layers or not all(1 <= k <= n_layers for k in layers):
        raise ValueError(f"layers must be non-empty, each in [1, {n_layers}], got {layers}")
    fig, axes = plt.subplots(len(schemes), len(layers), dpi=80, squeeze=False,
                             figsize=(1.6 * len(layers) + 1, 1.5 * len(schemes) + 0.8))
    acts = {s: forward_activations(s, activation, n_layers, width, batch, seed)
            for s in schemes}
    if activation == "tanh":
        value_range = (-1.0, 1.0)
    else:
        shown = [acts[s][k - 1] for s in schemes for k in layers]
        value_range = (min(float(np.percentile(a, 0.5)) for a in shown),
                       max(float(np.percentile(a, 99.5)) for a in shown))
        if value_range[1] <= value_range[0]:
            value_range = (value_range[0] - 1.0, value_range[0] + 1.0)
    for row, scheme in enumerate(schemes):
        for col, k in enumerate(layers):
            ax, a = axes[row, col], acts[scheme][k - 1].ravel()
            ax.hist(a if activation == "tanh" else a[a != 0], bins=bins, range=value_range,
                    color=f"C{row}")
            note = f"std {a.std():.2g}"
            if activation != "tanh":
                note += f"\nzero {np.mean(a == 0):.0%}"
            ax.text(0.97, 0.95, note, transform=ax.transAxes, ha="right", va="top",
                    fontsize=7)
            ax.set_yticks([])
            ax.tick_params(axis="x", labelsize=6)
            if row == 0:
                ax.set_title(f"layer {k}", fontsize=9)
            if col == 0:
                ax.set_ylabel(scheme, fontsize=9)
    fig.suptitle(f"{activation} activations per layer ({width} units, {batch} inputs)")
    fig.supxlabel("activation value", fontsize=9)
    fig.tight_layout()
    return fig


def keras_initializer(scheme: str, seed: int | None = None) -> keras.initializers.Initializer:
    """The Keras kernel initialiser of a scheme.

    Gaussian, as in :func:`init_weights` (Keras' ``GlorotNormal``/``HeNormal`` would truncate
    at 2 std): ``Zeros``, ``RandomNormal(0, 0.01)`` or an untruncated ``VarianceScaling``.

    Args:
        scheme: a key of :data:`SCHEMES`.
        seed: seed of the initialiser (None: not seeded).

    Returns:
        A ``keras.initializers.Initializer``.

    Raises:
        ValueError: if ``scheme`` is unknown.
    """
    check_scheme(scheme)
    if scheme == "zero":
        return keras.initializers.Zeros()
    if scheme == "small":
        return keras.initializers.RandomNormal(0.0, 0.01, seed=seed)
    scale, mode = {"xavier": (1.0, "fan_in"), "glorot": (1.0, "fan_avg"),
                   "he": (2.0, "fan_in")}[scheme]
    return keras.initializers.VarianceScaling(scale, mode, "untruncated_normal", seed=seed)


def build_mlp(scheme: str, hidden: Sequence[int] = (64, 64), activation: str = "sigmoid",
              input_shape: tuple[int, ...] = (28, 28, 1), n_classes: int = 10,
              seed: int = 0) -> keras.Model:
    """An MLP ``Flatten -> Dense(h, activation) ... -> Dense(n_classes, softmax)``.

    Every kernel is initialised with ``scheme`` (biases 0).  Layers are named ``hidden1``,
    ``hidden2``, ..., ``output``.

    Args:
        scheme: a key of :data:`SCHEMES`.
        hidden: the widths of the hidden layers.
        activation: the hidden layers' Keras activation name.
        input_shape: the shape of one input, e.g. ``(28, 28, 1)`` (pixels, channels).
        n_classes: the number of output classes.
        seed: seed of the initialisers (hidden layer ``i`` uses ``seed + i``).

    Returns:
        An uncompiled ``keras.Model`` named ``mlp_<scheme>``,
        ``(batch, *input_shape) -> (batch, n_classes)``.

    Raises:
        ValueError: if ``scheme`` is unknown.
    """
    x = inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(x)
    for i, units in enumerate(hidden, start=1):
        x = keras.layers.Dense(units, activation=activation, name=f"hidden{i}",
                               kernel_initializer=keras_initializer(scheme, seed + i))(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="output",
                                 kernel_initializer=keras_initializer(scheme, seed))(x)
    return keras.Model(inputs, outputs, name=f"mlp_{scheme}")


def distinct_columns(w: np.ndarray, atol: float = 0.0) -> int:
    """Number of different columns (hidden units) of a kernel ``(n_in, n_out)``.

    Columns within ``atol`` (max absolute difference) of an earlier representative are the
    same unit; ``atol = 0`` compares exactly.

    Args:
        w: a dense kernel, shape ``(n_in, n_out)``.
        atol: the tolerance, in the units of the weights.

    Returns:
        The number of distinct columns, an int in ``[1, n_out]`` (0 if ``n_out = 0``).

    Raises:
        ValueError: if ``w`` is not 2-D.
    """
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"w must be a 2-D kernel (n_in, n_out), got shape {w.shape}")
    reps: list[np.ndarray] = []
    for col in w.T:
        if not any(np.max(np.abs(col - r)) <= atol for r in reps):
            reps.append(col)
    return len(reps)


