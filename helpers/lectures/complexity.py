"""Cost against accuracy of the classic ImageNet CNNs, and the efficient designs' arithmetic.

* :data:`PUBLISHED`: single-crop ImageNet top-1 accuracies (ILSVRC-2012 validation set), each
  with its source; the torchvision "GFLOPS" (which count multiply-adds) as an outside check.
* :func:`complexity_table`: parameters and multiply-adds per image COMPUTED with
  :func:`helpers.arithmetic.layer_table.layer_table` from the course's builders at 224x224 (AlexNet
  227x227, Inception-v3 299x299), next to the published accuracy.  Inception-v4 has no
  whole-network builder here: its cost is the published one and the table says so.  Each
  full-size model is built once per process (:func:`model_cost` caches the result).
* :func:`plot_complexity`: top-1 accuracy against GMACs (log axis), marker area ~ parameters.
* :func:`separable_vs_standard`, :func:`mobilenet_width_table`, :func:`mobilenet_cost_shares`:
  depthwise separable convolutions and MobileNet's width multiplier, counted on Keras models.
* :func:`cell_table`, :func:`type_summary`: NASNet cell descriptions and layer tables, readable.

Units: ``params`` and ``macs`` are counts per image (one MAC = one multiply-add, biases not
counted); ``gmacs`` is ``macs / 1e9``; accuracies are in percent.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.architectures.classic import build_alexnet, build_vgg
from helpers.architectures.densenet import build_densenet
from helpers.architectures.inception import build_googlenet, build_inception_v3
from helpers.architectures.mobilenet import build_mobilenet_v1, mobilenet_v1_table
from helpers.architectures.nasnet import CellDescription
from helpers.architectures.resnet import build_resnet
from helpers.arithmetic.layer_table import layer_table, layer_table_totals

TORCHVISION = "torchvision model docs, IMAGENET1K_V1 weights (pytorch.org/vision/stable/models)"


@dataclass(frozen=True)
class Published:
    """Published figures of one ImageNet model.

    Attributes:
        top1: single-crop top-1 accuracy in percent on the ILSVRC-2012 validation set.
        source: where ``top1`` (and ``params``/``gmacs`` when given) come from.
        reference_gmacs: an independent count of multiply-adds per image in billions
            (torchvision's "GFLOPS" column) to check ours against; None if there is none.
        params, gmacs: published cost, used only for models we do not build.
    """

    top1: float
    source: str
    reference_gmacs: float | None = None
    params: int | None = None
    gmacs: float | None = None


PUBLISHED: dict[str, Published] = {
    "AlexNet": Published(56.522, TORCHVISION + "; one-GPU AlexNet variant", 0.714),
    "VGG-16": Published(71.592, TORCHVISION, 15.470),
    "VGG-19": Published(72.376, TORCHVISION, 19.632),
    "GoogLeNet": Published(69.778, TORCHVISION, 1.498),
    "Inception-v3": Published(77.294, TORCHVISION + "; 299x299 crop", 5.713),
    "Inception-v4": Published(
        80.0, "Szegedy et al. 2016 (arXiv:1602.07261) table 2: top-1 error 20.0 %; cost from "
        "the timm model card inception_v4.tf_in1k: 42.7 M params, 12.3 GMACs at 299x299",
        params=42_700_000, gmacs=12.3),
    "ResNet-18": Published(69.758, TORCHVISION, 1.814),
    "ResNet-34": Published(73.314, TORCHVISION, 3.664),
    "ResNet-50": Published(76.130, TORCHVISION, 4.089),
    "ResNet-101": Published(77.374, TORCHVISION, 7.801),
    "ResNet-152": Published(78.312, TORCHVISION, 11.514),
    "DenseNet-121": Published(74.434, TORCHVISION, 2.834),
    "MobileNet": Published(70.6, "Howard et al. 2017 (arXiv:1704.04861) tables 6 and 8"),
}

#: name -> (builder of the full-size model with 1000 classes, input side in pixels).
ARCHITECTURES: dict[str, tuple[Callable[[], keras.Model], int]] = {
    # The paper's AlexNet: two towers (CONV2, 4, 5 grouped), 227x227 input.
    "AlexNet": (lambda: build_alexnet(two_tower=True), 227),
    "VGG-16": (lambda: build_vgg("D"), 224),
    "VGG-19": (lambda: build_vgg("E"), 224),
    # Inference cost: the auxiliary classifiers only exist during training.
    "GoogLeNet": (lambda: build_googlenet(aux_classifiers=False), 224),
    "Inception-v3": (build_inception_v3, 299),
    **{f"ResNet-{d}": ((lambda d=d: build_resnet(d)), 224) for d in (18, 34, 50, 101, 152)},
    "DenseNet-121": (build_densenet, 224),
    "MobileNet": (build_mobilenet_v1, 224),
}

_TABLES: dict[str, pd.DataFrame] = {}


def model_layer_table(name: str) -> pd.DataFrame:
    """The :func:`layer_table` of the full-size model ``name``, built once per process.

    Building costs seconds, so the table is cached and the model dropped right away.  The
    model is built in a ``keras.StatelessScope``, where variables get their shapes but no
    values: counting needs no weights (VGG-19's would be 575 MB of float32).

    Args:
        name: a key of :data:`ARCHITECTURES`.

    Returns:
        The cached DataFrame of :func:`helpers.arithmetic.layer_table.layer_table` (do not
        change it in place).
    """
    if name not in ARCHITECTURES:
        raise KeyError(f"no builder for {name!r}; choose from {list(ARCHITECTURES)}")
    if name not in _TABLES:
        with keras.StatelessScope():
            model = ARCHITECTURES[name][0]()
            _TABLES[name] = layer_table(model)
        del model
        gc.collect()
    return _TABLES[name].copy()


def model_cost(name: str) -> dict[str, int]:
    """Parameters, multiply-adds and layers of the full-size model ``name``, per image.

    Read from its cached :func:`model_layer_table`.

    Args:
        name: a key of :data:`ARCHITECTURES`.

    Returns:
        A dict ``{"params", "macs", "layers"}`` of ints.
    """
    totals = layer_table_totals(model_layer_table(name))
    return {k: int(totals[k]) for k in ("params", "macs", "layers")}


def complexity_table(names: list[str] | None = None) -> pd.DataFrame:
    """One row per model of :data:`PUBLISHED` (or ``names``), in that order.

    Args:
        names: keys of :data:`PUBLISHED` (default: all).

    Returns:
        A DataFrame with columns ``model``, ``input`` ("224x224"), ``params``, ``gmacs``
        (multiply-adds per image / 1e9), ``cost`` ("computed" by our builder or
        "published"), ``top1`` (percent), ``reference_gmacs`` (torchvision's count, NaN if
        none) and ``source`` of the accuracy.
    """
    rows = []
    for name in names or list(PUBLISHED):
        pub = PUBLISHED[name]
        if name in ARCHITECTURES:
            cost, side = model_cost(name), ARCHITECTURES[name][1]
            params, gmacs, how = cost["params"], cost["macs"] / 1e9, "computed"
        else:
            params, gmacs, side, how = pub.params, pub.gmacs, 299, "published"
        rows.append({
            "model": name, "input": f"{side}x{side}", "params": params, "gmacs": gmacs,
            "cost": how, "top1": pub.top1,
            "reference_gmacs": np.nan if pub.reference_gmacs is None else pub.reference_gmacs,
            "source": pub.source,
        })
    return pd.DataFrame(rows)


def plot_complexity(df: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Scatter of ``top1`` (y, percent) against ``gmacs`` (x, log scale).

    Marker area is proportional to ``params``; each point is labelled with its model name.

    Args:
        df: a :func:`complexity_table`.
        ax: matplotlib Axes to draw on (a new figure when None).

    Returns:
        The matplotlib Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5.5), dpi=90)
    families = {"AlexNet": "C0", "VGG": "C1", "GoogLeNet": "C2", "Inception": "C2",
                "ResNet": "C3", "DenseNet": "C4", "MobileNet": "C5"}
    for row in df.itertuples():
        color = next(c for prefix, c in families.items() if row.model.startswith(prefix))
        ax.scatter(row.gmacs, row.top1, s=row.params / 1e6 * 6, color=color, alpha=0.55,
                   edgecolor="black", linewidth=0.6, marker="s" if row.cost == "published" else "o")
        ax.annotate(row.model, (row.gmacs, row.top1), textcoords="offset points",
                    xytext=(6, -10 if row.model in ("VGG-16", "ResNet-101") else 4), fontsize=8)
    for millions in (5, 25, 100):
        ax.scatter([], [], s=millions * 6, color="gray", alpha=0.4, label=f"{millions} M params")
    ax.set_xscale("log")
    ax.set_xlabel("multiply-adds per image (GMACs, log scale)")
    ax.set_ylabel("ImageNet top-1 accuracy, single crop (%)")
    ax.set_title("Accuracy against cost (marker area ~ parameters; square = published cost)")
    ax.legend(loc="lower right", labelspacing=1.6, borderpad=1.0, fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return ax


def separable_vs_standard(
    grid: int, in_channels: int, out_channels: int, kernel: int = 3
) -> dict[str, float]:
    """Count a standard convolution and its depthwise separable replacement with Keras.

    Builds a standard ``kernel`` x ``kernel`` convolution and a depthwise + 1x1 pointwise
    pair ('same', no bias) on a ``grid`` x ``grid`` x ``in_channels`` input and counts both
    with :func:`layer_table`.

    Args:
        grid: side of the input grid in pixels.
        in_channels: input channels.
        out_channels: ``N``, output channels.
        kernel: ``k``, the kernel side in pixels.

    Returns:
        A dict with ``standard_macs``, ``separable_macs``, their ``ratio`` and the
        ``formula`` 1/N + 1/k^2.
    """
    inputs = keras.Input((grid, grid, in_channels))
    layers = keras.layers
    standard = keras.Model(inputs, layers.Conv2D(out_channels, kernel, padding="same",
                                                 use_bias=False)(inputs))
    depthwise = layers.DepthwiseConv2D(kernel, padding="same", use_bias=False)(inputs)
    separable = keras.Model(inputs, layers.Conv2D(out_channels, 1, use_bias=False)(depthwise))
    std = int(layer_table(standard)["macs"].sum())
    sep = int(layer_table(separable)["macs"].sum())
    return {"standard_macs": std, "separable_macs": sep, "ratio": sep / std,
            "formula": 1 / out_channels + 1 / kernel**2}


#: Howard et al. 2017, table 6 (224x224): alpha -> (top-1 %, million mult-adds, million params).
MOBILENET_TABLE6: dict[float, tuple[float, int, float]] = {
    1.0: (70.6, 569, 4.2), 0.75: (68.4, 325, 2.6), 0.5: (63.7, 149, 1.3), 0.25: (50.6, 41, 0.5),
}


def mobilenet_width_table(alphas: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25)) -> pd.DataFrame:
    """MobileNet-224 for each width multiplier, against the paper's table 6.

    ``macs`` and ``params`` are summed over :func:`mobilenet_v1_table` (the paper's way:
    conv/FC weights, BatchNormalization not counted).

    Args:
        alphas: width multipliers (keys of :data:`MOBILENET_TABLE6`).

    Returns:
        A DataFrame with one row per alpha: ``macs``, ``params``, their ratio to
        alpha = 1 (``macs_vs_1``, ``params_vs_1``) and the paper's table 6 figures
        ``paper_macs_M``, ``paper_params_M``, ``paper_top1``.
    """
    rows = []
    for alpha in alphas:
        table = mobilenet_v1_table(alpha=alpha)
        paper = MOBILENET_TABLE6.get(alpha, (np.nan, np.nan, np.nan))
        rows.append({"alpha": alpha, "macs": int(table["macs"].sum()),
                     "params": int(table["params"].sum()), "paper_macs_M": paper[1],
                     "paper_params_M": paper[2], "paper_top1": paper[0]})
    df = pd.DataFrame(rows)
    full = mobilenet_v1_table(alpha=1.0)[["macs", "params"]].sum()
    df.insert(3, "macs_vs_1", df["macs"] / full["macs"])
    df.insert(4, "params_vs_1", df["params"] / full["params"])
    return df


def mobilenet_cost_shares(table: pd.DataFrame) -> pd.DataFrame:
    """Share (percent) of multiply-adds and parameters per layer kind of a MobileNet table.

    The kinds are "Conv 1x1", "Conv dw 3x3", "Conv 3x3", "FC" (the paper's table 2).

    Args:
        table: a :func:`mobilenet_v1_table`.

    Returns:
        A DataFrame with one row per layer kind (index) and the columns ``macs_%`` and
        ``params_%``.
    """
    def kind(row) -> str:
        if row.type_stride.startswith("FC"):
            return "FC"
        if "dw" in row.filter_shape:
            return "Conv dw 3x3"
        return "Conv 1x1" if row.filter_shape.startswith("1x1") else "Conv 3x3"

    body = table[table["type_stride"].str.match(r"(Conv|FC)")]
    kinds = [kind(r) for r in body.itertuples()]
    out = body.groupby(kinds)[["macs", "params"]].sum()
    out = 100 * out / out.sum()
    order = ["Conv 1x1", "Conv dw 3x3", "Conv 3x3", "FC"]
    return out.loc[order].rename(columns={"macs": "macs_%", "params": "params_%"})


def _state(index: int) -> str:
    return {0: "h0 (prev)", 1: "h1 (prev_prev)"}.get(index, f"h{index}")


def cell_table(description: CellDescription) -> pd.DataFrame:
    """One row per block of a NASNet cell.

    Args:
        description: a :class:`CellDescription`.

    Returns:
        A DataFrame with the hidden state each block creates (``new``), its two
        ``(input, operation)`` pairs as text (``left``, ``right``), ``combine`` and
        whether the cell's output concatenates it (``in_output``).
    """
    rows = []
    for b, ((li, lop), (ri, rop)) in enumerate(description.blocks):
        rows.append({
            "new": f"h{b + 2}", "left": f"{lop}({_state(li)})", "right": f"{rop}({_state(ri)})",
            "combine": "add", "in_output": b + 2 in description.outputs,
        })
    return pd.DataFrame(rows)


def type_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per layer type of a :func:`layer_table`: number of ``layers``, ``params`` and ``macs``.

    Args:
        table: a :func:`layer_table`.

    Returns:
        A DataFrame indexed by layer type, sorted by multiply-adds (largest first).
    """
    out = table.groupby("type").agg(layers=("name", "size"), params=("params", "sum"),
                                    macs=("macs", "sum"))
    return out.sort_values(["macs", "params"], ascending=False)
