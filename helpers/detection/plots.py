"""Drawing and timing helpers for the detection lecture."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np

from helpers.detection.evaluation import DetectionEvaluation


def draw_boxes(ax, boxes, labels=None, scores=None, class_names: Sequence[str] | None = None,
               color: str = "lime", linestyle: str = "-") -> None:
    """Draw (K, 4) corner boxes on ``ax`` with optional class names and scores.

    Args:
        ax: the matplotlib Axes.
        boxes: (K, 4) ``(x1, y1, x2, y2)`` in pixels.
        labels: (K,) class ids written above the boxes, or None.
        scores: (K,) scores written above the boxes (2 decimals), or None.
        class_names: names indexed by class id (None: the ids are written).
        color: the boxes' and texts' colour.
        linestyle: the boxes' line style.
    """
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color=color,
                                   linestyle=linestyle, linewidth=1.2))
        text = []
        if labels is not None:
            lab = int(np.asarray(labels)[k])
            text.append(class_names[lab] if class_names else str(lab))
        if scores is not None:
            text.append(f"{float(np.asarray(scores)[k]):.2f}")
        if text:
            ax.text(x1, y1 - 1, " ".join(text), color=color, fontsize=7, va="bottom")


def plot_scenes(images: np.ndarray, boxes=None, labels=None, class_names=None, detections=None,
                n: int = 6, title: str = "", score_min: float = 0.5):
    """Show ``n`` scenes with ground truth (dashed, yellow) and detections (green).

    Args:
        images: (N, H, W, 1) in [0, 1].
        boxes: ground-truth boxes per image, (G_i, 4), or None.
        labels: ground-truth labels per image, (G_i,), or None.
        class_names: names indexed by class id.
        detections: per image (boxes, scores, labels), or None; only scores >= score_min drawn.
        n: how many scenes (at most ``N``).
        title: the figure's title.
        score_min: the lowest score drawn.

    Returns:
        The matplotlib ``Figure``, one panel per scene.
    """
    n = min(n, len(images))
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.9), squeeze=False)
    for i, ax in enumerate(axes[0]):
        ax.imshow(images[i, :, :, 0], cmap="gray", vmin=0, vmax=1)
        if boxes is not None:
            draw_boxes(ax, boxes[i], None if detections is not None else labels[i], None,
                       class_names, color="yellow", linestyle="--")
        if detections is not None:
            b, s, y = detections[i]
            keep = np.asarray(s) >= score_min
            draw_boxes(ax, np.asarray(b)[keep], np.asarray(y)[keep], np.asarray(s)[keep],
                       class_names)
        ax.set_xlabel("x (px)")
        ax.set_ylabel("y (px)" if i == 0 else "")
        ax.tick_params(labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_precision_recall(evaluations: dict[str, DetectionEvaluation], class_names,
                          classes: Sequence[int] = (0, 6, 8)):
    """Precision-recall curves of a few classes for each method (one panel per class).

    Args:
        evaluations: method name -> :class:`DetectionEvaluation`.
        class_names: names indexed by class id.
        classes: the class ids to plot.

    Returns:
        The matplotlib ``Figure``.
    """
    fig, axes = plt.subplots(1, len(classes), figsize=(4.2 * len(classes), 3.6), squeeze=False)
    for ax, c in zip(axes[0], classes, strict=True):
        for name, ev in evaluations.items():
            ax.plot(ev.recall[c], ev.precision[c], label=f"{name} (AP {ev.ap[c]:.2f})")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(class_names[c])
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def seconds_per_image(function: Callable[[int], object], n: int) -> float:
    """Wall seconds per image of ``function(i)`` for i = 0 .. n-1 (one image at a time).

    ``function(0)`` is run once untimed first (graph tracing, caches).

    Args:
        function: called with an image index.
        n: the number of images timed, ``>= 1``.

    Returns:
        The mean seconds per call, a float.

    Raises:
        ValueError: if ``n < 1``.
    """
    if n < 1:
        raise ValueError(f"need at least one image to time, got n={n}")
    function(0)
    start = time.perf_counter()
    for i in range(n):
        function(i)
    return (time.perf_counter() - start) / n


def plot_recall_vs_proposals(
    recalls: dict[int, float] | dict[str, dict[int, float]],
    ax=None,
    iou_threshold: float = 0.5,
    title: str | None = None,
):
    """Recall against number of proposals (log x axis).

    Args:
        recalls: the dict of :func:`proposal_recall`, or ``{label: that dict}`` for several curves.
        ax: matplotlib Axes to draw on (a new figure when None).
        iou_threshold: only used in the axis label.
        title: optional title.

    Returns:
        the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    if not recalls:
        raise ValueError("recalls is empty")
    curves = recalls if isinstance(next(iter(recalls.values())), dict) else {None: recalls}
    for label, curve in curves.items():
        ns = sorted(curve)
        ax.plot(ns, [curve[n] for n in ns], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("number of proposals per image")
    ax.set_ylabel(f"recall at IoU >= {iou_threshold:g}")
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title)
    if any(label is not None for label in curves):
        ax.legend()
    return ax
