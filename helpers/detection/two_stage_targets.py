"""Training targets and losses of Fast and Faster R-CNN (:mod:`helpers.detection.two_stage`).

Shapes as there: anchors (N_anchors, 4) and boxes ``(x1, y1, x2, y2)`` in image pixels;
RoIs (R, 4) with a (R,) batch index; class 0 is background, class c + 1 FashionMNIST class c.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from helpers.detection.anchors import assign_rpn_labels
from helpers.detection.boxes import encode_boxes, iou_matrix

BOX_STD = np.array([0.1, 0.1, 0.2, 0.2])  # py-faster-rcnn's target normalisation


def rpn_targets(anchors: np.ndarray, gt_boxes: list[np.ndarray], image_size: int,
                batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sampled RPN labels and box deltas for a batch of images.

    The RPN's deltas are not normalised (as in py-faster-rcnn); the head's are.

    Args:
        anchors: (N_anchors, 4) in pixels.
        gt_boxes: B arrays (k_i, 4) of ground-truth boxes.
        image_size: side of the square images in pixels.
        batch: anchors sampled per image (half positive at most).
        rng: the sampling's random generator.

    Returns:
        labels (B, N_anchors) float32 in {1, 0, -1} (-1: not sampled) and deltas
        (B, N_anchors, 4) float32 (zero where the label is not 1).
    """
    labels, deltas = [], []
    for gt in gt_boxes:
        lab, matched = assign_rpn_labels(anchors, gt, image_size, image_size, batch_size=batch,
                                         rng=rng)
        tgt = np.zeros((len(anchors), 4))
        pos = lab == 1
        if pos.any():
            tgt[pos] = encode_boxes(anchors[pos], gt[matched[pos]])
        labels.append(lab)
        deltas.append(tgt)
    return np.array(labels, np.float32), np.array(deltas, np.float32)


def sample_rois(proposals: list[np.ndarray], gt_boxes: list[np.ndarray],
                gt_labels: list[np.ndarray], rois_per_image: int, fg_fraction: float,
                fg_iou: float, rng: np.random.Generator):
    """Fast R-CNN minibatch: per image ``rois_per_image`` RoIs, ``fg_fraction`` foreground.

    Ground-truth boxes join the proposals (so the head sees positives from the first
    step).  Foreground: IoU >= ``fg_iou`` with a ground truth, labelled with its class + 1;
    background: IoU below it, label 0.

    Args:
        proposals: B arrays (P_i, 4).
        gt_boxes, gt_labels: B arrays (k_i, 4) and (k_i,).
        rois_per_image: RoIs sampled per image.
        fg_fraction: the largest fraction of them that is foreground.
        fg_iou: IoU from which a RoI is foreground.
        rng: the sampling's random generator.

    Returns:
        rois (R, 4), batch index (R,), labels (R,), deltas (R, 4) divided by ``BOX_STD``.
    """
    n_fg_max = int(round(rois_per_image * fg_fraction))
    rois, index, labels, deltas = [], [], [], []
    for i, (props, gt, lab) in enumerate(zip(proposals, gt_boxes, gt_labels, strict=True)):
        cand = np.concatenate([props.reshape(-1, 4), gt.reshape(-1, 4)])
        if len(gt):
            ious = iou_matrix(cand, gt)
            best, match = ious.max(axis=1), ious.argmax(axis=1)
        else:
            best, match = np.zeros(len(cand)), np.zeros(len(cand), int)
        fg, bg = np.flatnonzero(best >= fg_iou), np.flatnonzero(best < fg_iou)
        fg = rng.permutation(fg)[:n_fg_max]
        n_bg = rois_per_image - len(fg)
        bg = rng.choice(bg, n_bg, replace=len(bg) < n_bg) if len(bg) else bg
        pick = np.concatenate([fg, bg]).astype(int)
        r = cand[pick]
        y = np.zeros(len(pick), np.int64)
        t = np.zeros((len(pick), 4))
        if len(fg):
            y[: len(fg)] = lab[match[fg]] + 1
            t[: len(fg)] = encode_boxes(r[: len(fg)], gt[match[fg]]) / BOX_STD
        rois.append(r)
        index.append(np.full(len(pick), i))
        labels.append(y)
        deltas.append(t)
    return (np.concatenate(rois), np.concatenate(index), np.concatenate(labels),
            np.concatenate(deltas).astype(np.float32))


def smooth_l1(diff, beta: float):
    """Smooth L1 (Huber divided by ``beta``) of every element of ``diff``.

    Args:
        diff: predicted minus target deltas, any shape.
        beta: where the loss turns from quadratic to linear.

    Returns:
        A tensor of ``diff``'s shape.
    """
    a = tf.abs(diff)
    return tf.where(a < beta, 0.5 * a * a / beta, a - 0.5 * beta)


def rpn_loss(logits, deltas, labels, targets):
    """The RPN's objectness cross-entropy over the sampled anchors and its box loss.

    Args:
        logits: (B, h, w, A) objectness logits.
        deltas: (B, h, w, 4A) box deltas.
        labels: (B, N_anchors) in {1, 0, -1}, as :func:`rpn_targets` gives them.
        targets: (B, N_anchors, 4) target deltas.

    Returns:
        ``(classification loss, box loss)``, scalars: the mean over sampled anchors and
        the smooth L1 (beta 1/9) summed over positives divided by their number.
    """
    logits = tf.reshape(logits, (tf.shape(logits)[0], -1))
    deltas = tf.reshape(deltas, (tf.shape(deltas)[0], -1, 4))
    sampled = tf.cast(labels >= 0, tf.float32)
    ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.maximum(labels, 0.0), logits=logits)
    cls = tf.reduce_sum(ce * sampled) / tf.maximum(tf.reduce_sum(sampled), 1.0)
    pos = tf.cast(labels > 0, tf.float32)
    box = tf.reduce_sum(smooth_l1(deltas - targets, 1 / 9) * pos[..., None])
    return cls, box / tf.maximum(tf.reduce_sum(pos), 1.0)


def flip_boxes(boxes: list[np.ndarray], mirror: np.ndarray, width: float) -> list[np.ndarray]:
    """Mirror the boxes of the images where ``mirror`` is True: x -> width - x.

    Args:
        boxes: per image (k_i, 4) boxes in pixels.
        mirror: (B,) bool, which images were flipped.
        width: image width in pixels.

    Returns:
        The boxes, flipped where ``mirror`` is True, as float64 (k_i, 4) arrays.
    """
    out = []
    for b, m in zip(boxes, mirror, strict=True):
        b = np.asarray(b, np.float64).reshape(-1, 4)
        flipped = np.stack([width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], axis=1)
        out.append(flipped if m else b)
    return out
