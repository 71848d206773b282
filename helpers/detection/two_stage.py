"""Fast R-CNN and Faster R-CNN: training targets, approximate joint training, inference.

One class, :class:`TwoStageDetector`, covers both detectors of the lecture:

* ``proposals="rpn"``: Faster R-CNN.  The region proposal network and the
  Fast R-CNN head share the backbone and are trained together
  (*approximate joint training*: the RPN's proposals are treated as
  constants, so no gradient flows through their coordinates; the paper's
  alternative is its 4-step alternating training).
* ``proposals="external"``: Fast R-CNN.  Proposals (selective search) are
  passed in; only the head's multi-task loss trains the network.

Shapes: images (B, 128, 128, 1); feature map (B, 16, 16, 128); anchors
(16 * 16 * A, 4) ordered (y, x, anchor); RoIs (R, 4) image coordinates with a
(R,) batch index.  Class 0 of the head is background, class c + 1 is
FashionMNIST class c.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

import helpers  # noqa: F401
from helpers.detection.anchors import anchor_shapes, assign_rpn_labels, grid_anchors
from helpers.detection.boxes import clip_boxes, decode_boxes, encode_boxes, iou_matrix
from helpers.detection.detector_models import (
    BACKBONE_STRIDE,
    build_backbone,
    build_roi_head,
    build_rpn_head,
)
from helpers.detection.nms import batched_nms, non_max_suppression
from helpers.detection.roi_pooling import crop_and_resize_tf

BOX_STD = np.array([0.1, 0.1, 0.2, 0.2])  # py-faster-rcnn's target normalisation


@dataclass
class DetectorConfig:
    """Hyper-parameters, scaled from the papers' 1000 x 600 images to 128 x 128 scenes."""

    image_size: int = 128
    num_classes: int = 10
    anchor_sizes: tuple[float, ...] = (16.0, 28.0, 48.0)  # sqrt(area) in px
    anchor_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)  # height / width
    rpn_batch: int = 128
    rpn_pre_nms: int = 300
    rpn_post_nms_train: int = 100
    rpn_post_nms_test: int = 50
    rpn_nms: float = 0.7
    rois_per_image: int = 32
    fg_fraction: float = 0.25
    fg_iou: float = 0.5
    pool_size: int = 7
    test_nms: float = 0.3
    score_threshold: float = 0.01
    max_detections: int = 20
    # Backbone BatchNorm in inference mode while training (Detectron's default). Measured on
    # lecture 10's 2,000 scenes, 3 epochs from the pre-trained network (which classifies the
    # test scenes' ground-truth boxes at 0.837): with batch statistics and Adam at 1e-3 that
    # accuracy falls to 0.59 (mAP@0.5 0.60), at 3e-4 to 0.75 (0.75), at 1e-4 to 0.73 (0.67);
    # frozen at 3e-4: 0.80 (0.78); frozen at 1e-3 it collapses to 0.38 (0.40).
    # Reproduce with benchmarks/detection_finetuning.py (these figures: one run, Dec 4 2026).
    freeze_bn: bool = True
    seed: int = 0


@dataclass
class TrainingLog:
    """Per-epoch losses and the wall time of training."""

    losses: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


class TwoStageDetector:
    """Fast R-CNN (external proposals) or Faster R-CNN (RPN proposals).

    Args:
        config: :class:`DetectorConfig`.
        proposals: ``"rpn"`` (Faster R-CNN) or ``"external"`` (Fast R-CNN).
    """

    def __init__(self, config: DetectorConfig | None = None, proposals: str = "rpn"):
        if proposals not in ("rpn", "external"):
            raise ValueError(f"proposals must be 'rpn' or 'external', got {proposals!r}")
        self.config = cfg = config or DetectorConfig()
        self.proposals = proposals
        keras.utils.set_random_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        size = cfg.image_size
        self.feature_size = size // BACKBONE_STRIDE
        self.base_anchors = anchor_shapes(cfg.anchor_sizes, cfg.anchor_ratios)
        self.anchors = grid_anchors(self.feature_size, self.feature_size, BACKBONE_STRIDE,
                                    self.base_anchors + BACKBONE_STRIDE / 2)
        self.backbone = build_backbone((size, size, 1))
        self.rpn = None
        if proposals == "rpn":
            self.rpn = build_rpn_head(num_anchors=len(self.base_anchors))
        self.head = build_roi_head(cfg.pool_size, num_classes=cfg.num_classes)
        self.models = [m for m in (self.backbone, self.rpn, self.head) if m is not None]
        self.optimizer = None

    def init_backbone_from(self, model) -> int:
        """Copy the weights of every backbone layer found by name in ``model``, and the RoI
        head's when ``model`` has a sub-model ``roi_head`` of the same architecture.

        The detectors start from a network pre-trained on classification (the papers use
        ImageNet, which trains VGG16's convolutions and its fully connected fc6 and fc7;
        lecture 10 uses :func:`~helpers.detection.localisation.pretrain_backbone`).

        Returns:
            the number of layers copied.

        Raises:
            ValueError: no layer of the backbone is in ``model``.
        """
        names = {layer.name for layer in model.layers}
        copied = 0
        for layer in self.backbone.layers:
            if layer.weights and layer.name in names:
                layer.set_weights(model.get_layer(layer.name).get_weights())
                copied += 1
        if copied == 0:
            raise ValueError(f"{model.name!r} has none of the backbone's layers "
                             f"({[la.name for la in self.backbone.layers if la.weights][:3]}...)")
        if "roi_head" in names:
            source = model.get_layer("roi_head")
            source_names = {la.name for la in source.layers}
            for layer in self.head.layers:
                same = layer.weights and layer.name in source_names
                weights = source.get_layer(layer.name).get_weights() if same else []
                if same and [w.shape for w in weights] == [tuple(w.shape) for w in layer.weights]:
                    layer.set_weights(weights)
                    copied += 1
        return copied

    # ---------------------------------------------------------------- forward pieces
    @property
    def trainable_variables(self):
        return [v for m in self.models for v in m.trainable_variables]

    def _pool(self, fmap, rois: np.ndarray, batch_index: np.ndarray):
        size = (self.config.pool_size, self.config.pool_size)
        return crop_and_resize_tf(fmap, rois, batch_index, size,
                                  1.0 / BACKBONE_STRIDE, pool=True)

    def _proposals_from_rpn(self, logits: np.ndarray, deltas: np.ndarray, post_nms: int):
        """Per image: top-scoring anchors -> decoded, clipped boxes -> NMS -> (boxes, scores)."""
        cfg, size = self.config, self.config.image_size
        out = []
        for obj, dlt in zip(logits.reshape(len(logits), -1), deltas.reshape(len(deltas), -1, 4),
                            strict=True):
            top = np.argsort(-obj)[: cfg.rpn_pre_nms]
            boxes = clip_boxes(decode_boxes(self.anchors[top], dlt[top]), size, size)
            wh = boxes[:, 2:] - boxes[:, :2]
            ok = np.all(wh >= 2.0, axis=1)
            boxes, scores = boxes[ok], obj[top][ok]
            keep = non_max_suppression(boxes, scores, cfg.rpn_nms, max_output=post_nms)
            out.append((boxes[keep], 1 / (1 + np.exp(-scores[keep]))))
        return out

    # ---------------------------------------------------------------- training targets
    def rpn_targets(self, gt_boxes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Sampled RPN labels (B, N_anchors) in {1, 0, -1} and deltas (B, N_anchors, 4).

        The RPN's deltas are not normalised (as in py-faster-rcnn); the head's are.
        """
        cfg, size = self.config, self.config.image_size
        labels, targets = [], []
        for gt in gt_boxes:
            lab, matched = assign_rpn_labels(self.anchors, gt, size, size, batch_size=cfg.rpn_batch,
                                             rng=self.rng)
            tgt = np.zeros((len(self.anchors), 4))
            pos = lab == 1
            if pos.any():
                tgt[pos] = encode_boxes(self.anchors[pos], gt[matched[pos]])
            labels.append(lab)
            targets.append(tgt)
        return np.array(labels, np.float32), np.array(targets, np.float32)

    def sample_rois(self, proposals: list[np.ndarray], gt_boxes: list[np.ndarray],
                    gt_labels: list[np.ndarray]):
        """Fast R-CNN minibatch: per image ``rois_per_image`` RoIs, 25 % foreground.

        Ground-truth boxes join the proposals (so the head sees positives from the first
        step).  Foreground: IoU >= 0.5 with a ground truth, labelled with its class + 1;
        background: IoU < 0.5, label 0.

        Returns:
            rois (R, 4), batch index (R,), labels (R,), normalised deltas (R, 4).
        """
        cfg = self.config
        n_fg_max = int(round(cfg.rois_per_image * cfg.fg_fraction))
        rois, index, labels, targets = [], [], [], []
        for i, (props, gt, lab) in enumerate(zip(proposals, gt_boxes, gt_labels, strict=True)):
            cand = np.concatenate([props.reshape(-1, 4), gt.reshape(-1, 4)])
            if len(gt):
                ious = iou_matrix(cand, gt)
                best, match = ious.max(axis=1), ious.argmax(axis=1)
            else:
                best, match = np.zeros(len(cand)), np.zeros(len(cand), int)
            fg, bg = np.flatnonzero(best >= cfg.fg_iou), np.flatnonzero(best < cfg.fg_iou)
            fg = self.rng.permutation(fg)[:n_fg_max]
            n_bg = cfg.rois_per_image - len(fg)
            bg = self.rng.choice(bg, n_bg, replace=len(bg) < n_bg) if len(bg) else bg
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
            targets.append(t)
        return (np.concatenate(rois), np.concatenate(index), np.concatenate(labels),
                np.concatenate(targets).astype(np.float32))

    # ---------------------------------------------------------------- losses
    @staticmethod
    def _smooth_l1(diff, beta: float):
        a = tf.abs(diff)
        return tf.where(a < beta, 0.5 * a * a / beta, a - 0.5 * beta)

    def _rpn_loss(self, logits, deltas, labels, targets):
        logits = tf.reshape(logits, (tf.shape(logits)[0], -1))
        deltas = tf.reshape(deltas, (tf.shape(deltas)[0], -1, 4))
        sampled = tf.cast(labels >= 0, tf.float32)
        ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.maximum(labels, 0.0), logits=logits)
        cls = tf.reduce_sum(ce * sampled) / tf.maximum(tf.reduce_sum(sampled), 1.0)
        pos = tf.cast(labels > 0, tf.float32)
        box = tf.reduce_sum(self._smooth_l1(deltas - targets, 1 / 9) * pos[..., None])
        return cls, box / tf.maximum(tf.reduce_sum(pos), 1.0)

    def _head_loss(self, fmap, rois, index, labels, targets, training: bool):
        logits, deltas = self.head(self._pool(fmap, rois, index), training=training)
        y = tf.cast(labels, tf.int32)
        cls = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        own = tf.gather(deltas, y, batch_dims=1)  # (R, 4): the deltas of each RoI's own class
        fg = tf.cast(y > 0, tf.float32)
        box = tf.reduce_sum(self._smooth_l1(own - targets, 1.0) * fg[:, None])
        return cls, box / tf.maximum(tf.reduce_sum(fg), 1.0)

    # ---------------------------------------------------------------- training
    def fit(self, images: np.ndarray, gt_boxes: list[np.ndarray], gt_labels: list[np.ndarray],
            epochs: int = 1, batch_size: int = 8, learning_rate: float = 3e-4,
            external_proposals: list[np.ndarray] | None = None, flip: bool = True,
            verbose: bool = True) -> TrainingLog:
        """Train end to end with Adam and a cosine learning-rate decay.

        The default learning rate, 3e-4, is a fine-tuning rate: it keeps most of what the
        pre-trained backbone and head know (see :attr:`DetectorConfig.freeze_bn`).

        Args:
            images: (N, H, W, 1) float32.
            gt_boxes, gt_labels: N arrays (k_i, 4) and (k_i,).
            external_proposals: N arrays (P_i, 4); required for Fast R-CNN.
            flip: random horizontal flips (boxes flipped with the image).
        """
        if self.proposals == "external" and external_proposals is None:
            raise ValueError("Fast R-CNN (proposals='external') needs external_proposals")
        n = len(images)
        steps = epochs * int(np.ceil(n / batch_size))
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.02)
        self.optimizer = keras.optimizers.Adam(schedule)
        log, start, width = TrainingLog(), time.perf_counter(), self.config.image_size
        for epoch in range(epochs):
            sums: dict[str, float] = {}
            order = self.rng.permutation(n)
            for lo in range(0, n, batch_size):
                idx = order[lo : lo + batch_size]
                x = images[idx]
                boxes = [gt_boxes[i] for i in idx]
                props = [external_proposals[i] for i in idx] if external_proposals else None
                if flip:
                    mirror = self.rng.random(len(idx)) < 0.5
                    x = np.where(mirror[:, None, None, None], x[:, :, ::-1], x)
                    boxes = _flip_some(boxes, mirror, width)
                    if props is not None:
                        props = _flip_some(props, mirror, width)
                parts = self._train_step(x, boxes, [gt_labels[i] for i in idx], props)
                for k, v in parts.items():
                    sums[k] = sums.get(k, 0.0) + v * len(idx)
            log.losses.append({k: v / n for k, v in sums.items()})
            if verbose:
                print(f"epoch {epoch + 1}/{epochs}: "
                      + ", ".join(f"{k} {v:.3f}" for k, v in log.losses[-1].items()))
        log.seconds = time.perf_counter() - start
        return log

    def _train_step(self, x, boxes, labels, props) -> dict[str, float]:
        """One step of approximate joint training.

        The RPN's proposals come from a forward pass in inference mode; they are
        constants of the compiled step, which computes all four losses on one
        forward pass of the backbone and back-propagates their sum.
        """
        x = tf.convert_to_tensor(x, tf.float32)
        if self.rpn is not None:
            logits, deltas = self._rpn_forward(x)
            found = self._proposals_from_rpn(logits.numpy(), deltas.numpy(),
                                             self.config.rpn_post_nms_train)
            props = [p for p, _ in found]
            rpn_labels, rpn_targets = self.rpn_targets(boxes)
        else:
            rpn_labels = rpn_targets = tf.zeros((0,))
        rois, index, y, t = self.sample_rois(props, boxes, labels)
        parts = self._compiled_step(x, rpn_labels, rpn_targets, rois.astype(np.float32),
                                    index.astype(np.int32), y.astype(np.int32), t)
        return {k: float(v) for k, v in parts.items()}

    @tf.function(reduce_retracing=True)
    def _rpn_forward(self, x):
        return self.rpn(self.backbone(x, training=False), training=False)

    @tf.function(reduce_retracing=True)
    def _infer_backbone(self, x):
        """Compiled inference: feature map, and the RPN's outputs when there is an RPN."""
        fmap = self.backbone(x, training=False)
        if self.rpn is None:
            return fmap, tf.zeros((0,)), tf.zeros((0,))
        logits, deltas = self.rpn(fmap, training=False)
        return fmap, logits, deltas

    @tf.function(reduce_retracing=True)
    def _infer_head(self, fmap, rois, index):
        logits, deltas = self.head(self._pool(fmap, rois, index), training=False)
        return tf.nn.softmax(logits), deltas

    @tf.function(reduce_retracing=True)
    def _compiled_step(self, x, rpn_labels, rpn_targets, rois, index, y, t):
        parts = {}
        with tf.GradientTape() as tape:
            # frozen BatchNorm (Detectron's default): the pre-trained statistics and scales
            fmap = self.backbone(x, training=not self.config.freeze_bn)
            total = 0.0
            if self.rpn is not None:
                logits, deltas = self.rpn(fmap, training=True)
                c, b = self._rpn_loss(logits, deltas, rpn_labels, rpn_targets)
                parts.update(rpn_cls=c, rpn_box=b)
                total = c + b
            c, b = self._head_loss(fmap, rois, index, y, t, training=True)
            parts.update(head_cls=c, head_box=b)
            total = total + c + b
        grads = tape.gradient(total, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables, strict=True))
        return parts

    # ---------------------------------------------------------------- inference
    def propose(self, images: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """RPN proposals per image: list of (boxes (P, 4), objectness (P,))."""
        if self.rpn is None:
            raise ValueError("this detector has no RPN (proposals='external')")
        _, logits, deltas = self._infer_backbone(tf.convert_to_tensor(images, tf.float32))
        return self._proposals_from_rpn(logits.numpy(), deltas.numpy(),
                                        self.config.rpn_post_nms_test)

    def classify_boxes(self, images: np.ndarray, boxes: list[np.ndarray]) -> list[np.ndarray]:
        """The head's class probabilities for given boxes (ground truths, say), per image.

        Args:
            images: (N, H, W, 1) float32.
            boxes: N arrays (k_i, 4) of ``(x1, y1, x2, y2)`` in pixels.

        Returns:
            N arrays (k_i, num_classes + 1) of softmax probabilities, background at index 0.
        """
        index = np.concatenate([np.full(len(b), i) for i, b in enumerate(boxes)]).astype(np.int32)
        rois = np.concatenate([np.asarray(b, np.float32).reshape(-1, 4) for b in boxes])
        fmap, _, _ = self._infer_backbone(tf.convert_to_tensor(images, tf.float32))
        probs = self._infer_head(fmap, rois, index)[0].numpy()
        return [probs[index == i] for i in range(len(boxes))]

    def detect(self, images: np.ndarray, proposals: list[np.ndarray] | None = None):
        """Detections per image: list of (boxes (K, 4), scores (K,), labels (K,) in 0..9).

        Per class: deltas of that class decode each RoI, scores below
        ``score_threshold`` are dropped, NMS at ``test_nms``; the best
        ``max_detections`` over all classes are kept.
        """
        cfg, size = self.config, self.config.image_size
        fmap, logits, deltas = self._infer_backbone(tf.convert_to_tensor(images, tf.float32))
        if self.rpn is not None:
            proposals = [p for p, _ in self._proposals_from_rpn(
                logits.numpy(), deltas.numpy(), cfg.rpn_post_nms_test)]
        elif proposals is None:
            raise ValueError("Fast R-CNN needs proposals for every image")
        index = np.concatenate([np.full(len(p), i) for i, p in enumerate(proposals)])
        rois = np.concatenate([np.asarray(p).reshape(-1, 4) for p in proposals])
        probs, deltas = self._infer_head(fmap, rois.astype(np.float32), index.astype(np.int32))
        probs = probs.numpy()[:, 1:]
        deltas = deltas.numpy()[:, 1:] * BOX_STD
        results = []
        for i in range(len(images)):
            rows = np.flatnonzero(index == i)
            r, p, d = rois[rows], probs[rows], deltas[rows]
            rr, cc = np.nonzero(p > cfg.score_threshold)
            if len(rr) == 0:
                results.append((np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)))
                continue
            boxes = clip_boxes(decode_boxes(r[rr], d[rr, cc]), size, size)
            scores = p[rr, cc]
            keep = batched_nms(boxes, scores, cc, cfg.test_nms)[: cfg.max_detections]
            results.append((boxes[keep], scores[keep], cc[keep].astype(np.int64)))
        return results


def _flip_some(boxes: list[np.ndarray], mirror: np.ndarray, width: float) -> list[np.ndarray]:
    """Mirror the boxes of the images where ``mirror`` is True: x -> width - x."""
    out = []
    for b, m in zip(boxes, mirror, strict=True):
        b = np.asarray(b, np.float64).reshape(-1, 4)
        flipped = np.stack([width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], axis=1)
        out.append(flipped if m else b)
    return out
