"""helpers.detection.boxes: IoU edge cases, format conversions and R-CNN box regression,
checked by hand and against keras.utils.bounding_boxes (compute_iou, convert_format,
encode_box_to_deltas, decode_deltas_to_boxes)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.detection import boxes as bx

kbb = keras.utils.bounding_boxes


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def _random_boxes(n, seed, size=100.0, min_side=1.0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, size, size=(n, 2))
    wh = rng.uniform(min_side, size / 2, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


# ----------------------------------------------------------------------------- IoU by hand
@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 2, 2], [0, 0, 2, 2], 1.0),  # identical
        ([0, 0, 2, 2], [5, 5, 7, 7], 0.0),  # disjoint
        ([0, 0, 2, 2], [2, 0, 4, 2], 0.0),  # touching along an edge: no shared area
        ([0, 0, 2, 2], [2, 2, 4, 4], 0.0),  # touching at a corner
        ([0, 0, 4, 4], [1, 1, 3, 3], 4 / 16),  # contained: inter 2*2, union 16
        ([0, 0, 2, 2], [1, 1, 3, 3], 1 / 7),  # inter 1, union 4 + 4 - 1
        ([0, 0, 10, 10], [0, 0, 10, 5], 0.5),  # half of the box
        ([1, 1, 1, 1], [0, 0, 2, 2], 0.0),  # zero-area point inside a box
        ([1, 1, 1, 1], [1, 1, 1, 1], 0.0),  # two identical zero-area boxes: 0, not NaN
        ([0, 0, 0, 5], [0, 0, 3, 5], 0.0),  # zero-width box on the edge
    ],
)
def test_iou_edge_cases_by_hand_without_nan(a, b, expected):
    got = bx.iou_matrix([a], [b])
    assert got.shape == (1, 1)
    assert not np.isnan(got).any()
    assert got[0, 0] == pytest.approx(expected, abs=1e-12)
    assert bx.iou([b], [a])[0] == pytest.approx(expected, abs=1e-12)


def test_iou_uses_continuous_widths_not_plus_one():
    # continuous: [0, 10) x [0, 10) and [5, 15) x [0, 10): inter 50, union 150 -> 1/3;
    # the inclusive "+1" formula would give 6*11 / (2*121 - 66) = 0.375
    assert bx.iou_matrix([[0, 0, 10, 10]], [[5, 0, 15, 10]])[0, 0] == pytest.approx(1 / 3)


def test_iou_matrix_matches_keras_compute_iou_on_random_boxes():
    a, b = _random_boxes(30, 0), _random_boxes(20, 1)
    ours = bx.iou_matrix(a, b)
    theirs = _np(kbb.compute_iou(a.astype("float32"), b.astype("float32"), "xyxy"))
    assert ours.shape == (30, 20)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert (ours > 0).sum() > 20  # the random boxes do overlap


def test_iou_matrix_is_symmetric_and_rowwise_iou_is_its_diagonal():
    a, b = _random_boxes(15, 2), _random_boxes(15, 3)
    m = bx.iou_matrix(a, b)
    np.testing.assert_allclose(m, bx.iou_matrix(b, a).T)
    np.testing.assert_allclose(bx.iou(a, b), np.diag(m))
    np.testing.assert_allclose(np.diag(bx.iou_matrix(a, a)), 1.0)


def test_iou_of_keras_edge_cases_agrees_with_ours():
    a = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 4, 4], [1, 1, 1, 1]], "float32")
    b = np.array([[2, 0, 4, 2], [2, 2, 4, 4], [1, 1, 3, 3], [1, 1, 1, 1]], "float32")
    theirs = np.diag(_np(kbb.compute_iou(a, b, "xyxy")))
    np.testing.assert_allclose(bx.iou(a, b), theirs, atol=1e-6)


def test_empty_box_lists_give_empty_iou_matrices():
    assert bx.iou_matrix(np.zeros((0, 4)), _random_boxes(3, 0)).shape == (0, 3)


# ----------------------------------------------------------------------------- formats
def test_corners_centers_round_trip_and_match_keras_convert_format():
    b = _random_boxes(25, 4)
    c = bx.corners_to_centers(b)
    np.testing.assert_allclose(c, _np(kbb.convert_format(b, "xyxy", "center_xywh")), rtol=1e-5)
    np.testing.assert_allclose(bx.centers_to_corners(c), b, atol=1e-9)
    np.testing.assert_allclose(
        bx.centers_to_corners(c), _np(kbb.convert_format(c, "center_xywh", "xyxy")), rtol=1e-5
    )


def test_corners_to_centers_by_hand():
    np.testing.assert_allclose(bx.corners_to_centers([[2, 4, 10, 8]]), [[6, 6, 8, 4]])
    np.testing.assert_allclose(bx.box_area([[2, 4, 10, 8], [1, 1, 1, 5]]), [32, 0])


# ----------------------------------------------------------------------------- regression
def test_encode_by_hand_uses_centres_and_log_size_ratios():
    # P: centre (5, 5), 10 x 10.  G: centre (7, 4), 20 x 5.
    got = bx.encode_boxes([[0, 0, 10, 10]], [[-3, 1.5, 17, 6.5]])
    np.testing.assert_allclose(got, [[0.2, -0.1, np.log(2.0), np.log(0.5)]])


def test_encode_matches_keras_encode_box_to_deltas_in_center_xywh_order():
    p, g = _random_boxes(40, 5), _random_boxes(40, 6)
    ours = bx.encode_boxes(p, g)
    theirs = _np(kbb.encode_box_to_deltas(p, g, "xyxy", "xyxy", encoding_format="center_xywh"))
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_keras_default_encoding_is_yx_ordered_and_variance_divides_the_deltas():
    p, g = _random_boxes(10, 7), _random_boxes(10, 8)
    ours = bx.encode_boxes(p, g)
    yx = _np(kbb.encode_box_to_deltas(p, g, "xyxy", "xyxy"))  # center_yxhw: (ty, tx, th, tw)
    np.testing.assert_allclose(yx, ours[:, [1, 0, 3, 2]], rtol=1e-4, atol=1e-5)
    var = [0.1, 0.1, 0.2, 0.2]  # py-faster-rcnn's BBOX_NORMALIZE_STDS play the same role
    scaled = _np(kbb.encode_box_to_deltas(p, g, "xyxy", "xyxy", "center_xywh", variance=var))
    np.testing.assert_allclose(scaled, ours / np.array(var), rtol=1e-4, atol=1e-4)


def test_decode_matches_keras_decode_deltas_to_boxes():
    p = _random_boxes(40, 9).astype("float32")
    d = np.random.default_rng(10).normal(0, 0.3, size=(40, 4)).astype("float32")
    theirs = _np(kbb.decode_deltas_to_boxes(p, d, "xyxy", "xyxy", encoded_format="center_xywh"))
    np.testing.assert_allclose(bx.decode_boxes(p, d), theirs, rtol=1e-4, atol=1e-3)


def test_encode_decode_round_trip():
    p, g = _random_boxes(50, 11), _random_boxes(50, 12)
    np.testing.assert_allclose(bx.decode_boxes(p, bx.encode_boxes(p, g)), g, atol=1e-9)
    d = np.random.default_rng(13).normal(0, 0.5, size=(50, 4))
    np.testing.assert_allclose(bx.encode_boxes(p, bx.decode_boxes(p, d)), d, atol=1e-9)


def test_zero_deltas_return_the_proposals_and_huge_scales_are_clipped():
    p = _random_boxes(5, 14)
    np.testing.assert_allclose(bx.decode_boxes(p, np.zeros((5, 4))), p, atol=1e-12)
    big = bx.decode_boxes([[0, 0, 16, 16]], [[0, 0, 50.0, 50.0]])
    assert np.all(np.isfinite(big))
    np.testing.assert_allclose(big[0, 2] - big[0, 0], 1000.0)  # 16 * exp(log(1000/16))


def test_clip_boxes_to_the_image():
    got = bx.clip_boxes([[-5, -2, 30, 12], [3, 4, 5, 6]], height=10, width=20)
    np.testing.assert_allclose(got, [[0, 0, 20, 10], [3, 4, 5, 6]])


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "bad",
    [
        [[0, 0, 1]],  # three coordinates
        [[5, 0, 1, 1]],  # x2 < x1: centre-size boxes passed as corners
        [[0, 5, 1, 1]],  # y2 < y1
        [[0, 0, np.nan, 1]],
        np.zeros((2, 2, 4)),
    ],
)
def test_malformed_boxes_raise_value_error(bad):
    with pytest.raises(ValueError):
        bx.iou_matrix(bad, [[0, 0, 1, 1]])


def test_mismatched_lengths_and_degenerate_regression_boxes_raise():
    with pytest.raises(ValueError, match="iou_matrix"):
        bx.iou(_random_boxes(3, 0), _random_boxes(2, 1))
    with pytest.raises(ValueError):
        bx.encode_boxes(_random_boxes(3, 0), _random_boxes(2, 1))
    with pytest.raises(ValueError, match="positive width"):
        bx.encode_boxes([[0, 0, 0, 5]], [[0, 0, 3, 3]])
    with pytest.raises(ValueError):
        bx.decode_boxes(_random_boxes(3, 0), np.zeros((2, 4)))
    with pytest.raises(ValueError):
        bx.centers_to_corners([[0, 0, -1, 2]])
