"""Fast/Faster R-CNN: anchors, training targets, one training step, detections; the localiser."""

import numpy as np
import pytest

from helpers.detection.boxes import box_area, iou_matrix
from helpers.detection.localisation import localisation_targets
from helpers.detection.scenes import make_scenes
from helpers.detection.two_stage import DetectorConfig, TwoStageDetector, anchor_shapes
from helpers.lectures.object_detection import (
    class_agnostic_ap,
    comparison_table,
    detection_settings,
    ground_truth_accuracy,
)
from helpers.mode import RunMode


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(16, "train", seed=5)


@pytest.fixture(scope="module")
def detector():
    return TwoStageDetector(DetectorConfig(seed=1))


def test_anchor_shapes_have_the_requested_areas_and_ratios():
    shapes = anchor_shapes((16, 32), (0.5, 1, 2))
    np.testing.assert_allclose(box_area(shapes), [256, 1024] * 3)
    hw = (shapes[:, 3] - shapes[:, 1]) / (shapes[:, 2] - shapes[:, 0])
    np.testing.assert_allclose(hw, [0.5, 0.5, 1, 1, 2, 2])
    np.testing.assert_allclose(shapes[:, :2] + shapes[:, 2:], 0, atol=1e-12)


def test_anchors_cover_every_feature_cell_centre(detector):
    assert detector.anchors.shape == (16 * 16 * 9, 4)
    centres = (detector.anchors[:, :2] + detector.anchors[:, 2:]) / 2
    np.testing.assert_allclose(centres[0], [4, 4])
    np.testing.assert_allclose(centres[-1], [124, 124])


def test_rpn_targets_label_some_positives_and_sample_at_most_the_batch(detector, scenes):
    labels, targets = detector.rpn_targets(scenes.boxes[:4])
    assert labels.shape == (4, len(detector.anchors)) and targets.shape == labels.shape + (4,)
    for lab, gt in zip(labels, scenes.boxes[:4], strict=True):
        assert (lab == 1).sum() >= len(gt)  # the best anchor of every ground truth is positive
        assert ((lab == 1) | (lab == 0)).sum() <= detector.config.rpn_batch
    assert np.all(targets[labels != 1] == 0)


def test_sampled_rois_have_the_foreground_fraction_and_the_right_classes(detector, scenes):
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 100, (4, 50, 2))
    props = [np.concatenate([c, c + rng.uniform(8, 28, (50, 2))], axis=1) for c in corners]
    rois, index, labels, targets = detector.sample_rois(props, scenes.boxes[:4], scenes.labels[:4])
    per_image = detector.config.rois_per_image
    assert len(rois) == 4 * per_image and np.bincount(index).tolist() == [per_image] * 4
    for i in range(4):
        fg = labels[index == i] > 0
        assert 1 <= fg.sum() <= round(per_image * detector.config.fg_fraction)
        # ground-truth boxes are among the candidates: foreground RoIs carry their class + 1
        best = iou_matrix(rois[index == i][fg], scenes.boxes[i]).argmax(1)
        np.testing.assert_array_equal(labels[index == i][fg], scenes.labels[i][best] + 1)
    assert np.all(targets[labels == 0] == 0)


def test_one_training_epoch_runs_and_detections_are_well_formed(scenes):
    det = TwoStageDetector(DetectorConfig(seed=2))
    log = det.fit(scenes.images, scenes.boxes, scenes.labels, epochs=1, batch_size=8,
                  verbose=False)
    assert set(log.losses[0]) == {"rpn_cls", "rpn_box", "head_cls", "head_box"}
    assert all(np.isfinite(v) for v in log.losses[0].values())
    out = det.detect(scenes.images[:3])
    assert len(out) == 3
    for boxes, scores, labels in out:
        assert boxes.shape == (len(scores), 4) and len(labels) == len(scores)
        assert np.all(boxes >= 0) and np.all(boxes <= 128)
        assert np.all((scores > 0) & (scores <= 1)) and set(labels.tolist()) <= set(range(10))


def test_fast_rcnn_needs_external_proposals(scenes):
    fast = TwoStageDetector(DetectorConfig(seed=3), proposals="external")
    with pytest.raises(ValueError, match="external_proposals"):
        fast.fit(scenes.images, scenes.boxes, scenes.labels)
    with pytest.raises(ValueError, match="no RPN"):
        fast.propose(scenes.images[:1])


def test_backbone_weights_copy_by_layer_name(detector):
    other = TwoStageDetector(DetectorConfig(seed=4))
    assert other.init_backbone_from(detector.backbone) == 12
    for a, b in zip(other.backbone.weights, detector.backbone.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    import keras

    with pytest.raises(ValueError, match="none of the backbone"):
        other.init_backbone_from(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))


def test_pretraining_draws_fresh_canvases_every_epoch_and_records_test_accuracy(monkeypatch):
    from helpers.detection import localisation
    from helpers.detection import scenes as scene_module

    drawn = []
    real = scene_module.single_object_scenes

    def recording(n, split="train", seed=0, **kwargs):
        drawn.append((n, split, seed))
        return real(n, split, seed=seed, **kwargs)

    monkeypatch.setattr(scene_module, "single_object_scenes", recording)
    result = localisation.pretrain_backbone(64, epochs=2, n_test=32, seed=3, verbose=0)
    assert drawn == [(32, "test", 4), (64, "train", 103), (64, "train", 104)]
    assert len(result.test_accuracy) == 2 and result.accuracy == result.test_accuracy[-1]
    assert all(0.0 <= a <= 1.0 for a in result.test_accuracy) and result.seconds > 0
    detector = TwoStageDetector(DetectorConfig(seed=0))
    assert detector.init_backbone_from(result.model) == 12 + 4  # backbone, then fc6 .. deltas
    for name in ("b3b_conv", "fc6", "cls_logits"):
        source = result.model.get_layer("roi_head") if name[0] in "fc" else result.model
        theirs = source.get_layer(name).get_weights()[0]
        mine = (detector.head if name[0] in "fc" else detector.backbone).get_layer(name)
        np.testing.assert_array_equal(mine.get_weights()[0], theirs)
    with pytest.raises(ValueError, match="epochs"):
        localisation.pretrain_backbone(64, epochs=0)


def test_localisation_targets_refuse_multi_object_scenes(scenes):
    with pytest.raises(ValueError, match="exactly one object"):
        localisation_targets(scenes)


def test_fast_mode_settings_are_smaller_than_full():
    fast, full = detection_settings(RunMode(fast=True)), detection_settings(RunMode(fast=False))
    assert fast.n_train < full.n_train and fast.two_stage_epochs <= full.two_stage_epochs
    assert fast.n_test < full.n_test and fast.n_pretrain_test < full.n_pretrain_test


def test_comparison_table_adds_totals_and_speed_ups():
    table = comparison_table({
        "slow": {"proposals per image": 100, "proposal s/image": 0.5, "network s/image": 2.0,
                 "mAP@0.5": 0.5, "train s": 1},
        "fast": {"proposals per image": 100, "proposal s/image": 0.5, "network s/image": 0.1,
                 "mAP@0.5": 0.6, "train s": 1},
    })
    assert table.loc["fast", "network speed-up"] == pytest.approx(20)
    assert table.loc["slow", "total s/image"] == pytest.approx(2.5)


def test_classify_boxes_scores_every_given_box_and_ground_truth_accuracy_counts_hits(
        detector, scenes):
    probs = detector.classify_boxes(scenes.images[:4], scenes.boxes[:4])
    assert [len(p) for p in probs] == [len(b) for b in scenes.boxes[:4]]
    assert all(p.shape[1] == 11 and np.allclose(p.sum(axis=1), 1, atol=1e-5) for p in probs)
    hits = np.concatenate([p[:, 1:].argmax(1) for p in probs]) == np.concatenate(
        scenes.labels[:4])
    assert ground_truth_accuracy(detector, scenes[:4]) == pytest.approx(hits.mean())
    empty = scenes[:1]
    empty.labels[0] = empty.labels[0][:0]
    with pytest.raises(ValueError, match="no object"):
        ground_truth_accuracy(detector, empty)


def test_class_agnostic_ap_ignores_the_class_but_not_the_box(scenes):
    few = scenes[:3]
    pairs = list(zip(few.boxes, few.labels, strict=True))
    wrong_class = [(b, np.ones(len(b)), (y + 1) % 10) for b, y in pairs]
    assert class_agnostic_ap(wrong_class, few) == pytest.approx(1.0)
    shifted = [(b + 40.0, np.ones(len(b)), y) for b, y in pairs]
    assert class_agnostic_ap(shifted, few) < 0.5
    with pytest.raises(ValueError, match="one detection triple per scene"):
        class_agnostic_ap(wrong_class[:2], few)


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def _changed(before, model):
    return any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def _trunk_and_new(det):
    fc = [det.head.get_layer(n) for n in ("fc6", "fc7")]
    new = [det.rpn, det.head.get_layer("cls_logits"), det.head.get_layer("bbox_deltas")]
    return [det.backbone, *fc], new


def test_warm_up_trains_only_the_new_layers_then_fine_tuning_trains_all(scenes):
    det = TwoStageDetector(DetectorConfig(seed=2))
    trunk, new = _trunk_and_new(det)
    trunk0, new0 = [_weights(m) for m in trunk], [_weights(m) for m in new]
    log = det.fit(scenes.images[:8], scenes.boxes[:8], scenes.labels[:8], epochs=0,
                  warmup_epochs=1, verbose=False)
    assert len(log.losses) == 1
    assert not any(_changed(w, m) for w, m in zip(trunk0, trunk, strict=True))
    assert all(_changed(w, m) for w, m in zip(new0, new, strict=True))
    det.fit(scenes.images[:8], scenes.boxes[:8], scenes.labels[:8], epochs=1, verbose=False)
    assert all(_changed(w, m) for w, m in zip(trunk0, trunk, strict=True))


def test_a_smaller_trunk_rate_moves_the_trunk_less_than_the_full_rate(scenes):
    moved = {}
    for scale in (1.0, 0.1):
        det = TwoStageDetector(DetectorConfig(seed=2, trunk_lr_scale=scale))
        before = _weights(det.backbone)
        det.fit(scenes.images[:8], scenes.boxes[:8], scenes.labels[:8], epochs=1, verbose=False)
        moved[scale] = sum(float(np.abs(a - b).sum())
                           for a, b in zip(before, det.backbone.get_weights(), strict=True))
    assert 0 < moved[0.1] < 0.5 * moved[1.0]


def test_negative_trunk_rate_or_warm_up_is_refused(scenes):
    det = TwoStageDetector(DetectorConfig(trunk_lr_scale=-0.1))
    with pytest.raises(ValueError, match="must be >= 0"):
        det.fit(scenes.images[:8], scenes.boxes[:8], scenes.labels[:8], verbose=False)
    with pytest.raises(ValueError, match="must be >= 0"):
        TwoStageDetector().fit(scenes.images[:8], scenes.boxes[:8], scenes.labels[:8],
                               warmup_epochs=-1, verbose=False)
