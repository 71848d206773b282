"""Bounding-box arithmetic: formats, IoU, R-CNN regression targets, clipping.

Convention used by every detection module of the course
-------------------------------------------------------
A box is ``(x1, y1, x2, y2)`` in **continuous pixel coordinates**: the pixel
with column ``c`` covers ``[c, c + 1)``, so a box around columns 3..9 is
``x1 = 3, x2 = 10`` and its width is ``x2 - x1 = 7`` (no "+1").  Arrays of
boxes have shape ``(N, 4)``, float.  py-faster-rcnn and the original R-CNN
code use *inclusive* integer coordinates (width ``x2 - x1 + 1``); only
:mod:`helpers.detection.anchors` reproduces that convention, to match the
paper's published anchor values.

Zero-area boxes are allowed: their IoU with anything is 0 (never NaN).
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def as_boxes(boxes: object, name: str = "boxes") -> np.ndarray:
    """Return ``boxes`` as a float64 array of shape (N, 4).

    Args:
        boxes: ``(N, 4)`` corners ``(x1, y1, x2, y2)`` in pixels, any array-like.
        name: what the error messages call the argument.

    Returns:
        A float64 array ``(N, 4)``.

    Raises:
        ValueError: wrong shape, non-finite values or ``x2 < x1`` / ``y2 < y1``.
    """
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 4:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(
            f"{name} must have shape (N, 4) as (x1, y1, x2, y2) rows, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    bad = (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}[{i}] = {arr[i].tolist()} has x2 < x1 or y2 < y1; boxes are "
            "(x1, y1, x2, y2) corners; convert centre-size boxes with centers_to_corners()"
        )
    return arr


def corners_to_centers(boxes: object) -> np.ndarray:
    """Corner boxes to centre-size boxes: ``(x1, y1, x2, y2)`` -> ``(cx, cy, w, h)``.

    Args:
        boxes: ``(N, 4)`` corners in pixels.

    Returns:
        A float64 array ``(N, 4)`` of ``(cx, cy, w, h)`` in pixels.

    Raises:
        ValueError: as :func:`as_boxes`.
    """
    b = as_boxes(boxes)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    return np.stack([b[:, 0] + w / 2, b[:, 1] + h / 2, w, h], axis=1)


def centers_to_corners(boxes: object) -> np.ndarray:
    """Centre-size boxes to corner boxes: ``(cx, cy, w, h)`` -> ``(x1, y1, x2, y2)``.

    Args:
        boxes: ``(N, 4)`` centre-size boxes in pixels.

    Returns:
        A float64 array ``(N, 4)`` of corners in pixels.

    Raises:
        ValueError: a negative width or height.
    """
    c = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if np.any(c[:, 2:] < 0):
        raise ValueError("centre-size boxes need w >= 0 and h >= 0")
    half = c[:, 2:] / 2
    return np.concatenate([c[:, :2] - half, c[:, :2] + half], axis=1)


def box_area(boxes: object) -> np.ndarray:
    """Areas of corner boxes.

    Args:
        boxes: ``(N, 4)`` corners in pixels.

    Returns:
        A float64 array ``(N,)`` of areas in pixels^2.

    Raises:
        ValueError: as :func:`as_boxes`.
    """
    b = as_boxes(boxes)
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def iou_matrix(boxes_a: object, boxes_b: object) -> np.ndarray:
    """Pairwise intersection over union.

    Args:
        boxes_a: (N, 4) corners.
        boxes_b: (M, 4) corners.

    Returns:
        (N, M) array in [0, 1]; 0 where the union is empty (two zero-area boxes).

    Raises:
        ValueError: as :func:`as_boxes`.
    """
    a, b = as_boxes(boxes_a, "boxes_a"), as_boxes(boxes_b, "boxes_b")
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.where(union > _EPS, inter / np.maximum(union, _EPS), 0.0)


def iou(boxes_a: object, boxes_b: object) -> np.ndarray:
    """Element-wise IoU of two equally long box lists.

    Args:
        boxes_a: (N, 4) corners.
        boxes_b: (N, 4) corners, paired row by row with ``boxes_a``.

    Returns:
        (N,) array in [0, 1].

    Raises:
        ValueError: if the lengths differ (use :func:`iou_matrix` for all pairs), or as
            :func:`as_boxes`.
    """
    a, b = as_boxes(boxes_a, "boxes_a"), as_boxes(boxes_b, "boxes_b")
    if len(a) != len(b):
        raise ValueError(
            f"iou() pairs boxes row by row and needs equal lengths, got {len(a)} and {len(b)}; "
            "use iou_matrix() for all pairs"
        )
    lt = np.maximum(a[:, :2], b[:, :2])
    rb = np.minimum(a[:, 2:], b[:, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[:, 0] * wh[:, 1]
    union = box_area(a) + box_area(b) - inter
    return np.where(union > _EPS, inter / np.maximum(union, _EPS), 0.0)


def encode_boxes(proposals: object, targets: object) -> np.ndarray:
    """R-CNN regression targets of ``targets`` relative to ``proposals``.

    ``t_x = (G_x - P_x) / P_w``, ``t_y = (G_y - P_y) / P_h``,
    ``t_w = log(G_w / P_w)``, ``t_h = log(G_h / P_h)`` with centres and sizes.

    Args:
        proposals: (N, 4) corners P, every width and height > 0.
        targets: (N, 4) corners G, every width and height > 0.

    Returns:
        (N, 4) deltas ``(t_x, t_y, t_w, t_h)`` (unitless).

    Raises:
        ValueError: if the lengths differ or a box has zero width or height.
    """
    p, g = corners_to_centers(proposals), corners_to_centers(targets)
    if len(p) != len(g):
        raise ValueError(f"need one target per proposal, got {len(p)} and {len(g)}")
    if np.any(p[:, 2:] <= 0) or np.any(g[:, 2:] <= 0):
        raise ValueError("box regression needs boxes with positive width and height")
    return np.stack(
        [
            (g[:, 0] - p[:, 0]) / p[:, 2],
            (g[:, 1] - p[:, 1]) / p[:, 3],
            np.log(g[:, 2] / p[:, 2]),
            np.log(g[:, 3] / p[:, 3]),
        ],
        axis=1,
    )


def decode_boxes(
    proposals: object, deltas: object, max_log_scale: float = np.log(1000 / 16)
) -> np.ndarray:
    """Inverse of :func:`encode_boxes`: apply (N, 4) deltas to (N, 4) proposals.

    ``t_w`` and ``t_h`` are clipped at ``max_log_scale`` (as in py-faster-rcnn)
    so a wild prediction cannot overflow ``exp``.

    Args:
        proposals: (N, 4) corners in pixels.
        deltas: (N, 4) ``(t_x, t_y, t_w, t_h)``.
        max_log_scale: the largest ``t_w`` / ``t_h`` used.

    Returns:
        (N, 4) corners.

    Raises:
        ValueError: if the lengths differ, or as :func:`as_boxes`.
    """
    p = corners_to_centers(proposals)
    d = np.asarray(deltas, dtype=np.float64).reshape(-1, 4)
    if len(d) != len(p):
        raise ValueError(f"need one delta row per proposal, got {len(d)} and {len(p)}")
    dw = np.minimum(d[:, 2], max_log_scale)
    dh = np.minimum(d[:, 3], max_log_scale)
    cx = p[:, 0] + d[:, 0] * p[:, 2]
    cy = p[:, 1] + d[:, 1] * p[:, 3]
    w, h = p[:, 2] * np.exp(dw), p[:, 3] * np.exp(dh)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def clip_boxes(boxes: object, height: float, width: float) -> np.ndarray:
    """Clip (N, 4) corners to the image ``[0, width] x [0, height]``.

    Args:
        boxes: (N, 4) corners in pixels.
        height: image height in pixels.
        width: image width in pixels.

    Returns:
        A float64 array (N, 4) of clipped corners (a copy).
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, width)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, height)
    return b
