"""Cost tables and plots for the Inception lecture (``course/05_inception.ipynb``).

Everything is read from built Keras models through
:func:`helpers.arithmetic.layer_table.layer_table`:
multiply-adds (MACs) are per image, biases not counted; parameters are
``layer.count_params()`` (biases and BatchNormalization statistics included).  Shapes are
channels-last ``(H, W, C)`` without the batch axis.

>>> import helpers, keras
>>> from helpers.architectures import inception as inc
>>> x = keras.Input((28, 28, 256))
>>> naive = keras.Model(x, inc.inception_naive_module(x, 128, 192, 96, name="naive"))
>>> int(module_branch_table(naive, "naive")["macs"].sum())
854196224
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import numpy as np
import pandas as pd

from helpers.architectures import inception as inc
from helpers.arithmetic.layer_table import layer_table

BRANCH_COLUMNS = ["branch", "ops", "output_shape", "params", "macs"]


# ---------------------------------------------------------------- one module, per branch
def _describe(layer: keras.layers.Layer) -> str | None:
    """A short text for a weighted or pooling layer ("3x3 conv 192", "3x3 max pool")."""
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        stride = "" if tuple(layer.strides) == (1, 1) else f"/{layer.strides[0]}"
        return f"{kh}x{kw}{stride} conv {layer.filters}"
    if isinstance(layer, keras.layers.MaxPooling2D | keras.layers.AveragePooling2D):
        kind = "max" if isinstance(layer, keras.layers.MaxPooling2D) else "avg"
        ph, pw = layer.pool_size
        stride = "" if tuple(layer.strides) == (1, 1) else f"/{layer.strides[0]}"
        return f"{ph}x{pw}{stride} {kind} pool"
    return None


def module_branch_table(model: keras.Model, module: str) -> pd.DataFrame:
    """One row per branch of the Inception module named ``module`` in ``model``.

    A layer ``{module}_{branch}_...`` belongs to branch ``branch`` ("1x1", "3x3", "5x5",
    "pool", ...), as the builders of :mod:`helpers.architectures.inception` name them; the
    1x1 reduce in front of a 3x3 counts in the 3x3 branch, the projection after the pool in
    the pool branch.  Rows follow the order of the concatenation.

    Args:
        model: a built Keras model holding the module.
        module: the module's name (its Concatenate layer's name), e.g. ``"inception_3a"``.

    Returns:
        A DataFrame with columns ``branch``; ``ops``, the conv/pool layers in order;
        ``output_shape`` of the branch (what goes into the concatenation, without the
        batch axis); ``params``; ``macs`` (multiply-adds per image).

    Raises:
        ValueError: if no layer's name starts with ``{module}_``.
    """
    table = layer_table(model).set_index("name")
    prefix = f"{module}_"
    members: dict[str, list[keras.layers.Layer]] = {}
    for layer in model.layers:
        if layer.name.startswith(prefix):
            members.setdefault(layer.name[len(prefix) :].split("_")[0], []).append(layer)
    if not members:
        raise ValueError(f"model {model.name!r} has no layer whose name starts with {prefix!r}")
    by_output = {id(layer.output): b for b, group in members.items() for layer in group}
    concat_inputs = keras.tree.flatten(model.get_layer(module).input)
    order = [by_output[id(t)] for t in concat_inputs if id(t) in by_output]
    order += [b for b in members if b not in order]
    rows = []
    for branch in order:
        group = members[branch]
        names = [layer.name for layer in group]
        ops = [d for d in map(_describe, group) if d is not None]
        rows.append(
            {
                "branch": branch,
                "ops": " -> ".join(ops),
                "output_shape": table.loc[names[-1], "output_shape"],
                "params": int(table.loc[names, "params"].sum()),
                "macs": int(table.loc[names, "macs"].sum()),
            }
        )
    return pd.DataFrame(rows, columns=BRANCH_COLUMNS)


# ---------------------------------------------------------------- the slide's arithmetic
@dataclass(frozen=True)
class SlideTerm:
    """One line of a slide's op count: ``H x W x filters x kh x kw x C_in`` multiply-adds."""

    label: str
    factors: tuple[int, int, int, int, int, int]

    @property
    def macs(self) -> int:
        return int(np.prod(self.factors, dtype=np.int64))


# The five terms of the bottleneck slide (seed 003, "Total: 358 M ops"); 28x28 grid.
SLIDE_BOTTLENECK_TERMS: tuple[SlideTerm, ...] = (
    SlideTerm("1x1 conv, 64", (28, 28, 64, 1, 1, 256)),
    SlideTerm("1x1 conv, 128", (28, 28, 128, 1, 1, 256)),
    SlideTerm("3x3 conv, 192", (28, 28, 192, 3, 3, 64)),
    SlideTerm("5x5 conv, 96", (28, 28, 96, 5, 5, 64)),
    SlideTerm("1x1 conv, 64", (28, 28, 64, 1, 1, 256)),
)


def terms_table(terms: Sequence[SlideTerm]) -> pd.DataFrame:
    """The slide's op-count terms as a table, one row per term.

    Args:
        terms: :class:`SlideTerm` lines, e.g. :data:`SLIDE_BOTTLENECK_TERMS`.

    Returns:
        A DataFrame with columns ``term``, ``product`` (the factors written out) and
        ``macs``.
    """
    return pd.DataFrame(
        {
            "term": [t.label for t in terms],
            "product": [" x ".join(map(str, t.factors)) for t in terms],
            "macs": [t.macs for t in terms],
        }
    )


def plot_branch_macs(naive: pd.DataFrame, bottleneck: pd.DataFrame, ax=None):
    """Grouped bar chart of the ``macs`` column of two :func:`module_branch_table` results.

    Bars are in millions of multiply-adds per image.

    Args:
        naive: the branch table of the naive module.
        bottleneck: the branch table of the module with 1x1 bottlenecks.
        ax: matplotlib Axes to draw on (a new figure when None).

    Returns:
        The matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8), dpi=90)
    branches = list(dict.fromkeys([*naive["branch"], *bottleneck["branch"]]))
    x = np.arange(len(branches))
    pairs = (("naive", naive), ("bottleneck", bottleneck))
    for offset, (label, df) in zip((-0.2, 0.2), pairs, strict=True):
        macs = df.set_index("branch")["macs"].reindex(branches, fill_value=0) / 1e6
        total = df["macs"].sum() / 1e6
        bars = ax.bar(x + offset, macs, width=0.4, label=f"{label} (total {total:,.1f} M)")
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(x, [f"{b} branch" for b in branches])
    ax.set_ylabel("multiply-adds per image (millions)")
    ax.set_xlabel("branch of the module (its 1x1 reduce/projection included)")
    ax.set_title("Inception module on 28x28x256: cost per branch")
    ax.margins(y=0.12)  # room for the bar labels
    ax.legend()
    return ax


# ---------------------------------------------------------------- GoogLeNet
def googlenet_module_table(model: keras.Model) -> pd.DataFrame:
    """One row per Inception module 3a..5b of a :func:`build_googlenet` model.

    Args:
        model: a model built by :func:`helpers.architectures.inception.build_googlenet`.

    Returns:
        A DataFrame with columns ``module``, ``grid`` (H x W), ``in_channels``, the six
        filter numbers of table 1 (``1x1``, ``3x3_reduce``, ``3x3``, ``5x5_reduce``,
        ``5x5``, ``pool_proj``), ``out_channels`` (read from the built concatenation),
        ``params`` and ``macs`` (per image) of the module.
    """
    table = layer_table(model)
    rows = []
    for stage, filters in inc.GOOGLENET_MODULES.items():
        name = f"inception_{stage}"
        concat = model.get_layer(name)
        mine = table["name"].str.startswith(f"{name}_")
        h, w, c_out = concat.output.shape[1:]
        c_in = model.get_layer(f"{name}_1x1").input.shape[-1]
        keys = ("1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool_proj")
        rows.append(
            {
                "module": stage,
                "grid": f"{h}x{w}",
                "in_channels": int(c_in),
                **dict(zip(keys, filters, strict=True)),
                "out_channels": int(c_out),
                "params": int(table.loc[mine, "params"].sum()),
                "macs": int(table.loc[mine, "macs"].sum()),
            }
        )
    return pd.DataFrame(rows)


def params_by_prefix(model: keras.Model, prefixes: Sequence[str]) -> dict[str, int]:
    """Parameters of the layers whose names start with each prefix, the rest as ``"main"``.

    Args:
        model: a built Keras model.
        prefixes: layer-name prefixes, e.g. the auxiliary heads' names.

    Returns:
        A dict ``{"main": ..., prefix: ...}`` of ints; the values add up to
        ``model.count_params()``.
    """
    table = layer_table(model)
    out = {"main": 0, **dict.fromkeys(prefixes, 0)}
    for name, params in zip(table["name"], table["params"], strict=True):
        key = next((p for p in prefixes if name.startswith(p)), "main")
        out[key] += int(params)
    return out


# ---------------------------------------------------------------- factorisation
def kernel_area(model: keras.Model, name: str) -> int:
    """``kh * kw`` of the Conv2D ``name``: its weights per (input, output) channel pair.

    That is ``kernel.size / (C_in * C_out)``, read from the built kernel.

    Args:
        model: a built Keras model.
        name: the name of a Conv2D layer of ``model``.

    Returns:
        ``kh * kw``, an ``int``.
    """
    kernel = model.get_layer(name).kernel
    kh, kw, c_in, c_out = kernel.shape
    assert int(np.prod(kernel.shape)) == kh * kw * c_in * c_out
    return int(kh * kw)


def impulse_extent(kernels: Sequence[tuple[int, int]], size: int = 15) -> tuple[int, int]:
    """(rows, cols) of the input region one output pixel sees through a stack of convolutions.

    The convolutions have the given ``(kh, kw)`` kernels and stride 1: a single 1 in a
    ``size x size`` image is correlated with all-ones kernels in turn ("same" zero padding)
    and the non-zero support of the result is measured.

    Args:
        kernels: ``(kh, kw)`` of each convolution, in pixels.
        size: side of the test image in pixels (larger than the extent).

    Returns:
        ``(rows, cols)`` in pixels, two ints.
    """
    image = np.zeros((size, size))
    image[size // 2, size // 2] = 1.0
    for kh, kw in kernels:
        padded = np.pad(image, ((kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw))
        image = windows.sum(axis=(2, 3))
    rows, cols = np.nonzero(image)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


# ---------------------------------------------------------------- grid reduction
def grid_reduction_options(
    input_shape: tuple[int, int, int] = (35, 35, 288), filters: int = 768
) -> pd.DataFrame:
    """Three ways to halve the grid and widen to ``filters`` channels, built as small models.

    Figures 9 and 10 of Szegedy et al. 2015:

    * "pool -> conv": 3x3/2 max pool, then a 3x3 conv with ``filters``;
    * "conv -> pool": the 3x3 conv at full resolution, then the pool;
    * "parallel": :func:`grid_reduction_block` with InceptionV3's mixed3 numbers
      (3x3/2 conv 384 | 1x1 64 -> 3x3 96 -> 3x3/2 96 | 3x3/2 max pool), the extra
      channels ``filters - 384 - 96`` coming from the pool (``filters=768`` needs
      C = 288).

    Args:
        input_shape: ``(H, W, C)`` of the input grid.
        filters: output channels; must equal ``384 + 96 + C``.

    Returns:
        A DataFrame with columns ``option``; ``after_halving``, the shape of what leaves the
        step that halves the grid (the pool output, or the parallel block's
        concatenation); ``output_shape``; ``macs`` per image.

    Raises:
        ValueError: if ``filters != 384 + 96 + C``.
    """
    if filters - 384 - 96 != input_shape[2]:
        raise ValueError(
            f"the parallel block gives 384 + 96 + C channels; C = {input_shape[2]} gives "
            f"{480 + input_shape[2]}, not filters={filters}"
        )
    conv = {"padding": "same", "activation": "relu"}
    pool = {"pool_size": 3, "strides": 2, "name": "halve"}
    inputs = keras.Input(input_shape)
    options = {
        "pool -> conv": keras.layers.Conv2D(filters, 3, **conv)(
            keras.layers.MaxPooling2D(**pool)(inputs)
        ),
        "conv -> pool": keras.layers.MaxPooling2D(**pool)(
            keras.layers.Conv2D(filters, 3, **conv)(inputs)
        ),
        "parallel": inc.grid_reduction_block(inputs, 384, 64, 96, name="halve"),
    }
    rows = []
    for option, outputs in options.items():
        model = keras.Model(inputs, outputs)
        table = layer_table(model).set_index("name")
        rows.append(
            {
                "option": option,
                "after_halving": table.loc["halve", "output_shape"],
                "output_shape": tuple(outputs.shape[1:]),
                "macs": int(table["macs"].sum()),
            }
        )
    return pd.DataFrame(rows)


def stage_shapes(models: dict[str, keras.Model], names: Sequence[str]) -> pd.DataFrame:
    """Output shape of the layer ``name`` in each model.

    Args:
        models: label -> built Keras model.
        names: layer names present in every model.

    Returns:
        A DataFrame with one row per name (index ``layer``) and one column per model (the
        dict's keys), each cell a shape without the batch axis.
    """
    return pd.DataFrame(
        {
            label: [tuple(model.get_layer(n).output.shape[1:]) for n in names]
            for label, model in models.items()
        },
        index=pd.Index(list(names), name="layer"),
    )


def with_commas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` for display: integer columns as strings with thousands separators.

    ``854196224`` -> ``"854,196,224"``; other columns unchanged.

    Args:
        df: any DataFrame.

    Returns:
        A new DataFrame.
    """
    out = df.copy()
    for column in out.columns:
        if pd.api.types.is_integer_dtype(out[column]):
            out[column] = out[column].map("{:,}".format)
    return out
