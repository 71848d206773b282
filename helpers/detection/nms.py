"""Greedy non-maximum suppression (NMS), single-class and per-class.

A detector fires many overlapping boxes around each object.  Greedy NMS keeps
the highest-scoring box, removes every remaining box whose IoU with it is
**greater than** ``iou_threshold``, and repeats with the next-best survivor
(py-faster-rcnn's ``nms.py`` and ``tf.image.non_max_suppression`` use the same
rule: a box with IoU exactly equal to the threshold survives).

Boxes are ``(x1, y1, x2, y2)`` in continuous pixel coordinates
(see :mod:`helpers.detection.boxes`).  IoU does not depend on which axis comes
first, so ``(y1, x1, y2, x2)`` boxes give the same result.
"""

from __future__ import annotations

import numpy as np

from helpers.detection.boxes import as_boxes, box_area

__all__ = ["non_max_suppression", "batched_nms"]


def _check_inputs(boxes: object, scores: object, iou_threshold: float) -> tuple[np.ndarray, ...]:
    b = np.zeros((0, 4)) if np.size(boxes) == 0 else as_boxes(boxes)
    s = np.asarray(scores, dtype=np.float64)
    if s.size == len(b):  # (N,) or (N, 1)
        s = s.reshape(-1)
    if s.ndim != 1 or len(s) != len(b):
        raise ValueError(
            f"need one score per box: got {len(b)} boxes and scores of shape {np.shape(scores)}"
        )
    if np.any(np.isnan(s)):
        raise ValueError("scores contain NaN")
    if not 0.0 <= float(iou_threshold) <= 1.0:
        raise ValueError(f"iou_threshold must lie in [0, 1], got {iou_threshold}")
    return b, s


def non_max_suppression(
    boxes: object,
    scores: object,
    iou_threshold: float = 0.5,
    max_output: int | None = None,
    score_threshold: float | None = None,
) -> np.ndarray:
    """Greedy NMS; returns the indices of the kept boxes, best score first.

    Args:
        boxes: (N, 4) corners ``(x1, y1, x2, y2)``.
        scores: (N,) confidences (any real numbers; higher is better).
        iou_threshold: a box is removed when its IoU with an already kept box
            is **> iou_threshold**; in [0, 1].
        max_output: keep at most this many boxes (``None``: no limit).
        score_threshold: drop boxes with ``score <= score_threshold`` first
            (the rule of ``tf.image.non_max_suppression``); ``None``: keep all.

    Returns:
        (K,) int64 indices into ``boxes``, ordered by decreasing score (ties:
        the lower index first).

    Raises:
        ValueError: boxes and scores of different lengths, a threshold outside
            [0, 1], a negative ``max_output``, malformed boxes.
    """
    b, s = _check_inputs(boxes, scores, iou_threshold)
    if max_output is not None and int(max_output) < 0:
        raise ValueError(f"max_output must be >= 0, got {max_output}")
    limit = len(b) if max_output is None else int(max_output)

    order = np.argsort(-s, kind="stable")
    if score_threshold is not None:
        order = order[s[order] > score_threshold]
    areas = box_area(b)
    keep: list[int] = []
    while order.size and len(keep) < limit:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        # IoU of the kept box with all remaining candidates, in one vector step
        w = np.clip(np.minimum(b[i, 2], b[rest, 2]) - np.maximum(b[i, 0], b[rest, 0]), 0, None)
        h = np.clip(np.minimum(b[i, 3], b[rest, 3]) - np.maximum(b[i, 1], b[rest, 1]), 0, None)
        inter = w * h
        union = areas[i] + areas[rest] - inter
        overlap = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
        order = rest[overlap <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(
    boxes: object,
    scores: object,
    classes: object,
    iou_threshold: float = 0.5,
    max_output: int | None = None,
) -> np.ndarray:
    """NMS separately for each class: boxes of different classes never suppress
    each other.

    Args:
        boxes: (N, 4) corners.
        scores: (N,) confidences.
        classes: (N,) integer class labels.
        iou_threshold: as in :func:`non_max_suppression`.
        max_output: keep at most this many boxes over all classes.

    Returns:
        (K,) int64 indices into ``boxes``, ordered by decreasing score over all
        classes (ties: the lower index first).
    """
    b, s = _check_inputs(boxes, scores, iou_threshold)
    c = np.asarray(classes).reshape(-1)
    if len(c) != len(b):
        raise ValueError(f"need one class per box: got {len(b)} boxes and {len(c)} classes")
    kept = [
        members[non_max_suppression(b[members], s[members], iou_threshold)]
        for members in (np.flatnonzero(c == k) for k in np.unique(c))
    ]
    keep = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    keep = keep[np.lexsort((keep, -s[keep]))]  # by score, ties by index
    return keep[:max_output].astype(np.int64)
