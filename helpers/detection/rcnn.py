"""The original R-CNN (Girshick et al., CVPR 2014), small-scale, on FashionMNIST scenes.

Stages (each timed in :attr:`RCNNBundle.timings`, seconds):

1. ``pretrain`` (optional): supervised pre-training of the region CNN on
   plain FashionMNIST items, the stand-in for ImageNet pre-training.
2. ``finetune``: fine-tune the CNN on warped proposals: IoU >= 0.5 with a
   ground-truth box -> that box's class, otherwise background, sampled to a
   25 % foreground fraction (the paper's 32 of 128 per batch).
3. ``features``: the CNN's penultimate layer (``"features"``) for ground-
   truth boxes and proposals, scaled so their mean L2 norm is 20 (as R-CNN).
4. ``svm``: one linear SVM per class: positives = ground-truth boxes of the
   class, negatives = proposals with IoU < 0.3 with every box of the class,
   with hard-negative mining (stages 4 and 5: :mod:`helpers.detection.rcnn_heads`).
5. ``bbox_regression``: one ridge regressor per class from features to
   :func:`~helpers.detection.boxes.encode_boxes` targets, on proposals with
   IoU >= 0.6 with a box of the class.

Class indices: the CNN has ``num_classes = 11`` outputs, **0 is background**
and ``c + 1`` is FashionMNIST class ``c`` (as :mod:`helpers.detection.two_stage`);
SVMs, regressors and detections use the FashionMNIST ids 0-9.

Warping (the paper's 16 px of context at 227 px, scaled to 2 px at 32 px):
the box is dilated so that, after warping to ``size x size``, ``padding``
pixels of image context surround it; pixels outside the image are
``fill_value`` (the scenes' background is 0).

Test time is reported per image **without** proposals, as in the Fast R-CNN
paper's table (R-CNN 47 s/image on a GPU, plus selective search on a CPU);
:func:`timed_proposals` measures proposal time separately.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras
import numpy as np

from helpers.detection.boxes import as_boxes, clip_boxes, decode_boxes, iou_matrix
from helpers.detection.nms import batched_nms
from helpers.detection.rcnn_heads import (
    NUM_OBJECT_CLASSES,
    Windows,
    train_class_regressors,
    train_class_svms,
)
from helpers.detection.scenes import DetectionScenes
from helpers.detection.selective_search import selective_search
from helpers.training.progress import fit_verbose, progress

FEATURE_NORM = 20.0
# (training scenes, train_rcnn keyword arguments) per run mode
FAST_SETTINGS = (200, {"epochs": 1, "max_proposals": 100, "fg_per_scene": 8})
FULL_SETTINGS = (600, {"epochs": 4, "max_proposals": 2000})


def warp_regions(image: np.ndarray, boxes: object, size: int = 32, padding: float = 2,
                 fill_value: float = 0.0) -> np.ndarray:
    """Bilinear warp of each box, plus ``padding`` output pixels of context, to ``size x size``.

    Args:
        image: (H, W) or (H, W, C) float image.
        boxes: (R, 4) corners in pixels, each with positive width and height.
        size: output side in pixels.
        padding: context in *output* pixels on each side (0 <= padding < size / 2).
        fill_value: value of pixels outside the image.

    Returns:
        (R, size, size, C) float32.  A ``(size - 2 padding)``-pixel box is copied exactly.
    """
    img = np.asarray(image, np.float32)
    img = img[..., None] if img.ndim == 2 else img
    if img.ndim != 3:
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {np.shape(image)}")
    if size < 1 or not 0 <= padding < size / 2:
        raise ValueError(f"need size >= 1 and 0 <= padding < size / 2, got {size}, {padding}")
    b = np.zeros((0, 4)) if np.size(boxes) == 0 else as_boxes(boxes)
    wh = b[:, 2:] - b[:, :2]
    if np.any(wh <= 0):
        raise ValueError("warp_regions needs boxes with positive width and height")
    step = wh / (size - 2 * padding)  # (R, 2) input pixels per output pixel
    start = b[:, :2] - padding * step
    grid = np.arange(size) + 0.5
    # sample positions in array coordinates (pixel c has its centre at c + 0.5)
    xs = start[:, 0:1] + grid * step[:, 0:1] - 0.5  # (R, size)
    ys = start[:, 1:2] + grid * step[:, 1:2] - 0.5
    h, w = img.shape[:2]
    out = np.zeros((len(b), size, size, img.shape[2]), np.float32)
    x0, y0 = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
    fx, fy = (xs - x0)[:, None, :, None], (ys - y0)[:, :, None, None]
    for dy, wy in ((0, 1 - fy), (1, fy)):
        yy = y0 + dy
        vy = (yy >= 0) & (yy < h)
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xx = x0 + dx
            vx = (xx >= 0) & (xx < w)
            vals = img[np.clip(yy, 0, h - 1)[:, :, None], np.clip(xx, 0, w - 1)[:, None, :]]
            valid = (vy[:, :, None] & vx[:, None, :])[..., None]
            out += (wy * wx * np.where(valid, vals, fill_value)).astype(np.float32)
    return out


def build_region_cnn(input_size: int = 32, num_classes: int = 11, channels: int = 1,
                     width: int = 16, feature_dim: int = 128, dropout: float = 0.3):
    """Small CNN for warped regions; class 0 is background, ``c + 1`` FashionMNIST class ``c``.

    Three conv(3x3)-ReLU-maxpool stages (``width``, 2 ``width``, 4 ``width``
    filters), a ``feature_dim`` ReLU layer named ``"features"`` (R-CNN's fc7)
    and a softmax over ``num_classes``.

    Args:
        input_size: side of the warped regions, in pixels.
        num_classes: outputs of the softmax (background included).
        channels: channels of the regions (1 for FashionMNIST scenes).
        width: filters of the first stage.
        feature_dim: units of the ``"features"`` layer.
        dropout: dropout rate before the softmax.

    Returns:
        An uncompiled ``keras.Model`` from ``(B, input_size, input_size, channels)`` to
        ``(B, num_classes)`` probabilities.
    """
    if input_size < 8 or num_classes < 2:
        raise ValueError(f"need input_size >= 8, num_classes >= 2; got {input_size}, {num_classes}")
    layers = keras.layers
    inputs = keras.Input((input_size, input_size, channels), name="region")
    x = inputs
    for k, filters in enumerate((width, 2 * width, 4 * width)):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{k + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{k + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    feats = layers.Dense(feature_dim, activation="relu", name="features")(x)
    x = layers.Dropout(dropout, name="dropout")(feats)
    outputs = layers.Dense(num_classes, activation="softmax", name="class_probs")(x)
    return keras.Model(inputs, outputs, name="region_cnn")


@dataclass
class RCNNBundle:
    """Everything :func:`rcnn_detect` needs, plus training records.

    ``model``: the fine-tuned classifier (11 outputs, 0 = background);
    ``feature_model``: the same network returning ``[features (B, D), probs (B, 11)]``;
    ``feature_scale``: gives training features a mean L2 norm of 20; SVMs (10, D)
    and (10,), ridge regressors (10, D, 4) and (10, 4), all on scaled features;
    ``timings`` (s per stage), fine-tuning ``history`` per epoch, ``svm_history``
    (mining rounds per class) and ``counts`` of training windows.
    """

    model: object
    feature_model: object
    feature_scale: float
    svm_weights: np.ndarray
    svm_bias: np.ndarray
    reg_weights: np.ndarray
    reg_bias: np.ndarray
    input_size: int
    padding: float
    timings: dict[str, float] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    svm_history: list[list[dict[str, int]]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _valid(proposals: object, height: int, width: int, limit: int | None) -> np.ndarray:
    """Clip proposals to the image, drop those thinner than 1 px, keep the first ``limit``."""
    p = np.zeros((0, 4)) if np.size(proposals) == 0 else as_boxes(proposals)
    p = clip_boxes(p, height, width)
    p = p[np.all(p[:, 2:] - p[:, :2] >= 1, axis=1)]
    return p[:limit]


def _forward(feature_model, windows: np.ndarray, batch: int = 1024) -> tuple[np.ndarray, ...]:
    """(R, S, S, C) windows -> features (R, D) and class probabilities (R, 11), batched."""
    outs = [feature_model.predict_on_batch(windows[i:i + batch])
            for i in range(0, len(windows), batch)]
    if not outs:
        return tuple(np.zeros((0, o.shape[-1]), np.float32) for o in feature_model.outputs)
    return tuple(np.concatenate([np.asarray(o[k]) for o in outs]) for k in range(2))


def _features(feature_model, images: np.ndarray, windows: Sequence[np.ndarray], size: int,
              padding: float, per_chunk: int = 32) -> list[np.ndarray]:
    """Unscaled features (N_i, D) of ``windows[i]`` (N_i, 4) in ``images[i]``, 32 images at once."""
    out: list[np.ndarray] = []
    for s in range(0, len(windows), per_chunk):
        part = range(s, min(s + per_chunk, len(windows)))
        x = np.concatenate([warp_regions(images[i], windows[i], size, padding) for i in part])
        f = _forward(feature_model, x)[0]
        out += np.split(f, np.cumsum([len(windows[i]) for i in part])[:-1])
    return out


def _sample_windows(classes: np.ndarray, fg_per_scene: int, fg_fraction: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Indices of up to ``fg_per_scene`` foreground windows (class > 0) and enough
    background windows for a ``fg_fraction`` foreground share (fewer if the scene lacks them)."""
    fg, bg = np.flatnonzero(classes > 0), np.flatnonzero(classes == 0)
    fg = rng.permutation(fg)[:fg_per_scene]
    n_bg = int(round(max(len(fg), 1) * (1 - fg_fraction) / fg_fraction))
    return np.concatenate([fg, rng.permutation(bg)[:n_bg]])


def _pretrain_windows(n: int, size: int, padding: float, seed: int) -> tuple[np.ndarray, ...]:
    """``n`` FashionMNIST training items (scenes' train pool) warped like ground-truth boxes."""
    from helpers.data import load_fashion_mnist

    data = load_fashion_mnist()
    idx = np.random.default_rng(seed).permutation(55_000)[:n]
    items = data.x_train[idx].astype(np.float32) / 255.0
    x = np.concatenate([warp_regions(im, [[0, 0, 28, 28]], size, padding) for im in items])
    return x, data.y_train[idx].astype(np.int64) + 1


def _windows(scenes: DetectionScenes, proposals: Sequence[np.ndarray],
             limit: int | None) -> list[Windows]:
    h, w = scenes.images.shape[1:3]
    out = []
    for gt, lab, props in zip(scenes.boxes, scenes.labels, proposals, strict=True):
        gt = np.asarray(gt, np.float64).reshape(-1, 4)
        boxes = np.concatenate([gt, _valid(props, h, w, limit)])
        ious = iou_matrix(boxes, gt) if len(gt) else np.zeros((len(boxes), 0))
        match = ious.argmax(axis=1) if len(gt) else np.zeros(len(boxes), np.int64)
        fg = ious.max(axis=1) >= 0.5 if len(gt) else np.zeros(len(boxes), bool)
        target = np.where(fg, np.asarray(lab)[match] + 1, 0) if len(gt) else match
        out.append(Windows(boxes, len(gt), ious, match, target))
    return out


def train_rcnn(scenes: DetectionScenes, proposals: Sequence[np.ndarray], epochs: int = 1,
               input_size: int = 32, padding: float = 2, fg_fraction: float = 0.25,
               fg_per_scene: int = 16, max_proposals: int | None = 2000,
               pretrain_items: int = 0, width: int = 16, batch_size: int = 128,
               learning_rate: float = 1e-3, svm_C: float = 0.01, svm_rounds: int = 3,
               ridge_alpha: float = 100.0, seed: int = 0,
               verbose: int | None = None) -> RCNNBundle:
    """All R-CNN training stages on ``scenes`` with precomputed ranked ``proposals``.

    Args:
        scenes: training scenes (N images).
        proposals: N arrays (n_i, 4), e.g. from :func:`timed_proposals`; the first
            ``max_proposals`` of each are used.
        epochs: fine-tuning epochs; each draws fresh windows: per scene up to
            ``fg_per_scene`` foreground windows plus background for ``fg_fraction``.
        input_size, padding: warp size and context (output pixels).
        pretrain_items: FashionMNIST items for one epoch of pre-training (0: none).
        width: filters of the CNN's first stage.
        svm_C, svm_rounds: linear SVM C and hard-negative mining rounds; ``svm_C``
            and ``ridge_alpha`` act on features scaled to mean norm 20, as the
            paper's C = 0.001 and lambda = 1000 do on its 4096-/9216-d features.
        seed: seeds Keras (:func:`keras.utils.set_random_seed`), sampling and SVMs.
        verbose: Keras' ``fit`` verbosity (None: one line per epoch in full mode, silent in
            fast mode).

    Fast mode: ``n, kwargs = FAST_SETTINGS`` (``n`` training scenes), full mode:
    ``FULL_SETTINGS``.

    Returns:
        :class:`RCNNBundle` with per-stage ``timings`` in seconds.
    """
    verbose = fit_verbose() if verbose is None else verbose
    if len(proposals) != len(scenes):
        raise ValueError(f"need one proposal array per scene: {len(proposals)} vs {len(scenes)}")
    if epochs < 1 or not 0 < fg_fraction < 1 or fg_per_scene < 1:
        raise ValueError(f"need epochs >= 1, 0 < fg_fraction < 1, fg_per_scene >= 1; got "
                         f"{epochs}, {fg_fraction}, {fg_per_scene}")
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    timings: dict[str, float] = {}
    model = build_region_cnn(input_size, NUM_OBJECT_CLASSES + 1, scenes.images.shape[3], width)
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    t0 = time.perf_counter()
    if pretrain_items > 0:
        xp, yp = _pretrain_windows(pretrain_items, input_size, padding, seed)
        model.fit(xp, yp, batch_size=batch_size, epochs=1, verbose=verbose)
    timings["pretrain"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    wins = _windows(scenes, proposals, max_proposals)
    history: dict[str, list[float]] = {}
    counts = {"finetune_windows": 0, "finetune_foreground": 0,
              "feature_windows": sum(len(win.boxes) for win in wins)}
    for _ in range(epochs):  # fresh windows every epoch
        xs, ys = [], []
        for image, win in zip(scenes.images, wins, strict=True):
            ks = _sample_windows(win.target, fg_per_scene, fg_fraction, rng)
            xs.append(warp_regions(image, win.boxes[ks], input_size, padding))
            ys.append(win.target[ks])
        x, y = np.concatenate(xs), np.concatenate(ys)
        order = rng.permutation(len(x))
        fit = model.fit(x[order], y[order], batch_size=batch_size, epochs=1, verbose=verbose)
        for k, v in fit.history.items():
            history.setdefault(k, []).append(float(v[-1]))
        counts["finetune_windows"] += len(y)
        counts["finetune_foreground"] += int(np.sum(y > 0))
    timings["finetune"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    feature_model = keras.Model(model.input, [model.get_layer("features").output, model.output])
    feats = _features(feature_model, scenes.images, [w.boxes for w in wins], input_size, padding)
    norm = float(np.mean(np.linalg.norm(np.concatenate(feats), axis=1)))
    scale = FEATURE_NORM / max(norm, 1e-12)
    feats = [f * scale for f in feats]
    timings["features"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    svm_w, svm_b, svm_history = train_class_svms(feats, wins, scenes.labels, svm_rounds, svm_C,
                                                 seed)
    timings["svm"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    reg_w, reg_b = train_class_regressors(feats, wins, scenes, ridge_alpha)
    timings["bbox_regression"] = time.perf_counter() - t0
    timings["total"] = sum(timings.values())
    return RCNNBundle(model, feature_model, scale, svm_w, svm_b, reg_w, reg_b, input_size,
                      padding, timings, history, svm_history, counts)


def rcnn_detect(bundle: RCNNBundle, image: np.ndarray, proposals: object,
                max_proposals: int | None = 2000, nms_threshold: float = 0.3,
                score_threshold: float | None = None, max_detections: int = 100,
                box_regression: bool = True, scoring: str = "svm"):
    """Detect objects in one (H, W, C) image from its ranked (N, 4) proposals.

    Every proposal is scored by every class (SVM decision value, or the CNN's
    softmax probability with ``scoring="softmax"``), moved by that class's box
    regressor, clipped, and per-class NMS at ``nms_threshold`` keeps the best.

    Args:
        bundle: a trained R-CNN (:func:`train_rcnn`).
        image: ``(H, W, C)`` float image in ``[0, 1]``.
        proposals: ``(N, 4)`` ranked boxes ``(x1, y1, x2, y2)`` in pixels.
        max_proposals: how many of the first proposals to score (None: all).
        nms_threshold: IoU above which a lower-scored box of the same class is dropped.
        score_threshold: drop detections scoring below it (None: keep all).
        max_detections: at most this many detections, best first.
        box_regression: move each box by its class's regressor.
        scoring: ``"svm"`` (the classes' SVMs) or ``"softmax"`` (the fine-tuned CNN).

    Returns:
        ``(boxes (K, 4), scores (K,), labels (K,))`` with labels in 0-9, by decreasing score.
    """
    if scoring not in ("svm", "softmax"):
        raise ValueError(f"scoring must be 'svm' or 'softmax', got {scoring!r}")
    img = np.asarray(image, np.float32)
    h, w = img.shape[:2]
    p = _valid(proposals, h, w, max_proposals)
    if len(p) == 0:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)
    windows = warp_regions(img, p, bundle.input_size, bundle.padding)
    feats, probs = _forward(bundle.feature_model, windows)
    feats = feats * bundle.feature_scale
    scores = feats @ bundle.svm_weights.T + bundle.svm_bias if scoring == "svm" else probs[:, 1:]
    if box_regression:
        deltas = np.einsum("nd,cdk->cnk", feats, bundle.reg_weights) + bundle.reg_bias[:, None]
        boxes = np.stack([clip_boxes(decode_boxes(p, d), h, w) for d in deltas])  # (10, N, 4)
    else:
        boxes = np.broadcast_to(p, (NUM_OBJECT_CLASSES, *p.shape))
    labels = np.repeat(np.arange(NUM_OBJECT_CLASSES), len(p))
    boxes, scores = boxes.reshape(-1, 4), scores.T.reshape(-1)
    keep = np.all(boxes[:, 2:] - boxes[:, :2] > 0, axis=1)
    if score_threshold is not None:
        keep &= scores >= score_threshold
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    kept = batched_nms(boxes, scores, labels, nms_threshold, max_output=max_detections)
    return boxes[kept], scores[kept], labels[kept]


@dataclass
class RCNNEvaluation:
    """mAP@IoU of R-CNN on a set of scenes and the test time per image (proposals excluded)."""

    mean_ap: float
    ap: np.ndarray
    seconds_per_image: float
    detections: list = field(repr=False)


def evaluate_rcnn(bundle: RCNNBundle, scenes: DetectionScenes, proposals: Sequence[np.ndarray],
                  iou_threshold: float = 0.5, **detect_kwargs) -> RCNNEvaluation:
    """Run :func:`rcnn_detect` image by image and compute VOC AP (all points).

    ``seconds_per_image`` is the steady-state detection time (after one untimed
    warm-up image), proposals excluded, as in the Fast R-CNN paper's table.

    Args:
        bundle: a trained R-CNN.
        scenes: the test scenes (images, boxes, labels).
        proposals: per scene, its ``(N_i, 4)`` ranked proposals.
        iou_threshold: IoU a detection needs with a ground truth to count.
        **detect_kwargs: passed to :func:`rcnn_detect`.

    Returns:
        An :class:`RCNNEvaluation`: the detection evaluation and the seconds per image.
    """
    from helpers.detection.evaluation import evaluate_detections

    if len(proposals) != len(scenes):
        raise ValueError(f"need one proposal array per scene: {len(proposals)} vs {len(scenes)}")
    if len(scenes):  # warm-up (graph tracing), not timed
        rcnn_detect(bundle, scenes.images[0], proposals[0], **detect_kwargs)
    t0 = time.perf_counter()
    dets = [rcnn_detect(bundle, im, p, **detect_kwargs)
            for im, p in progress(zip(scenes.images, proposals, strict=True), "R-CNN detect",
                                  total=len(scenes))]
    seconds = (time.perf_counter() - t0) / max(len(scenes), 1)
    res = evaluate_detections(dets, list(zip(scenes.boxes, scenes.labels, strict=True)),
                              NUM_OBJECT_CLASSES, iou_threshold)
    return RCNNEvaluation(res.mean_ap, res.ap, seconds, dets)


def timed_proposals(images: np.ndarray, max_proposals: int | None = 2000,
                    **search_kwargs) -> tuple[list[np.ndarray], float]:
    """Selective search on every image, timed.

    Args:
        images: ``(N, H, W, C)`` float images in ``[0, 1]``.
        max_proposals: keep the first this many proposals of each image (None: all).
        **search_kwargs: passed to :func:`~helpers.detection.selective_search.selective_search`.

    Returns:
        ``(proposals, seconds)``: per image its ``(n_i, 4)`` ranked boxes, and the mean wall
        time per image, in seconds.
    """
    t0 = time.perf_counter()
    props = [selective_search(im, **search_kwargs)[:max_proposals]
             for im in progress(images, "selective search")]
    return props, (time.perf_counter() - t0) / max(len(images), 1)
