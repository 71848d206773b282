"""helpers.detection.anchors: py-faster-rcnn's 9 anchors exactly, in its inclusive, the
MATLAB 1-based and the course's continuous convention; the anchor grid; RPN labels
(thresholds, best anchor per object, border, 256 / 50 % sampling) and regression targets."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.detection import anchors as an
from helpers.detection.boxes import decode_boxes, encode_boxes, iou_matrix

# py-faster-rcnn lib/rpn/generate_anchors.py, generate_anchors() as returned by the code
# (0-based inclusive pixel indices; reference window (0, 0, 15, 15))
PY_FASTER_RCNN = np.array(
    [
        [-84, -40, 99, 55],
        [-176, -88, 191, 103],
        [-360, -184, 375, 199],
        [-56, -56, 71, 71],
        [-120, -120, 135, 135],
        [-248, -248, 263, 263],
        [-36, -80, 51, 95],
        [-80, -168, 95, 183],
        [-168, -344, 183, 359],
    ],
    dtype=float,
)
# the comment at the top of that file: Shaoqing Ren's MATLAB anchors (1-based), the values
# REFERENCE.md quotes ("start with [-83, -39, 100, 56]")
MATLAB = np.array(
    [
        [-83, -39, 100, 56],
        [-175, -87, 192, 104],
        [-359, -183, 376, 200],
        [-55, -55, 72, 72],
        [-119, -119, 136, 136],
        [-247, -247, 264, 264],
        [-35, -79, 52, 96],
        [-79, -167, 96, 184],
        [-167, -343, 184, 360],
    ],
    dtype=float,
)


def test_base_anchors_reproduce_py_faster_rcnn_exactly():
    np.testing.assert_array_equal(an.base_anchors(), PY_FASTER_RCNN)
    np.testing.assert_array_equal(an.base_anchors(convention="inclusive"), PY_FASTER_RCNN)


def test_matlab_convention_is_the_one_based_table_quoted_in_the_reference():
    np.testing.assert_array_equal(an.base_anchors(convention="matlab"), MATLAB)
    np.testing.assert_array_equal(MATLAB - PY_FASTER_RCNN, np.ones((9, 4)))


def test_continuous_anchors_are_inclusive_plus_one_on_the_far_corner_and_centred_on_8_8():
    cont = an.continuous_base_anchors()
    np.testing.assert_array_equal(cont, an.base_anchors(convention="continuous"))
    np.testing.assert_array_equal(cont, PY_FASTER_RCNN + [0, 0, 1, 1])
    np.testing.assert_array_equal(cont[0], [-84, -40, 100, 56])
    np.testing.assert_allclose((cont[:, :2] + cont[:, 2:]) / 2, 8.0)  # centre of [0, 16)^2
    w, h = cont[:, 2] - cont[:, 0], cont[:, 3] - cont[:, 1]
    # widths 23, 16, 11 (rounded for ratios 0.5, 1, 2) times 8, 16, 32
    np.testing.assert_array_equal(w, [184, 368, 736, 128, 256, 512, 88, 176, 352])
    np.testing.assert_array_equal(h, [96, 192, 384, 128, 256, 512, 176, 352, 704])
    # areas close to 128^2, 256^2, 512^2 and h / w close to the ratio
    np.testing.assert_allclose(np.sqrt(w * h), np.tile([128, 256, 512], 3), rtol=0.04)
    np.testing.assert_allclose(h / w, np.repeat([0.5, 1, 2], 3), rtol=0.05)


def test_other_ratios_and_scales_and_bad_arguments():
    a = an.base_anchors(base_size=8, ratios=(1,), scales=(1, 2))
    np.testing.assert_array_equal(a, [[0, 0, 7, 7], [-4, -4, 11, 11]])
    with pytest.raises(ValueError, match="convention"):
        an.base_anchors(convention="one-based")
    with pytest.raises(ValueError):
        an.base_anchors(ratios=(0, 1))


def test_grid_anchors_are_ordered_y_then_x_then_anchor():
    base = an.continuous_base_anchors()
    grid = an.grid_anchors(3, 5, 16, base)
    assert grid.shape == (3 * 5 * 9, 4)
    for y, x, a in [(0, 0, 0), (0, 1, 0), (1, 0, 4), (2, 4, 8)]:
        np.testing.assert_array_equal(grid[(y * 5 + x) * 9 + a], base[a] + [16 * x, 16 * y] * 2)
    # the same as py-faster-rcnn's shift construction (meshgrid(shift_x, shift_y).ravel())
    sx, sy = np.meshgrid(np.arange(5) * 16, np.arange(3) * 16)
    shifts = np.vstack((sx.ravel(), sy.ravel(), sx.ravel(), sy.ravel())).T
    np.testing.assert_array_equal(grid, (base[None] + shifts[:, None]).reshape(-1, 4))


def test_a_1000x600_image_has_about_20000_anchors_and_border_crossing_ones_are_dropped():
    grid = an.grid_anchors(38, 63, 16, an.continuous_base_anchors())  # ceil(600/16), ceil(1000/16)
    assert len(grid) == 21546  # "about 20,000"
    inside = an.anchors_inside(grid, 600, 1000)
    # 8151 with this grid; the paper rounds its count to "about 6,000"
    assert inside.sum() == 8151
    tall = (grid[:, 3] - grid[:, 1]) > 600
    assert tall.sum() == 38 * 63 and not inside[tall].any()  # 704-pixel-high ones never fit


def test_anchors_inside_counts_boxes_touching_the_border_and_honours_allowed_border():
    boxes = [[0, 0, 10, 10], [-1, 0, 10, 10], [5, 5, 20, 12], [5, 5, 21, 12]]
    np.testing.assert_array_equal(an.anchors_inside(boxes, 12, 20), [True, False, True, False])
    np.testing.assert_array_equal(an.anchors_inside(boxes, 12, 20, allowed_border=1), [True] * 4)


def _toy():
    """Six anchors in a 100 x 100 image and two objects; IoUs worked out in the comments."""
    gt = np.array([[10, 10, 30, 30], [60, 60, 90, 90]], dtype=float)
    anchors = np.array(
        [
            [10, 10, 30, 30],  # 0: IoU 1 with gt 0 -> positive
            [12, 10, 32, 30],  # 1: inter 18*20=360, union 440: 0.818 -> positive (>= 0.7)
            [15, 10, 35, 30],  # 2: inter 300, union 500: 0.6 -> ignored (between 0.3 and 0.7)
            [55, 55, 85, 85],  # 3: with gt 1 inter 625, union 1175: 0.532 -> best for gt 1
            [40, 40, 50, 50],  # 4: IoU 0 -> negative
            [-5, 60, 25, 90],  # 5: crosses the border -> ignored although it is an anchor
        ],
        dtype=float,
    )
    return anchors, gt


def test_rpn_labels_follow_the_thresholds_and_make_the_best_anchor_per_object_positive():
    anchors, gt = _toy()
    labels, matched = an.assign_rpn_labels(anchors, gt, 100, 100, batch_size=None)
    np.testing.assert_array_equal(labels, [1, 1, -1, 1, 0, -1])
    np.testing.assert_array_equal(matched, [0, 0, 0, 1, 0, -1])  # argmax IoU; -1 outside
    assert labels.dtype == np.int64 and matched.dtype == np.int64


def test_rpn_labels_without_objects_are_all_negative_inside_the_image():
    anchors, _ = _toy()
    labels, matched = an.assign_rpn_labels(anchors, np.zeros((0, 4)), 100, 100)
    np.testing.assert_array_equal(labels, [0, 0, 0, 0, 0, -1])
    np.testing.assert_array_equal(matched, -1)


def test_rpn_sampling_keeps_at_most_half_positives_and_fills_up_with_negatives():
    grid = an.grid_anchors(38, 50, 16, an.continuous_base_anchors())
    gt = np.array([[x, y, x + 130, y + 130] for x in range(8, 660, 64) for y in range(8, 460, 64)],
                  dtype=float)
    full, _ = an.assign_rpn_labels(grid, gt, 600, 800, batch_size=None)
    assert (full == 1).sum() > 128  # enough positives to need subsampling
    labels, _ = an.assign_rpn_labels(grid, gt, 600, 800, rng=0)
    assert (labels == 1).sum() == 128 and (labels == 0).sum() == 128
    assert np.all(full[labels == 1] == 1) and np.all(full[labels == 0] == 0)
    again, _ = an.assign_rpn_labels(grid, gt, 600, 800, rng=0)
    np.testing.assert_array_equal(labels, again)  # reproducible with a seed
    # one object: few positives, negatives fill the batch of 256
    labels, _ = an.assign_rpn_labels(grid, gt[:1], 600, 800, rng=1)
    positives = (labels == 1).sum()
    assert 1 <= positives < 128 and (labels == 0).sum() == 256 - positives


def test_rpn_regression_targets_encode_matched_ground_truth_and_zero_elsewhere():
    anchors, gt = _toy()
    labels, matched = an.assign_rpn_labels(anchors, gt, 100, 100, batch_size=None)
    targets = an.rpn_regression_targets(anchors, gt, matched)
    assert targets.shape == (6, 4)
    np.testing.assert_allclose(targets[:5], encode_boxes(anchors[:5], gt[matched[:5]]))
    np.testing.assert_array_equal(targets[5], 0.0)
    np.testing.assert_allclose(targets[0], 0.0, atol=1e-12)  # anchor 0 is the object
    pos = labels == 1
    np.testing.assert_allclose(decode_boxes(anchors[pos], targets[pos]), gt[matched[pos]])
    assert iou_matrix(anchors[pos], gt).max() == 1.0


def test_assign_rpn_labels_rejects_bad_thresholds_and_targets_reject_bad_indices():
    anchors, gt = _toy()
    with pytest.raises(ValueError):
        an.assign_rpn_labels(anchors, gt, 100, 100, positive_iou=0.3, negative_iou=0.7)
    with pytest.raises(ValueError):
        an.assign_rpn_labels(anchors, gt, 100, 100, positive_fraction=1.5)
    with pytest.raises(ValueError):
        an.rpn_regression_targets(anchors, gt, [0, 1])
    with pytest.raises(ValueError, match="out of range"):
        an.rpn_regression_targets(anchors, gt, [0, 1, 2, 0, 0, 0])
