"""helpers.detection.nms: greedy NMS by hand and against tf.image.non_max_suppression,
per-class NMS, and input validation."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers.detection.boxes import iou_matrix
from helpers.detection.nms import batched_nms, non_max_suppression


def _scene(n, seed, size=100.0):
    """n boxes clustered around a few centres (lots of overlap), distinct scores."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(10, size - 10, size=(max(n // 8, 1), 2))
    c = centres[rng.integers(len(centres), size=n)] + rng.normal(0, 4, size=(n, 2))
    wh = rng.uniform(5, 30, size=(n, 2))
    boxes = np.concatenate([c - wh / 2, c + wh / 2], axis=1)
    scores = rng.permutation(n) / n + rng.uniform(0, 1e-3, n)  # all different
    return boxes, scores


def _tf_nms(boxes, scores, iou_threshold, max_output=None, score_threshold=None):
    yx = boxes[:, [1, 0, 3, 2]].astype(np.float32)  # TensorFlow wants (y1, x1, y2, x2)
    kwargs = {} if score_threshold is None else {"score_threshold": score_threshold}
    keep = tf.image.non_max_suppression(
        yx, scores.astype(np.float32), max_output or len(boxes), iou_threshold, **kwargs
    )
    return keep.numpy()


def test_nms_by_hand_keeps_the_best_of_each_cluster_in_score_order():
    boxes = np.array(
        [
            [0, 0, 10, 10],  # 0: cluster A
            [1, 0, 11, 10],  # 1: IoU with 0 = 90 / 110 = 0.82 -> suppressed by 0
            [50, 50, 60, 60],  # 2: cluster B, alone
            [5, 0, 15, 10],  # 3: IoU with 0 = 50 / 150 = 0.33 -> survives at 0.5
        ],
        dtype=float,
    )
    scores = np.array([0.9, 0.8, 0.95, 0.3])
    keep = non_max_suppression(boxes, scores, iou_threshold=0.5)
    np.testing.assert_array_equal(keep, [2, 0, 3])
    assert keep.dtype == np.int64
    np.testing.assert_array_equal(non_max_suppression(boxes, scores, 0.3), [2, 0])


def test_box_with_iou_exactly_at_the_threshold_survives():
    # IoU([0,0,10,10], [0,0,10,5]) = 50 / 100 = 0.5
    boxes = [[0, 0, 10, 10], [0, 0, 10, 5]]
    np.testing.assert_array_equal(non_max_suppression(boxes, [0.9, 0.8], 0.5), [0, 1])
    np.testing.assert_array_equal(non_max_suppression(boxes, [0.9, 0.8], 0.49), [0])


@pytest.mark.parametrize("iou_threshold", [0.0, 0.3, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nms_matches_tensorflow_on_random_overlapping_boxes(seed, iou_threshold):
    boxes, scores = _scene(120, seed)
    ours = non_max_suppression(boxes, scores, iou_threshold)
    np.testing.assert_array_equal(ours, _tf_nms(boxes, scores, iou_threshold))
    assert 0 < len(ours) <= 120


def test_nms_max_output_and_score_threshold_match_tensorflow():
    boxes, scores = _scene(80, 3)
    np.testing.assert_array_equal(
        non_max_suppression(boxes, scores, 0.5, max_output=5), _tf_nms(boxes, scores, 0.5, 5)
    )
    np.testing.assert_array_equal(
        non_max_suppression(boxes, scores, 0.5, score_threshold=0.6),
        _tf_nms(boxes, scores, 0.5, score_threshold=0.6),
    )


def test_kept_boxes_overlap_at_most_the_threshold_and_scores_decrease():
    boxes, scores = _scene(200, 4)
    keep = non_max_suppression(boxes, scores, 0.4)
    assert np.all(np.diff(scores[keep]) < 0)
    overlaps = iou_matrix(boxes[keep], boxes[keep])
    np.fill_diagonal(overlaps, 0)
    assert overlaps.max() <= 0.4
    # every removed box overlaps some kept box with a higher score by more than 0.4
    removed = np.setdiff1d(np.arange(200), keep)
    cover = iou_matrix(boxes[removed], boxes[keep]) > 0.4
    higher = scores[keep][None, :] > scores[removed][:, None]
    assert np.all(np.any(cover & higher, axis=1))


def test_identical_boxes_keep_only_the_best_and_edge_cases():
    boxes = np.tile([[2.0, 3.0, 8.0, 9.0]], (5, 1))
    scores = [0.1, 0.7, 0.3, 0.9, 0.5]
    np.testing.assert_array_equal(non_max_suppression(boxes, scores, 0.5), [3])
    assert non_max_suppression(np.zeros((0, 4)), [], 0.5).shape == (0,)
    assert non_max_suppression([], [], 0.5).dtype == np.int64
    np.testing.assert_array_equal(non_max_suppression(boxes, scores, 0.5, max_output=0), [])
    # zero-area boxes overlap nothing and are all kept
    points = [[1, 1, 1, 1], [1, 1, 1, 1]]
    np.testing.assert_array_equal(non_max_suppression(points, [0.2, 0.4], 0.0), [1, 0])
    # (N, 1) scores are accepted
    np.testing.assert_array_equal(non_max_suppression(boxes, np.c_[scores], 0.5), [3])


def test_batched_nms_never_suppresses_across_classes():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    classes = np.array([0, 1, 0, 1])
    np.testing.assert_array_equal(batched_nms(boxes, scores, classes, 0.5), [0, 1, 3])
    np.testing.assert_array_equal(non_max_suppression(boxes, scores, 0.5), [0, 3])


def test_batched_nms_equals_per_class_nms_merged_by_score():
    boxes, scores = _scene(150, 5)
    classes = np.random.default_rng(6).integers(0, 4, size=150)
    got = batched_nms(boxes, scores, classes, 0.5)
    expected = np.concatenate(
        [np.flatnonzero(classes == c)[non_max_suppression(boxes[classes == c],
                                                          scores[classes == c], 0.5)]
         for c in range(4)]
    )
    np.testing.assert_array_equal(got, expected[np.argsort(-scores[expected])])
    np.testing.assert_array_equal(batched_nms(boxes, scores, classes, 0.5, max_output=7), got[:7])


@pytest.mark.parametrize(
    ("boxes", "scores", "threshold"),
    [
        ([[0, 0, 1, 1], [0, 0, 2, 2]], [0.5], 0.5),  # one score for two boxes
        ([[0, 0, 1, 1]], [0.5], 1.5),  # threshold above 1
        ([[0, 0, 1, 1]], [0.5], -0.1),  # threshold below 0
        ([[0, 0, 1, 1]], [np.nan], 0.5),
        ([[0, 0, 1]], [0.5], 0.5),  # not (N, 4)
    ],
)
def test_nms_rejects_bad_input_with_value_error(boxes, scores, threshold):
    with pytest.raises(ValueError):
        non_max_suppression(boxes, scores, threshold)


def test_bad_max_output_and_class_count_raise_value_error():
    with pytest.raises(ValueError, match="max_output"):
        non_max_suppression([[0, 0, 1, 1]], [0.5], 0.5, max_output=-1)
    with pytest.raises(ValueError, match="class"):
        batched_nms([[0, 0, 1, 1], [0, 0, 2, 2]], [0.5, 0.4], [0], 0.5)
