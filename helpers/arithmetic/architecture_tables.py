"""Tables and plots for the classic architectures lecture (LeNet, AlexNet, ZFNet, VGG).

* :func:`conv_pattern` reads a chain-shaped Keras model as an instance of the pattern
  ``INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC``;
* :func:`params_table` builds several models one after the other and counts their
  weight layers and parameters (VGG configurations A-E);
* :func:`memory_table` and :func:`memory_totals`: per-layer activation values/bytes and
  parameters of the input, convolution, pooling and fully connected layers, the rows of
  the lecture's VGG16 memory table;
* :func:`plot_params_and_memory`: bar charts of both columns of a :func:`memory_table`.

All counts are per image (batch size 1); memory in bytes with ``bytes_per_value`` bytes
per value (4 for float32); MB are 10**6 bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import matplotlib.pyplot as plt
import pandas as pd

from helpers.arithmetic.layer_table import layer_table

CONV_TYPES = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
POOL_TYPES = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
_FLATTEN_TYPES = (
    keras.layers.Flatten,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalMaxPooling2D,
)
_KIND = {"InputLayer": "input", "Conv2D": "conv", "DepthwiseConv2D": "conv",
         "SeparableConv2D": "conv", "MaxPooling2D": "pool", "AveragePooling2D": "pool",
         "Dense": "fc"}
_COLOURS = {"input": "tab:gray", "conv": "tab:blue", "pool": "tab:green", "fc": "tab:red"}
TABLE_TYPES = ("InputLayer", "Conv2D", "DepthwiseConv2D", "SeparableConv2D",
               "MaxPooling2D", "AveragePooling2D", "Dense")
"""Layer types that get a row in :func:`memory_table`."""


def _activation_name(layer: keras.layers.Layer) -> str:
    fn = getattr(layer, "activation", None)
    return getattr(fn, "__name__", "linear") if fn is not None else "linear"


@dataclass(frozen=True)
class ConvPattern:
    """A model read as ``INPUT -> [[CONV -> ACT]*N -> POOL?]*M -> [FC -> ACT]*K -> FC``.

    Attributes:
        stages: one ``(n_convs, pooled)`` per stage, i.e. the convolutions up to and
            including a pooling layer (the last stage may end without one).
        hidden_fc: K, the fully connected layers before the output layer.
        activation: the hidden layers' activation (e.g. ``"relu"``, ``"tanh"``).
        skipped: types of the layers the pattern leaves out (dropout, LRN, flatten, ...).
    """

    stages: tuple[tuple[int, bool], ...]
    hidden_fc: int
    activation: str
    skipped: tuple[str, ...] = ()

    @property
    def n(self) -> tuple[int, ...]:
        """N of each stage: convolutions before its pool."""
        return tuple(n for n, _ in self.stages)

    @property
    def m(self) -> int:
        """M: the number of stages."""
        return len(self.stages)

    def formula(self) -> str:
        """The pattern with this model's N, M and K, equal consecutive stages grouped.

        Returns:
            A str such as ``"INPUT -> [[CONV -> RELU]*2 -> POOL]*2 -> [FC -> RELU]*2 -> FC"``.
        """
        act = self.activation.upper()
        parts = ["INPUT"]
        i = 0
        while i < len(self.stages):
            j = i
            while j < len(self.stages) and self.stages[j] == self.stages[i]:
                j += 1
            n, pooled = self.stages[i]
            conv = f"CONV -> {act}" if n == 1 else f"[CONV -> {act}]*{n}"
            stage = conv + (" -> POOL" if pooled else "")
            parts.append(stage if j - i == 1 else f"[{stage}]*{j - i}")
            i = j
        if self.hidden_fc:
            fc = f"FC -> {act}"
            parts.append(fc if self.hidden_fc == 1 else f"[{fc}]*{self.hidden_fc}")
        parts.append("FC")
        return " -> ".join(parts)


def conv_pattern(model: keras.Model) -> ConvPattern:
    """Read a chain-shaped model (LeNet, AlexNet, ZFNet, VGG, ...) as the conv pattern.

    Convolutions count towards the current stage's N, a 2-D pooling layer closes the stage,
    Dense layers are the FC part (the last one is the output).  Activation layers set the
    activation of the layer before; other layers are listed in ``skipped``.

    Args:
        model: a chain-shaped Keras model.

    Returns:
        A :class:`ConvPattern`; its ``activation`` is the most common activation of the
        hidden layers.

    Raises:
        ValueError: if a convolution comes after a Dense layer, or the model has no Dense
            layer.
    """
    stages: list[tuple[int, bool]] = []
    dense: list[str] = []
    acts: list[str] = []
    skipped: list[str] = []
    n = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, CONV_TYPES):
            if dense:
                raise ValueError(f"convolution {layer.name!r} after a Dense layer: not a chain")
            n += 1
            acts.append(_activation_name(layer))
        elif isinstance(layer, POOL_TYPES):
            stages.append((n, True))
            n = 0
        elif isinstance(layer, keras.layers.Dense):
            dense.append(_activation_name(layer))
        elif isinstance(layer, keras.layers.Activation | keras.layers.ReLU) and (acts or dense):
            name = "relu" if isinstance(layer, keras.layers.ReLU) else _activation_name(layer)
            (dense if dense else acts)[-1] = name
        else:
            if isinstance(layer, _FLATTEN_TYPES) and n:
                stages.append((n, False))
                n = 0
            if type(layer).__name__ not in skipped:
                skipped.append(type(layer).__name__)
    if n:
        stages.append((n, False))
    if not dense:
        raise ValueError(f"model {model.name!r} has no Dense layer: no FC part to read")
    hidden = acts + dense[:-1]
    activation = max(set(hidden), key=hidden.count) if hidden else "linear"
    return ConvPattern(tuple(stages), len(dense) - 1, activation, tuple(skipped))


def params_table(builders: Mapping[str, Callable[[], keras.Model]]) -> pd.DataFrame:
    """Build each model in turn and count its weight layers and parameters.

    Each model is dropped and the Keras session cleared before the next build, so only one
    full-size model is in memory at a time.

    Args:
        builders: name -> a function of no arguments that builds a Keras model.

    Returns:
        A DataFrame with one row per ``builders`` entry and the columns ``model`` (the
        mapping's key), ``weight_layers`` (convolutions + Dense layers), ``params``
        (``count_params``) and ``params_millions`` (rounded to an int, as in the VGG paper's
        table 2).
    """
    rows = []
    for key, build in builders.items():
        model = build()
        n_weight = sum(isinstance(layer, CONV_TYPES + (keras.layers.Dense,))
                       for layer in model.layers)
        params = int(model.count_params())
        rows.append({"model": key, "weight_layers": n_weight, "params": params,
                     "params_millions": round(params / 1e6)})
        del model
        keras.backend.clear_session()
    return pd.DataFrame(rows)


def _weights(layer: keras.layers.Layer) -> int:
    """Parameters without biases (kernel entries; 0 for layers without a kernel)."""
    kernels = [layer.depthwise_kernel, layer.pointwise_kernel] \
        if isinstance(layer, keras.layers.SeparableConv2D) \
        else [getattr(layer, "kernel", None)]
    return sum(math.prod(k.shape) for k in kernels if k is not None)


def memory_table(model: keras.Model, bytes_per_value: int = 4) -> pd.DataFrame:
    """The input, convolution, pooling and Dense rows of :func:`layer_table`, with memory.

    A Sequential model, which has no InputLayer, gets an ``input`` row.  Activation,
    normalisation, dropout and flatten layers are left out: frameworks usually compute them
    in place or they only relabel memory.

    Args:
        model: a built Keras model.
        bytes_per_value: bytes per activation value (4 for float32).

    Returns:
        A DataFrame with columns ``name, type, output_shape`` (without the batch axis);
        ``activations`` (values per image); ``bytes`` (``activations * bytes_per_value``);
        ``weights`` (kernel entries, no biases, as the lecture's table counts them);
        ``params`` (with biases, as Keras counts them).

    Raises:
        TypeError: as :func:`helpers.arithmetic.layer_table.layer_table`.
        ValueError: as :func:`helpers.arithmetic.layer_table.layer_table`.
    """
    df = layer_table(model)
    if df.empty or df.loc[0, "type"] != "InputLayer":
        shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        first = {"name": "input", "type": "InputLayer", "output_shape": shape, "params": 0,
                 "macs": 0, "activations": math.prod(shape)}
        df = pd.concat([pd.DataFrame([first]), df], ignore_index=True)
    df = df[df["type"].isin(TABLE_TYPES)].reset_index(drop=True)
    df.loc[df["type"] == "InputLayer", "name"] = "input"
    df["bytes"] = df["activations"] * int(bytes_per_value)
    by_name = {layer.name: layer for layer in model.layers}
    df["weights"] = [_weights(by_name[n]) if t != "InputLayer" else 0
                     for n, t in zip(df["name"], df["type"], strict=True)]
    columns = ["name", "type", "output_shape", "activations", "bytes", "weights", "params"]
    return df[columns].astype({"activations": "int64", "bytes": "int64", "weights": "int64"})


def memory_totals(table: pd.DataFrame) -> dict[str, int | float]:
    """Sums of a :func:`memory_table`.

    Args:
        table: a DataFrame returned by :func:`memory_table`.

    Returns:
        A dict with ``activations``, ``bytes``, ``weights`` and ``params`` (ints) and
        ``megabytes`` (10**6 bytes, float).
    """
    totals: dict[str, int | float] = {
        c: int(table[c].sum()) for c in ("activations", "bytes", "weights", "params")
    }
    totals["megabytes"] = totals["bytes"] / 1e6
    return totals


def plot_params_and_memory(table: pd.DataFrame, title: str, log: bool = True) -> plt.Figure:
    """Two bar charts over the rows of a :func:`memory_table`: parameters and activation memory.

    Parameters are a count, activation memory is in MB (10**6 bytes) per image; both
    log-scaled by default, bars coloured by layer kind; layers without parameters are marked
    "0".

    Args:
        table: a DataFrame returned by :func:`memory_table`.
        title: the model's name, used in the panel titles.
        log: log-scale the y axes.

    Returns:
        The matplotlib ``Figure``, two panels sharing the layer axis.
    """
    fig, (ax_p, ax_m) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True, dpi=90)
    kinds = table["type"].map(_KIND).fillna("other")
    colours = [_COLOURS.get(kind, "tab:gray") for kind in kinds]
    x = list(range(len(table)))
    params = table["params"].astype(float)
    ax_p.bar(x, params.where(params > 0), color=colours)
    ax_p.set_ylabel("parameters (count)")
    ax_p.set_title(f"{title}: parameters per layer (with biases)")
    ax_m.bar(x, table["bytes"] / 1e6, color=colours)
    ax_m.set_ylabel("activations (MB per image)")
    ax_m.set_title(f"{title}: activation memory per layer (output values x bytes per value)")
    ax_m.set_xticks(x, table["name"], rotation=70, ha="right", fontsize=8)
    ax_m.set_xlabel("layer")
    for ax in (ax_p, ax_m):
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    if log:
        ax_p.set_ylim(bottom=1)
    bottom = ax_p.get_ylim()[0]
    for i in (i for i in x if params.iloc[i] == 0):
        ax_p.text(i, bottom * (1.3 if log else 1), "0", ha="center", va="bottom", fontsize=8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=_COLOURS[k]) for k in _COLOURS if k in set(kinds)]
    ax_p.legend(handles, [k for k in _COLOURS if k in set(kinds)], loc="upper left", fontsize=8,
                ncol=4)
    fig.tight_layout()
    return fig
