"""Which entries of an NHWC tensor share one mean and variance under batch, layer, instance
and group normalisation, as an (N, C) picture (H and W are always averaged over, so each
cell of the picture stands for a whole H x W feature map), in the style of figure 2 of
Wu and He, "Group Normalization" (2018)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

KINDS = ("batch", "layer", "instance", "group")


def norm_group_ids(kind: str, n: int, c: int, groups: int = 1) -> np.ndarray:
    """Which entries of an ``(N, C)`` picture share one mean and variance under ``kind``.

    Args:
        kind: the normalisation, one of ``"batch"``, ``"layer"``, ``"instance"``,
            ``"group"``.
        n: the number of examples ``N``.
        c: the number of channels ``C``.
        groups: the number of channel groups ``G`` (group norm only); must divide ``c``.

    Returns:
        An ``(n, c)`` integer array: entries with the same id are normalised together
        (share one mean and variance) by normalisation ``kind``.

    Raises:
        ValueError: if ``kind`` is unknown, or for group norm if ``groups < 1`` or ``groups``
            does not divide ``c``.
    """
    examples, channels = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    if kind == "batch":
        return channels
    if kind == "layer":
        return examples
    if kind == "instance":
        return examples * c + channels
    if kind == "group":
        if groups < 1 or c % groups:
            raise ValueError(f"group norm needs a number of groups dividing C={c}, got {groups}")
        return examples * groups + channels // (c // groups)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def plot_norm_groups(n: int = 4, c: int = 6, groups: int = 3) -> plt.Figure:
    """Plot the four normalisations' statistic groups side by side (Wu and He, figure 2).

    Four panels (batch, layer, instance, group norm), each an ``n x c`` grid coloured by
    :func:`norm_group_ids`; the cells sharing statistics with example 0, channel 0 are
    outlined.

    Args:
        n: the number of examples ``N`` (rows).
        c: the number of channels ``C`` (columns).
        groups: the number of groups ``G`` of the group-norm panel; must divide ``c``.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: if ``groups < 1`` or ``groups`` does not divide ``c``.
    """
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.2), dpi=90)
    for ax, kind in zip(axes, KINDS, strict=True):
        ids = norm_group_ids(kind, n, c, groups)
        ax.imshow(ids % 10, cmap="tab10", vmin=0, vmax=9, alpha=0.55)
        for i, j in zip(*np.nonzero(ids == ids[0, 0]), strict=True):
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2.2,
                                       edgecolor="black"))
        title = f"{kind} norm" + (f" (G={groups})" if kind == "group" else "")
        ax.set_title(f"{title}\n{len(np.unique(ids))} mean/variance pairs", fontsize=9)
        ax.set_xlabel("channel C")
        ax.set_ylabel("example N")
        ax.set_xticks(range(c))
        ax.set_yticks(range(n))
    fig.suptitle("Entries of an (N, H, W, C) tensor normalised together (each cell = one "
                 "H x W map)", fontsize=10)
    fig.tight_layout()
    return fig
