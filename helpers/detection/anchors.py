"""Faster R-CNN anchors: the 9 reference boxes, their grid over a feature map,
and the RPN's training labels and regression targets.

Three coordinate conventions for the same 9 anchors
---------------------------------------------------
py-faster-rcnn's ``generate_anchors`` works in **inclusive** integer pixel
coordinates: a box ``(x1, y1, x2, y2)`` covers the pixels ``x1..x2``, so its
width is ``x2 - x1 + 1`` and its centre ``x1 + (w - 1) / 2``.  It starts from
the reference window ``(0, 0, 15, 15)`` (one 16 x 16 cell of a stride-16
feature map, centre 7.5) and, for each ratio ``r = h / w``, takes
``w = round(sqrt(256 / r))``, ``h = round(w * r)`` (numpy's ``round``), then
multiplies both by each scale.  The anchors it *returns* begin with
``[-84, -40, 99, 55]`` (``convention="inclusive"``, the default here).

The comment at the top of that file, and many write-ups (and REFERENCE.md),
quote ``[-83, -39, 100, 56]``: Shaoqing Ren's MATLAB anchors, in 1-based
pixel indices (reference window ``(1, 1, 16, 16)``).  They are the same boxes
shifted by +1 (``convention="matlab"``); both are inclusive.

The course's **continuous** convention (:mod:`helpers.detection.boxes`) puts
pixel ``c`` at ``[c, c + 1)``, so the inclusive box ``x1..x2`` becomes
``[x1, x2 + 1)``: ``[-84, -40, 100, 56]``, width 184 = ``x2 - x1``, centred on
``(8, 8)``, the centre of the cell ``[0, 16) x [0, 16)`` (``convention=
"continuous"``, or :func:`continuous_base_anchors`).  Everything else in this
module uses continuous coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from helpers.detection.boxes import as_boxes, encode_boxes, iou_matrix

__all__ = [
    "base_anchors",
    "continuous_base_anchors",
    "grid_anchors",
    "anchors_inside",
    "assign_rpn_labels",
    "rpn_regression_targets",
]

Convention = Literal["inclusive", "matlab", "continuous"]


def anchor_shapes(sizes: tuple[float, ...], ratios: tuple[float, ...]) -> np.ndarray:
    """Anchors centred on (0, 0), ratio-major like py-faster-rcnn.

    An anchor of size s and ratio r = h / w has area s^2: w = s / sqrt(r), h = s * sqrt(r).

    Args:
        sizes: anchor sides ``s`` in pixels.
        ratios: aspect ratios ``h / w``.

    Returns:
        A float array (len(ratios) * len(sizes), 4) of ``(x1, y1, x2, y2)``.
    """
    shapes = []
    for r in ratios:
        for s in sizes:
            w, h = s / np.sqrt(r), s * np.sqrt(r)
            shapes.append([-w / 2, -h / 2, w / 2, h / 2])
    return np.array(shapes)


def base_anchors(
    base_size: int = 16,
    ratios: Sequence[float] = (0.5, 1, 2),
    scales: Sequence[float] = (8, 16, 32),
    convention: Convention = "inclusive",
) -> np.ndarray:
    """The A = len(ratios) * len(scales) reference anchors of Faster R-CNN.

    Reproduces py-faster-rcnn's ``generate_anchors`` exactly (default
    arguments: areas 128^2, 256^2, 512^2 times ratios h/w = 0.5, 1, 2).

    Args:
        base_size: side of the reference window in pixels (the feature stride).
        ratios: aspect ratios ``h / w``; the outer loop.
        scales: multipliers of the ratio-adjusted window; the inner loop.
        convention: ``"inclusive"`` (py-faster-rcnn's 0-based output),
            ``"matlab"`` (1-based, ``inclusive + 1``) or ``"continuous"`` (the
            course's ``(x1, y1, x2 + 1, y2 + 1)``); see the module docstring.

    Returns:
        (A, 4) float64 ``(x1, y1, x2, y2)``, ratio-major: row ``i * len(scales)
        + j`` has ratio ``ratios[i]`` and scale ``scales[j]``.
    """
    r = np.asarray(ratios, dtype=np.float64).reshape(-1)
    s = np.asarray(scales, dtype=np.float64).reshape(-1)
    if base_size <= 0 or np.any(r <= 0) or np.any(s <= 0):
        raise ValueError("base_size, ratios and scales must be positive")
    centre = (base_size - 1) / 2  # of the inclusive window (0, 0, base-1, base-1)
    ws_ratio = np.round(np.sqrt(base_size * base_size / r))
    hs_ratio = np.round(ws_ratio * r)
    ws = (ws_ratio[:, None] * s[None, :]).ravel()
    hs = (hs_ratio[:, None] * s[None, :]).ravel()
    half_w, half_h = (ws - 1) / 2, (hs - 1) / 2
    anchors = np.stack(
        [centre - half_w, centre - half_h, centre + half_w, centre + half_h], axis=1
    )
    if convention == "inclusive":
        return anchors
    if convention == "matlab":
        return anchors + 1
    if convention == "continuous":
        return anchors + np.array([0.0, 0.0, 1.0, 1.0])
    raise ValueError(
        f"convention must be 'inclusive', 'matlab' or 'continuous', got {convention!r}"
    )


def continuous_base_anchors(
    base_size: int = 16,
    ratios: Sequence[float] = (0.5, 1, 2),
    scales: Sequence[float] = (8, 16, 32),
) -> np.ndarray:
    """:func:`base_anchors` in the course's continuous coordinates.

    These are the anchors to pass to :func:`grid_anchors`.

    Args:
        base_size: side of the reference window in pixels (the feature stride).
        ratios: aspect ratios ``h / w``.
        scales: multipliers of the ratio-adjusted window.

    Returns:
        (A, 4) float64 ``(x1, y1, x2, y2)``, ratio-major.

    Raises:
        ValueError: if ``base_size``, a ratio or a scale is not positive.
    """
    return base_anchors(base_size, ratios, scales, convention="continuous")


def grid_anchors(
    feature_height: int, feature_width: int, stride: float, anchors: object
) -> np.ndarray:
    """Copy the A reference anchors to every position of a feature map.

    The anchors of feature cell ``(y, x)`` are the reference anchors shifted
    by ``(x * stride, y * stride)``; with :func:`continuous_base_anchors` and
    ``stride = base_size`` they are centred on the cell's image patch.

    Args:
        feature_height: height of the feature map (cells).
        feature_width: width of the feature map (cells).
        stride: image pixels per feature cell (16 for VGG16's conv5_3).
        anchors: (A, 4) reference anchors in image pixels.

    Returns:
        (feature_height * feature_width * A, 4) anchors, ordered (y, x, anchor):
        row ``(y * feature_width + x) * A + a`` is anchor ``a`` of cell
        ``(y, x)``, matching a ``(H, W, A * k)`` RPN output reshaped to
        ``(H * W * A, k)``.

    Raises:
        ValueError: if a feature size is negative or ``stride <= 0``.
    """
    base = as_boxes(anchors, "anchors")
    if feature_height < 0 or feature_width < 0 or stride <= 0:
        raise ValueError("feature sizes must be >= 0 and the stride > 0")
    ys, xs = np.meshgrid(
        np.arange(feature_height) * float(stride),
        np.arange(feature_width) * float(stride),
        indexing="ij",
    )
    shifts = np.stack([xs.ravel(), ys.ravel(), xs.ravel(), ys.ravel()], axis=1)
    return (shifts[:, None, :] + base[None, :, :]).reshape(-1, 4)


def anchors_inside(
    anchors: object, height: float, width: float, allowed_border: float = 0.0
) -> np.ndarray:
    """(N,) bool: the anchors lying inside the ``height x width`` image.

    An anchor is inside when ``x1 >= -b``, ``y1 >= -b``, ``x2 <= width + b``
    and ``y2 <= height + b`` with ``b = allowed_border`` (continuous
    coordinates; py-faster-rcnn's ``x2 < width`` in inclusive coordinates is
    the same test).

    Args:
        anchors: (N, 4) anchors in image pixels.
        height: image height in pixels.
        width: image width in pixels.
        allowed_border: ``b``, pixels an anchor may reach beyond the image.

    Returns:
        A bool array (N,).
    """
    a = as_boxes(anchors, "anchors")
    b = float(allowed_border)
    return (
        (a[:, 0] >= -b) & (a[:, 1] >= -b) & (a[:, 2] <= width + b) & (a[:, 3] <= height + b)
    )


def assign_rpn_labels(
    anchors: object,
    gt_boxes: object,
    image_height: float,
    image_width: float,
    positive_iou: float = 0.7,
    negative_iou: float = 0.3,
    batch_size: int | None = 256,
    positive_fraction: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """RPN training labels, as in Faster R-CNN (py-faster-rcnn's anchor target layer).

    1. Anchors crossing the image border are ignored (label -1).
    2. An inside anchor is negative (0) when its best IoU with any ground
       truth is ``< negative_iou``.
    3. For each ground-truth box, the anchor(s) with the highest IoU with it
       are positive (1), even below ``positive_iou`` (so every object gets an
       anchor; ties all count; a ground truth no anchor overlaps gets none).
    4. Anchors with best IoU ``>= positive_iou`` are positive.
    5. Subsampling: at most ``positive_fraction * batch_size`` positives are
       kept (the others become -1), then negatives fill the batch up to
       ``batch_size`` (the surplus becomes -1).  ``batch_size=None``: no
       subsampling.

    Args:
        anchors: (N, 4) anchors (continuous image pixels).
        gt_boxes: (G, 4) ground-truth boxes; G may be 0 (then every inside
            anchor is negative).
        image_height: image height in pixels.
        image_width: image width in pixels.
        positive_iou: IoU from which an anchor is positive.
        negative_iou: IoU below which an inside anchor is negative.
        batch_size: anchors per image after subsampling, or None.
        positive_fraction: the largest fraction of positives in the batch.
        rng: numpy Generator or seed for the subsampling.

    Returns:
        A tuple ``(labels, matched_gt_index)``:
        labels: (N,) int64 in {1, 0, -1} (object, background, ignored).
        matched_gt_index: (N,) int64 index of the ground truth with the
        highest IoU for inside anchors, -1 for border-crossing anchors (or
        when G = 0).  It is defined for negatives too; use it with
        ``labels == 1``.

    Raises:
        ValueError: unless ``0 <= negative_iou <= positive_iou <= 1``,
            ``0 <= positive_fraction <= 1`` and ``batch_size`` is positive or None.
    """
    a = as_boxes(anchors, "anchors")
    gt = np.zeros((0, 4)) if np.size(gt_boxes) == 0 else as_boxes(gt_boxes, "gt_boxes")
    if not 0.0 <= negative_iou <= positive_iou <= 1.0:
        raise ValueError(
            f"need 0 <= negative_iou <= positive_iou <= 1, got {negative_iou}, {positive_iou}"
        )
    if not 0.0 <= positive_fraction <= 1.0:
        raise ValueError(f"positive_fraction must lie in [0, 1], got {positive_fraction}")
    if batch_size is not None and batch_size <= 0:
        raise ValueError(f"batch_size must be positive or None, got {batch_size}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    labels = np.full(len(a), -1, dtype=np.int64)
    matched = np.full(len(a), -1, dtype=np.int64)
    inside = np.flatnonzero(anchors_inside(a, image_height, image_width))
    if len(gt) == 0:
        labels[inside] = 0
    elif len(inside):
        overlaps = iou_matrix(a[inside], gt)  # (n_inside, G)
        best_gt = overlaps.argmax(axis=1)
        best_iou = overlaps[np.arange(len(inside)), best_gt]
        gt_best = overlaps.max(axis=0)  # (G,) best IoU any anchor reaches per ground truth
        best_for_some_gt = np.any((overlaps == gt_best) & (gt_best > 0), axis=1)
        inside_labels = np.full(len(inside), -1, dtype=np.int64)
        inside_labels[best_iou < negative_iou] = 0
        inside_labels[best_for_some_gt] = 1
        inside_labels[best_iou >= positive_iou] = 1
        labels[inside] = inside_labels
        matched[inside] = best_gt

    if batch_size is not None:
        positives = np.flatnonzero(labels == 1)
        max_positives = int(positive_fraction * batch_size)
        if len(positives) > max_positives:
            drop = rng.choice(positives, len(positives) - max_positives, replace=False)
            labels[drop] = -1
        max_negatives = batch_size - int(np.sum(labels == 1))
        negatives = np.flatnonzero(labels == 0)
        if len(negatives) > max_negatives:
            drop = rng.choice(negatives, len(negatives) - max_negatives, replace=False)
            labels[drop] = -1
    return labels, matched


def rpn_regression_targets(anchors: object, gt_boxes: object, matched: object) -> np.ndarray:
    """Box-regression targets of every anchor towards its matched ground truth.

    Args:
        anchors: (N, 4) anchors.
        gt_boxes: (G, 4) ground-truth boxes.
        matched: (N,) index into ``gt_boxes``, or -1 (no target).

    Returns:
        (N, 4) ``(t_x, t_y, t_w, t_h)`` from
        :func:`helpers.detection.boxes.encode_boxes`; rows with ``matched < 0``
        are 0 (the RPN loss only uses the positive anchors' rows).

    Raises:
        ValueError: if ``matched`` does not have one entry per anchor or an index is out of
            range.
    """
    a = as_boxes(anchors, "anchors")
    m = np.asarray(matched, dtype=np.int64).reshape(-1)
    if len(m) != len(a):
        raise ValueError(f"need one matched index per anchor, got {len(m)} for {len(a)} anchors")
    targets = np.zeros((len(a), 4))
    rows = np.flatnonzero(m >= 0)
    if len(rows):
        gt = as_boxes(gt_boxes, "gt_boxes")
        if m[rows].max() >= len(gt):
            raise ValueError(f"matched index {m[rows].max()} out of range for {len(gt)} boxes")
        targets[rows] = encode_boxes(a[rows], gt[m[rows]])
    return targets
