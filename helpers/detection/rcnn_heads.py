"""R-CNN's per-class heads on CNN features (Girshick et al. 2014, stages 4 and 5).

* :func:`train_svm_hard_negatives`: one linear SVM with hard-negative mining (the negative
  cache); :func:`train_class_svms` trains one per class.
* :func:`fit_box_regressor`: ridge regression from features to box offsets;
  :func:`train_class_regressors` fits one per class.

Classes are the FashionMNIST ids ``0 .. NUM_OBJECT_CLASSES - 1`` (no background: a proposal
that is no object of class c is a negative of c's SVM). :mod:`helpers.detection.rcnn` builds
the :class:`Windows` and runs the whole pipeline.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from helpers.detection.boxes import encode_boxes
from helpers.detection.scenes import DetectionScenes

NUM_OBJECT_CLASSES = 10


class Windows(NamedTuple):
    """Training windows of one scene: ground truths first, then proposals."""

    boxes: np.ndarray  # (N, 4)
    n_gt: int
    overlaps: np.ndarray  # (N, n_gt) IoU with the ground truths
    match: np.ndarray  # (N,) index of the best ground truth (0 if none)
    target: np.ndarray  # (N,) fine-tuning class: 0 background, c + 1 for class c


def train_svm_hard_negatives(positives: np.ndarray, negatives: np.ndarray, rounds: int = 3,
                             initial_negatives: int = 1000, max_new: int = 2000, C: float = 0.01,
                             positive_weight: float = 2.0, hard_threshold: float = -1.0,
                             seed: int = 0):
    """Linear SVM with hard-negative mining (R-CNN's negative cache).

    Start from all positives and a random ``initial_negatives`` cache; each round
    fits :class:`sklearn.svm.LinearSVC` (hinge loss), scores every negative and
    adds up to ``max_new`` uncached ones scoring above ``hard_threshold`` (inside
    the margin), hardest first.  Positives are never dropped; the cache only grows.

    Args:
        positives: ``(P, D)`` features, P >= 1.
        negatives: ``(M, D)`` features, M >= 1.
        rounds: fits at most (each after the cache grew).
        initial_negatives: size of the random first cache.
        max_new: negatives added per round at most.
        C: the SVM's inverse regularisation.
        positive_weight: class weight of the positives (the negatives weigh 1).
        hard_threshold: a negative scoring above this is hard.
        seed: the first cache's and the SVM's random state.

    Returns:
        ``(svm, cache, history)``: the final LinearSVC, (K,) indices of the cached
        negatives, and one ``{"round", "positives", "negatives", "added"}`` dict per round.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    pos, neg = np.asarray(positives, np.float64), np.asarray(negatives, np.float64)
    if pos.ndim != 2 or neg.shape[1:] != pos.shape[1:] or min(len(pos), len(neg)) == 0:
        raise ValueError(f"need (P, D) positives, (M, D) negatives; got {pos.shape}, {neg.shape}")
    rng = np.random.default_rng(seed)
    cache = np.sort(rng.permutation(len(neg))[:initial_negatives])
    history = []
    svm = None
    for r in range(max(rounds, 1)):
        svm = LinearSVC(C=C, loss="hinge", class_weight={1: positive_weight, 0: 1.0},
                        intercept_scaling=10.0, max_iter=5000, random_state=seed)
        x = np.concatenate([pos, neg[cache]])
        y = np.r_[np.ones(len(pos)), np.zeros(len(cache))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm.fit(x, y)
        scores = svm.decision_function(neg)
        scores[cache] = -np.inf
        hard = np.flatnonzero(scores > hard_threshold)
        hard = hard[np.argsort(-scores[hard], kind="stable")][:max_new]
        history.append({"round": r, "positives": len(pos), "negatives": len(cache),
                        "added": len(hard)})
        if len(hard) == 0 or r == rounds - 1:
            break
        cache = np.sort(np.r_[cache, hard])
    return svm, cache, history


def fit_box_regressor(features: np.ndarray, proposals: object, targets: object,
                      alpha: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regression from (N, D) features to ``encode_boxes(proposals, targets)`` (N, 4).

    Args:
        features: ``(N, D)`` features of the proposals.
        proposals: ``(N, 4)`` boxes ``(x1, y1, x2, y2)`` in pixels.
        targets: ``(N, 4)`` the ground-truth box each proposal is regressed onto.
        alpha: ridge penalty.

    Raises:
        ValueError: ``features`` and ``proposals`` differ in length.

    Returns:
        ``(weights (D, 4), bias (4,))``; apply with ``decode_boxes(P, features @ weights + bias)``.
    """
    from sklearn.linear_model import Ridge

    t = encode_boxes(proposals, targets)
    f = np.asarray(features, np.float64)
    if len(f) != len(t):
        raise ValueError(f"need one feature row per proposal, got {len(f)} and {len(t)}")
    ridge = Ridge(alpha=alpha).fit(f, t)
    return ridge.coef_.T.copy(), ridge.intercept_.copy()


def train_class_svms(feats: list[np.ndarray], wins: list[Windows], labels: list[np.ndarray],
                     rounds: int, C: float, seed: int
                     ) -> tuple[np.ndarray, np.ndarray, list[list[dict[str, int]]]]:
    """One SVM per class: positives = its ground truths, negatives = proposals with IoU < 0.3
    with every ground truth of the class (all proposals of a scene without the class).

    Args:
        feats: per scene, ``(N_s, D)`` features of its windows (ground truths first).
        wins: per scene, its :class:`Windows` (same order as ``feats``).
        labels: per scene, ``(n_gt,)`` FashionMNIST ids of its ground truths.
        rounds, C, seed: passed to :func:`train_svm_hard_negatives`.

    Returns:
        ``(weights (NUM_OBJECT_CLASSES, D), biases (NUM_OBJECT_CLASSES,), history)``: a class
        with no positive or no negative gets weight 0 and bias -1 (it never fires) and an empty
        history.
    """
    svm_w = np.zeros((NUM_OBJECT_CLASSES, feats[0].shape[1]))
    svm_b = np.full(NUM_OBJECT_CLASSES, -1.0)
    history: list[list[dict[str, int]]] = []
    for c in range(NUM_OBJECT_CLASSES):
        pos, neg = [], []
        for f, win, lab in zip(feats, wins, labels, strict=True):
            is_c = np.asarray(lab) == c
            pos.append(f[:win.n_gt][is_c])
            iou_c = win.overlaps[win.n_gt:, is_c]
            neg.append(f[win.n_gt:][iou_c.max(axis=1) < 0.3 if is_c.any() else slice(None)])
        pos_c, neg_c = np.concatenate(pos), np.concatenate(neg)
        if len(pos_c) == 0 or len(neg_c) == 0:  # class absent: its SVM always says -1
            history.append([])
            continue
        svm, _, hist = train_svm_hard_negatives(pos_c, neg_c, rounds, C=C, seed=seed)
        svm_w[c], svm_b[c] = svm.coef_[0], svm.intercept_[0]
        history.append(hist)
    return svm_w, svm_b, history


def train_class_regressors(feats: list[np.ndarray], wins: list[Windows],
                           scenes: DetectionScenes, alpha: float
                           ) -> tuple[np.ndarray, np.ndarray]:
    """One box regressor per class: proposals with IoU >= 0.6 with a box of the class,
    regressed onto that box (:func:`fit_box_regressor`).

    Args:
        feats: per scene, ``(N_s, D)`` features of its windows (ground truths first).
        wins: per scene, its :class:`Windows`.
        scenes: the training scenes (their ``boxes`` and ``labels``).
        alpha: ridge penalty.

    Returns:
        ``(weights (NUM_OBJECT_CLASSES, D, 4), biases (NUM_OBJECT_CLASSES, 4))``; a class with
        fewer than 2 such proposals keeps zeros (no shift).
    """
    reg_w = np.zeros((NUM_OBJECT_CLASSES, feats[0].shape[1], 4))
    reg_b = np.zeros((NUM_OBJECT_CLASSES, 4))
    for c in range(NUM_OBJECT_CLASSES):
        fs, ps, gs = [], [], []
        for f, win, gt, lab in zip(feats, wins, scenes.boxes, scenes.labels, strict=True):
            if win.n_gt == 0:
                continue
            m = win.match[win.n_gt:]
            sel = (win.overlaps[win.n_gt:].max(axis=1) >= 0.6) & (np.asarray(lab)[m] == c)
            fs.append(f[win.n_gt:][sel])
            ps.append(win.boxes[win.n_gt:][sel])
            gs.append(np.asarray(gt, np.float64)[m[sel]])
        if fs and sum(len(p) for p in ps) >= 2:  # else: no shift for this class
            reg_w[c], reg_b[c] = fit_box_regressor(np.concatenate(fs), np.concatenate(ps),
                                                   np.concatenate(gs), alpha)
    return reg_w, reg_b
