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
from helpers.detection import two_stage_targets as targets
from helpers.detection.anchors import anchor_shapes, grid_anchors
from helpers.detection.boxes import clip_boxes, decode_boxes
from helpers.detection.detector_models import (
    BACKBONE_STRIDE,
    build_backbone,
    build_roi_head,
    build_rpn_head,
)
from helpers.detection.nms import batched_nms, non_max_suppression
from helpers.detection.roi_pooling import crop_and_resize_tf
from helpers.detection.two_stage_targets import BOX_STD


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
    # Learning-rate multiplier of the pre-trained trunk (backbone, fc6, fc7) against the new
    # layers (RPN, class logits, box deltas): lecture 09's smaller rate for transferred layers.
    trunk_lr_scale: float = 1.0
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
        self.optimizer = self.trunk_optimizer = None
        self._is_trunk: list[bool] | None = None
        self._compiled_step = None  # set by fit (see _start_phase)

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

    def _trunk_mask(self) -> list[bool]:
        """Per trainable variable: True for the pre-trained trunk (backbone, fc6, fc7)."""
        trunk = {id(v) for v in self.backbone.trainable_variables}
        for name in ("fc6", "fc7"):
            trunk |= {id(v) for v in self.head.get_layer(name).trainable_variables}
        return [id(v) in trunk for v in self.trainable_variables]

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
        """Sampled RPN labels (B, N_anchors) in {1, 0, -1} and deltas (B, N_anchors, 4)
        (see :func:`~helpers.detection.two_stage_targets.rpn_targets`)."""
        return targets.rpn_targets(self.anchors, gt_boxes, self.config.image_size,
                                   self.config.rpn_batch, self.rng)

    def sample_rois(self, proposals: list[np.ndarray], gt_boxes: list[np.ndarray],
                    gt_labels: list[np.ndarray]):
        """Fast R-CNN minibatch: rois (R, 4), batch index (R,), labels (R,), normalised
        deltas (R, 4) (see :func:`~helpers.detection.two_stage_targets.sample_rois`)."""
        cfg = self.config
        return targets.sample_rois(proposals, gt_boxes, gt_labels, cfg.rois_per_image,
                                   cfg.fg_fraction, cfg.fg_iou, self.rng)

    # ---------------------------------------------------------------- losses
    def _head_loss(self, fmap, rois, index, labels, box_targets, training: bool):
        logits, deltas = self.head(self._pool(fmap, rois, index), training=training)
        y = tf.cast(labels, tf.int32)
        cls = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        own = tf.gather(deltas, y, batch_dims=1)  # (R, 4): the deltas of each RoI's own class
        fg = tf.cast(y > 0, tf.float32)
        box = tf.reduce_sum(targets.smooth_l1(own - box_targets, 1.0) * fg[:, None])
        return cls, box / tf.maximum(tf.reduce_sum(fg), 1.0)

    # ---------------------------------------------------------------- training
    def fit(self, images: np.ndarray, gt_boxes: list[np.ndarray], gt_labels: list[np.ndarray],
            epochs: int = 1, batch_size: int = 8, learning_rate: float = 3e-4,
            external_proposals: list[np.ndarray] | None = None, flip: bool = True,
            verbose: bool = True, warmup_epochs: int = 0,
            warmup_learning_rate: float = 1e-3) -> TrainingLog:
        """Train end to end with Adam and a cosine learning-rate decay.

        The default learning rate, 3e-4, is a fine-tuning rate: it keeps most of what the
        pre-trained backbone and head know (see :attr:`DetectorConfig.freeze_bn`).  With
        ``DetectorConfig.trunk_lr_scale`` below 1 the trunk (backbone, fc6, fc7) has its own
        Adam at that fraction of the rate (0: the trunk stays as it is).  With
        ``warmup_epochs`` the new layers (RPN, class logits, box deltas) first train alone
        on the frozen trunk, so that their random start sends no large gradients into the
        pre-trained layers (lecture 09's "train the head first, then fine-tune").

        Args:
            images: (N, H, W, 1) float32.
            gt_boxes, gt_labels: N arrays (k_i, 4) and (k_i,).
            epochs: epochs of end-to-end training (after the warm-up).
            batch_size: images per step.
            learning_rate: Adam's initial rate of the end-to-end epochs (cosine decay to 2 %).
            external_proposals: N arrays (P_i, 4); required for Fast R-CNN.
            flip: random horizontal flips (boxes flipped with the image).
            verbose: print the losses after every epoch.
            warmup_epochs: epochs, before ``epochs``, in which only the new layers train.
            warmup_learning_rate: Adam's initial rate of the warm-up (its own cosine decay).

        Returns:
            :class:`TrainingLog`: the mean losses of every epoch (warm-up first) and the
            training seconds.

        Raises:
            ValueError: Fast R-CNN without proposals, or a negative ``trunk_lr_scale`` or
                ``warmup_epochs``.
        """
        if self.proposals == "external" and external_proposals is None:
            raise ValueError("Fast R-CNN (proposals='external') needs external_proposals")
        if self.config.trunk_lr_scale < 0 or warmup_epochs < 0:
            raise ValueError(f"trunk_lr_scale and warmup_epochs must be >= 0, got "
                             f"{self.config.trunk_lr_scale} and {warmup_epochs}")
        n = len(images)
        phases = [(warmup_epochs, warmup_learning_rate, 0.0)] if warmup_epochs else []
        phases.append((epochs, learning_rate, self.config.trunk_lr_scale))
        log, start, width = TrainingLog(), time.perf_counter(), self.config.image_size
        for phase_epochs, rate, scale in phases:
            if phase_epochs == 0:
                continue
            self._start_phase(phase_epochs * int(np.ceil(n / batch_size)), rate, scale)
            for _ in range(phase_epochs):
                sums: dict[str, float] = {}
                order = self.rng.permutation(n)
                for lo in range(0, n, batch_size):
                    idx = order[lo : lo + batch_size]
                    x = images[idx]
                    boxes = [gt_boxes[i] for i in idx]
                    props = ([external_proposals[i] for i in idx] if external_proposals
                             else None)
                    if flip:
                        mirror = self.rng.random(len(idx)) < 0.5
                        x = np.where(mirror[:, None, None, None], x[:, :, ::-1], x)
                        boxes = targets.flip_boxes(boxes, mirror, width)
                        if props is not None:
                            props = targets.flip_boxes(props, mirror, width)
                    parts = self._train_step(x, boxes, [gt_labels[i] for i in idx], props)
                    for k, v in parts.items():
                        sums[k] = sums.get(k, 0.0) + v * len(idx)
                log.losses.append({k: v / n for k, v in sums.items()})
                if verbose:
                    print(f"epoch {len(log.losses)}/{warmup_epochs + epochs}: "
                          + ", ".join(f"{k} {v:.3f}" for k, v in log.losses[-1].items()))
        log.seconds = time.perf_counter() - start
        return log

    def _start_phase(self, steps: int, learning_rate: float, trunk_scale: float) -> None:
        """New Adam optimizers (cosine decay over ``steps``) and a newly compiled step.

        ``trunk_scale`` 1: one optimizer for everything; in (0, 1): the trunk has its own at
        that fraction of the rate; 0: the trunk is not trained (no gradient is computed).
        """

        def adam(rate: float):
            return keras.optimizers.Adam(
                keras.optimizers.schedules.CosineDecay(rate, steps, alpha=0.02))

        self.optimizer = adam(learning_rate)
        self.trunk_optimizer = adam(trunk_scale * learning_rate) if 0 < trunk_scale < 1 else None
        self._is_trunk = self._trunk_mask() if trunk_scale < 1 else None
        # traced anew: the compiled step captures this phase's optimizers and variables
        self._compiled_step = tf.function(self._step, reduce_retracing=True)

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

    def _step(self, x, rpn_labels, rpn_targets, rois, index, y, t):
        """Losses, gradients and the update of one step (compiled by :meth:`_start_phase`)."""
        parts = {}
        with tf.GradientTape() as tape:
            # frozen BatchNorm (Detectron's default): the pre-trained statistics and scales
            fmap = self.backbone(x, training=not self.config.freeze_bn)
            total = 0.0
            if self.rpn is not None:
                logits, deltas = self.rpn(fmap, training=True)
                c, b = targets.rpn_loss(logits, deltas, rpn_labels, rpn_targets)
                parts.update(rpn_cls=c, rpn_box=b)
                total = c + b
            c, b = self._head_loss(fmap, rois, index, y, t, training=True)
            parts.update(head_cls=c, head_box=b)
            total = total + c + b
        variables, mask = self.trainable_variables, self._is_trunk
        if mask is not None and self.trunk_optimizer is None:  # trunk frozen: new layers only
            variables = [v for v, trunk in zip(variables, mask, strict=True) if not trunk]
            mask = None
        grads = tape.gradient(total, variables)
        pairs = list(zip(grads, variables, strict=True))
        if mask is None:
            self.optimizer.apply_gradients(pairs)
            return parts
        self.optimizer.apply_gradients([p for p, t in zip(pairs, mask, strict=True) if not t])
        self.trunk_optimizer.apply_gradients([p for p, t in zip(pairs, mask, strict=True) if t])
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

