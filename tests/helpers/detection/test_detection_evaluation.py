"""helpers.detection.evaluation: AP by VOC 11-point, all-point and COCO 101-point rules,
greedy matching, and per-class AP / mAP on hand-computed cases (arithmetic in comments)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.detection.evaluation import average_precision, coco_map, evaluate_detections

# A curve over 5 detections for 3 objects: TP, FP, TP, FP, TP
RECALL = [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1]
PRECISION = [1, 1 / 2, 2 / 3, 1 / 2, 3 / 5]


def test_all_point_ap_is_the_area_under_the_precision_envelope():
    # envelope (max precision to the right): 1, 2/3, 2/3, 3/5, 3/5
    # recall steps 0 -> 1/3 at 1, 1/3 -> 2/3 at 2/3, 2/3 -> 1 at 3/5:
    # 1/3 + 2/9 + 1/5 = (15 + 10 + 9) / 45 = 34/45
    assert average_precision(RECALL, PRECISION, "all_points") == pytest.approx(34 / 45)


def test_voc11_ap_averages_the_best_precision_at_eleven_recall_levels():
    # t = 0 .. 0.3 (4 levels): 1; t = 0.4 .. 0.6 (3): max(2/3, 1/2, 3/5) = 2/3;
    # t = 0.7 .. 1.0 (4): 3/5  ->  (4 + 2 + 2.4) / 11
    assert average_precision(RECALL, PRECISION, "voc11") == pytest.approx(8.4 / 11)


def test_coco101_ap_averages_the_envelope_at_101_recall_levels():
    # t = 0.00 .. 0.33 (34 levels): 1; t = 0.34 .. 0.66 (33): 2/3; t = 0.67 .. 1.00 (34): 3/5
    assert average_precision(RECALL, PRECISION, "coco101") == pytest.approx(76.4 / 101)


@pytest.mark.parametrize("method", ["voc11", "all_points", "coco101"])
def test_perfect_empty_and_half_recall_curves(method):
    assert average_precision([0.5, 1.0], [1.0, 1.0], method) == pytest.approx(1.0)
    assert average_precision([], [], method) == 0.0
    assert average_precision([0.0, 0.0], [0.0, 0.0], method) == 0.0
    # one object of two found at precision 1, nothing else: about half
    assert average_precision([0.5], [1.0], method) == pytest.approx(
        {"voc11": 6 / 11, "all_points": 0.5, "coco101": 51 / 101}[method]
    )


def test_average_precision_rejects_bad_curves_and_methods():
    with pytest.raises(ValueError, match="non-decreasing"):
        average_precision([0.5, 0.2], [1, 1])
    with pytest.raises(ValueError, match="length"):
        average_precision([0.5], [1, 1])
    with pytest.raises(ValueError, match="method"):
        average_precision([0.5], [1], "voc12")


def _scene():
    """Two images, classes 0, 1 and 2 (class 2 has no ground truth)."""
    ground_truths = [
        ([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 70, 70]], [0, 0, 1]),  # image 0
        ([[0, 0, 20, 20]], [0]),  # image 1
    ]
    detections = [
        (  # image 0
            [[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 70, 70], [40, 40, 45, 45]],
            [0.9, 0.8, 0.7, 0.6],
            [0, 0, 1, 2],
        ),
        ([[0, 0, 20, 10], [100, 100, 110, 110]], [0.85, 0.5], [0, 0]),  # image 1
    ]
    return detections, ground_truths


def test_hand_computed_per_class_ap_with_a_duplicate_and_a_class_without_ground_truth():
    dets, gts = _scene()
    result = evaluate_detections(dets, gts, num_classes=3)
    # class 0 in score order: 0.9 TP (IoU 1), 0.85 TP (IoU 200/400 = 0.5, counts: >= 0.5),
    # 0.8 FP (duplicate: its object is taken), 0.5 FP (nothing there); 3 objects
    np.testing.assert_allclose(result.precision[0], [1, 1, 2 / 3, 1 / 2])
    np.testing.assert_allclose(result.recall[0], [1 / 3, 2 / 3, 2 / 3, 2 / 3])
    # all points: 1/3 * 1 + 1/3 * 1 + 1/3 * 0 = 2/3; class 1: one TP of one object: 1
    np.testing.assert_allclose(result.ap[:2], [2 / 3, 1.0])
    assert np.isnan(result.ap[2])  # class 2: a detection but no ground truth
    assert result.mean_ap == pytest.approx((2 / 3 + 1) / 2)  # NaN left out
    np.testing.assert_array_equal(result.num_ground_truth, [3, 1, 0])
    # VOC 11-point: recall levels 0 .. 0.6 reach precision 1 (7 of 11), 0.7 .. 1 none
    assert evaluate_detections(dets, gts, 3, method="voc11").ap[0] == pytest.approx(7 / 11)


def test_a_stricter_iou_threshold_turns_the_half_overlap_into_a_false_positive():
    dets, gts = _scene()
    result = evaluate_detections(dets, gts, 3, iou_threshold=0.55)
    # class 0: TP, FP, FP, FP -> precision 1, 1/2, 1/3, 1/4 at recall 1/3: AP 1/3
    np.testing.assert_allclose(result.precision[0], [1, 1 / 2, 1 / 3, 1 / 4])
    assert result.ap[0] == pytest.approx(1 / 3)


def test_no_detections_give_zero_ap_and_all_false_positives_give_zero_ap():
    _, gts = _scene()
    nothing = [(np.zeros((0, 4)), [], []), ([], [], [])]
    result = evaluate_detections(nothing, gts, 3)
    np.testing.assert_array_equal(result.ap[:2], [0.0, 0.0])
    assert result.mean_ap == 0.0 and len(result.precision[0]) == 0
    wrong_place = [([[80, 80, 90, 90]], [0.9], [0]), ([[50, 50, 60, 60]], [0.8], [1])]
    result = evaluate_detections(wrong_place, gts, 3)
    np.testing.assert_array_equal(result.ap[:2], [0.0, 0.0])
    np.testing.assert_array_equal(result.precision[0], [0.0])


def test_a_class_with_ground_truth_but_no_detections_counts_as_zero_in_the_mean():
    dets, gts = _scene()
    only_class_1 = [(d[0][2:3], d[1][2:3], d[2][2:3]) for d in dets[:1]] + [([], [], [])]
    result = evaluate_detections(only_class_1, gts, 3)
    np.testing.assert_allclose(result.ap[:2], [0.0, 1.0])
    assert result.mean_ap == pytest.approx(0.5)


def test_no_ground_truth_at_all_gives_nan_map():
    result = evaluate_detections([([[0, 0, 1, 1]], [0.5], [0])], [([], [])], 2)
    assert np.isnan(result.ap).all() and np.isnan(result.mean_ap)


def test_greedy_matching_goes_by_score_not_by_overlap():
    # the 0.9 detection (IoU 0.6) takes the object; the better-fitting 0.5 one is a duplicate
    gts = [([[0, 0, 10, 10]], [0])]
    dets = [([[0, 0, 10, 10], [0, 0, 10, 6]], [0.5, 0.9], [0, 0])]
    result = evaluate_detections(dets, gts, 1)
    np.testing.assert_allclose(result.precision[0], [1.0, 0.5])
    np.testing.assert_allclose(result.recall[0], [1.0, 1.0])


def test_a_detection_may_match_another_unmatched_object_above_the_threshold():
    # two objects overlapping with IoU 90/110; two detections on the first object: the second
    # one's best object is taken, the other one still overlaps 0.82 >= 0.5 -> TP (COCO rule)
    gts = [([[0, 0, 10, 10], [1, 0, 11, 10]], [0, 0])]
    dets = [([[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8], [0, 0])]
    result = evaluate_detections(dets, gts, 1)
    np.testing.assert_allclose(result.recall[0], [0.5, 1.0])
    assert result.ap[0] == pytest.approx(1.0)


def test_coco_map_averages_ten_iou_thresholds():
    # IoU([0,0,10,10], [0,0,10,7]) = 70/100 = 0.7: a hit at 0.50, 0.55, 0.60, 0.65, 0.70
    # (AP 1), a miss at 0.75 .. 0.95 (AP 0): mean 5/10
    gts = [([[0, 0, 10, 10]], [0])]
    dets = [([[0, 0, 10, 7]], [0.9], [0])]
    assert coco_map(dets, gts, 1) == pytest.approx(0.5)
    perfect = [([[0, 0, 10, 10]], [0.9], [0])]
    assert coco_map(perfect, gts, 1) == pytest.approx(1.0)


def test_evaluate_detections_rejects_malformed_input():
    dets, gts = _scene()
    with pytest.raises(ValueError, match="same images"):
        evaluate_detections(dets, gts[:1], 3)
    with pytest.raises(ValueError, match="labels"):
        evaluate_detections(dets, gts, 2)  # label 2 out of range
    with pytest.raises(ValueError, match="scores"):
        evaluate_detections([([[0, 0, 1, 1]], [0.5, 0.4], [0])], [([], [])], 1)
    with pytest.raises(ValueError, match="iou_threshold"):
        evaluate_detections(dets, gts, 3, iou_threshold=1.5)
