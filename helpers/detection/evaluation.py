"""Detection metrics: precision/recall curves, average precision (PASCAL VOC
11-point and all-point, COCO 101-point) and mean AP.

How detections are matched (per class, over all images together)
-----------------------------------------------------------------
Detections are sorted by decreasing score (ties keep their input order).
Each one is a **true positive** when an as yet unmatched ground-truth box of
its class in the same image has IoU ``>= iou_threshold`` with it (the one
with the highest IoU is taken), otherwise a **false positive**; a second
detection of an already found object is therefore a false positive.  This is
COCO's greedy rule.  The VOC devkit differs in one corner case: it only looks
at the ground truth with the highest IoU and counts a false positive if that
one is taken, even when another unmatched box overlaps enough; and it needs
IoU ``> 0.5`` rather than ``>= 0.5``.  "Difficult" boxes, crowd regions,
area ranges and COCO's 100-detections-per-image cap are not modelled.

``precision[k]`` and ``recall[k]`` are measured after the first ``k + 1``
detections of the class: ``TP / (TP + FP)`` and ``TP / number of ground
truths``.

:func:`proposal_recall` measures region proposals before any classifier: the fraction of
ground-truth boxes that one of the first n proposals of their image covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from helpers.detection.boxes import as_boxes, iou_matrix

__all__ = ["average_precision", "DetectionEvaluation", "evaluate_detections", "coco_map"]

Method = Literal["voc11", "all_points", "coco101"]
#: numbers of proposals per image at which :func:`proposal_recall` is read by default
DEFAULT_COUNTS = (1, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)


def average_precision(recall: object, precision: object, method: Method = "all_points") -> float:
    """Area under a precision-recall curve.

    Args:
        recall: (K,) non-decreasing recall after each detection, in [0, 1].
        precision: (K,) precision after each detection, in [0, 1].
        method:
            ``"voc11"``: PASCAL VOC 2007, the mean over ``t = 0, 0.1, ..., 1``
            of the highest precision at recall ``>= t`` (0 if none);
            ``"all_points"``: VOC 2010+, the exact area under the precision
            envelope (precision made non-increasing from the right), summed
            where the recall changes;
            ``"coco101"``: COCO, like ``"voc11"`` with the envelope at the
            101 recall values ``0, 0.01, ..., 1`` (0 above the last recall).

    Returns:
        AP in [0, 1]; 0 for an empty curve.
    """
    rec = np.asarray(recall, dtype=np.float64).reshape(-1)
    prec = np.asarray(precision, dtype=np.float64).reshape(-1)
    if rec.shape != prec.shape:
        raise ValueError(f"recall and precision differ in length: {rec.shape} vs {prec.shape}")
    if np.any(np.diff(rec) < -1e-12):
        raise ValueError("recall must be non-decreasing (detections sorted by score)")
    if rec.size == 0:
        return 0.0
    if method == "voc11":
        return float(np.mean([prec[rec >= t].max(initial=0.0) for t in np.linspace(0, 1, 11)]))
    if method == "all_points":
        mrec = np.concatenate([[0.0], rec, [1.0]])
        mpre = np.concatenate([[0.0], prec, [0.0]])
        mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # envelope
        changes = np.flatnonzero(mrec[1:] != mrec[:-1])
        return float(np.sum((mrec[changes + 1] - mrec[changes]) * mpre[changes + 1]))
    if method == "coco101":
        envelope = np.maximum.accumulate(prec[::-1])[::-1]
        thresholds = np.linspace(0.0, 1.0, 101)
        idx = np.searchsorted(rec, thresholds, side="left")
        return float(np.mean(np.where(idx < len(rec), envelope[np.minimum(idx, len(rec) - 1)], 0)))
    raise ValueError(f"method must be 'voc11', 'all_points' or 'coco101', got {method!r}")


@dataclass
class DetectionEvaluation:
    """Result of :func:`evaluate_detections`.

    Attributes:
        ap: (num_classes,) AP per class; NaN for a class without ground truth.
        mean_ap: mean of the non-NaN entries of ``ap`` (NaN if there are none).
        precision, recall: per class, (K_c,) arrays after each of the class's
            K_c detections in score order (for PR curves).
        num_ground_truth: (num_classes,) ground-truth boxes per class.
        iou_threshold, method: the settings used.
    """

    ap: np.ndarray
    mean_ap: float
    precision: list[np.ndarray] = field(repr=False)
    recall: list[np.ndarray] = field(repr=False)
    num_ground_truth: np.ndarray
    iou_threshold: float
    method: str


def _as_labels(labels: object, n: int, num_classes: int, what: str) -> np.ndarray:
    lab = np.asarray(labels).reshape(-1)
    if len(lab) != n:
        raise ValueError(f"{what}: {n} boxes but {len(lab)} labels")
    if lab.size and (np.any(lab < 0) or np.any(lab >= num_classes) or np.any(lab % 1 != 0)):
        raise ValueError(f"{what}: labels must be integers in [0, {num_classes})")
    return lab.astype(np.int64)


def _boxes(boxes: object, what: str) -> np.ndarray:
    return np.zeros((0, 4)) if np.size(boxes) == 0 else as_boxes(boxes, what)


def _match_class(
    detections: Sequence, ground_truths: Sequence, cls: int, iou_threshold: float
) -> tuple[np.ndarray, int]:
    """TP flags (detections of ``cls`` in score order) and the number of GTs of ``cls``."""
    gts = [b[lab == cls] for b, lab in ground_truths]
    dets = [
        (img, score, box)
        for img, (boxes, scores, labels) in enumerate(detections)
        for box, score, label in zip(boxes, scores, labels, strict=True)
        if label == cls
    ]
    order = np.argsort(-np.array([d[1] for d in dets]), kind="stable")
    taken = [np.zeros(len(g), dtype=bool) for g in gts]
    tp = np.zeros(len(dets), dtype=bool)
    for rank, k in enumerate(order):
        img, _, box = dets[k]
        if len(gts[img]) == 0:
            continue
        overlaps = iou_matrix(box[None], gts[img])[0]
        overlaps[taken[img]] = -1.0
        best = int(np.argmax(overlaps))
        if overlaps[best] >= iou_threshold:
            taken[img][best] = True
            tp[rank] = True
    return tp, sum(len(g) for g in gts)


def evaluate_detections(
    detections: Sequence,
    ground_truths: Sequence,
    num_classes: int,
    iou_threshold: float = 0.5,
    method: Method = "all_points",
) -> DetectionEvaluation:
    """Per-class AP and mAP of a detector over a set of images.

    Args:
        detections: one ``(boxes (K, 4), scores (K,), labels (K,))`` per image.
        ground_truths: one ``(boxes (G, 4), labels (G,))`` per image, same order.
        num_classes: labels are integers in ``[0, num_classes)``.
        iou_threshold: a detection matches a ground truth at IoU ``>=`` this.
        method: AP interpolation, see :func:`average_precision`.

    Returns:
        :class:`DetectionEvaluation`.  A class without ground truth has AP NaN
        and does not count in the mAP; a class with ground truth but no
        detections has AP 0.
    """
    if len(detections) != len(ground_truths):
        raise ValueError(
            f"need detections and ground truths for the same images: "
            f"{len(detections)} vs {len(ground_truths)}"
        )
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must lie in [0, 1], got {iou_threshold}")
    dets, gts = [], []
    for i, (det, gt) in enumerate(zip(detections, ground_truths, strict=True)):
        b = _boxes(det[0], f"detections[{i}] boxes")
        s = np.asarray(det[1], dtype=np.float64).reshape(-1)
        if len(s) != len(b):
            raise ValueError(f"detections[{i}]: {len(b)} boxes but {len(s)} scores")
        dets.append((b, s, _as_labels(det[2], len(b), num_classes, f"detections[{i}]")))
        g = _boxes(gt[0], f"ground_truths[{i}] boxes")
        gts.append((g, _as_labels(gt[1], len(g), num_classes, f"ground_truths[{i}]")))

    ap = np.full(num_classes, np.nan)
    precisions, recalls, counts = [], [], np.zeros(num_classes, dtype=np.int64)
    for cls in range(num_classes):
        tp, n_gt = _match_class(dets, gts, cls, iou_threshold)
        tp_cum = np.cumsum(tp)
        precision = tp_cum / np.arange(1, len(tp) + 1)
        recall = tp_cum / n_gt if n_gt else np.zeros(len(tp))
        precisions.append(precision)
        recalls.append(recall)
        counts[cls] = n_gt
        if n_gt:
            ap[cls] = average_precision(recall, precision, method)
    mean_ap = float(np.nanmean(ap)) if np.any(~np.isnan(ap)) else float("nan")
    return DetectionEvaluation(
        ap, mean_ap, precisions, recalls, counts, float(iou_threshold), method
    )


def coco_map(
    detections: Sequence,
    ground_truths: Sequence,
    num_classes: int,
    iou_thresholds: Sequence[float] | None = None,
) -> float:
    """COCO's AP@[.50:.05:.95]: the mAP with 101-point interpolation, averaged over IoU thresholds.

    The thresholds are 0.50, 0.55, ..., 0.95 by default.

    Args:
        detections: one ``(boxes (K, 4), scores (K,), labels (K,))`` per image, as in
            :func:`evaluate_detections`.
        ground_truths: one ``(boxes (G, 4), labels (G,))`` per image, same order.
        num_classes: labels are integers in ``[0, num_classes)``.
        iou_thresholds: the IoU thresholds (default: 0.50 to 0.95 in steps of 0.05).

    Returns:
        The mean over the thresholds of the mAP, a Python float; NaN when no class has
        ground truth.

    Raises:
        ValueError: as :func:`evaluate_detections` (e.g. ``detections`` and
            ``ground_truths`` differ in length).
    """
    if iou_thresholds is None:
        iou_thresholds = np.round(np.linspace(0.5, 0.95, 10), 2)
    maps = [
        evaluate_detections(detections, ground_truths, num_classes, float(t), "coco101").mean_ap
        for t in iou_thresholds
    ]
    return float(np.mean(maps))


def proposal_recall(
    proposals: Sequence[np.ndarray],
    ground_truths: Sequence[np.ndarray],
    counts: Sequence[int] = DEFAULT_COUNTS,
    iou_threshold: float = 0.5,
) -> dict[int, float]:
    """Fraction of ground-truth boxes covered by the first n proposals of their image.

    A ground-truth box counts as recalled when some proposal among the first
    ``n`` has IoU >= ``iou_threshold`` with it.

    Args:
        proposals: one (N_i, 4) ranked array per image.
        ground_truths: one (k_i, 4) array per image.
        counts: the values of n.
        iou_threshold: IoU needed to cover a box.

    Returns:
        ``{n: recall}`` with recall in [0, 1] (0 when there are no ground-truth boxes).
    """
    if len(proposals) != len(ground_truths):
        raise ValueError(
            f"need one proposal array per image, got {len(proposals)} and {len(ground_truths)}"
        )
    if not 0 < iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    if any(int(n) < 1 for n in counts):
        raise ValueError(f"counts must be >= 1, got {counts}")
    counts = sorted({int(n) for n in counts})
    hits = np.zeros(len(counts))
    total = 0
    for props, gt in zip(proposals, ground_truths, strict=True):
        g = as_boxes(np.asarray(gt).reshape(-1, 4), "ground truth")
        total += len(g)
        p = as_boxes(np.asarray(props).reshape(-1, 4), "proposals")
        if len(g) == 0 or len(p) == 0:
            continue
        good = iou_matrix(p, g) >= iou_threshold  # (N, k)
        # rank of the first proposal covering each gt box (infinite if none)
        first = np.where(good.any(axis=0), good.argmax(axis=0), np.inf)
        hits += (first[None, :] < np.array(counts)[:, None]).sum(axis=1)
    return {n: float(h / total) if total else 0.0 for n, h in zip(counts, hits, strict=True)}
