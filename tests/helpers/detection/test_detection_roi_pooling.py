"""helpers.detection.roi_pooling: Fast R-CNN RoI max pooling on a hand-worked example, its
quantisation rule, the TensorFlow versions (same values, gradients), crop-and-resize against
a numpy bilinear sampler, and spatial pyramid pooling lengths."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers.detection import roi_pooling as rp

# an 8 x 8 one-channel feature map (row i, column j): a permutation of 0..63
FEATURES = np.array(
    [
        [61, 24, 37, 25, 58, 30, 35, 27],
        [44, 3, 6, 15, 56, 16, 43, 39],
        [14, 31, 47, 9, 48, 33, 20, 0],
        [23, 28, 7, 22, 60, 55, 17, 19],
        [57, 4, 21, 29, 1, 11, 49, 45],
        [52, 40, 50, 53, 26, 62, 34, 2],
        [42, 12, 10, 36, 5, 8, 32, 41],
        [46, 18, 54, 13, 59, 38, 51, 63],
    ],
    dtype=np.float32,
)[:, :, None]


def test_hand_worked_roi_max_pool_8x8_map_into_2x2():
    # RoI (x1, y1, x2, y2) = (1, 2, 6, 7): columns 1..5 and rows 2..6, 5 x 5 cells.
    # Bins of 5 / 2 = 2.5 cells: rows [floor(0), ceil(2.5)) = [0, 3) -> rows 2, 3, 4 and
    # [floor(2.5), ceil(5)) = [2, 5) -> rows 4, 5, 6; columns 1, 2, 3 and 3, 4, 5.
    #   top-left     rows 2-4, cols 1-3: 31 47  9 / 28  7 22 /  4 21 29 -> 47
    #   top-right    rows 2-4, cols 3-5:  9 48 33 / 22 60 55 / 29  1 11 -> 60
    #   bottom-left  rows 4-6, cols 1-3:  4 21 29 / 40 50 53 / 12 10 36 -> 53
    #   bottom-right rows 4-6, cols 3-5: 29  1 11 / 53 26 62 / 36  5  8 -> 62
    out = rp.roi_max_pool(FEATURES, [[1, 2, 6, 7]], (2, 2))
    assert out.shape == (1, 2, 2, 1)
    np.testing.assert_array_equal(out[0, :, :, 0], [[47, 60], [53, 62]])
    # the same RoI in image pixels of a stride-16 network
    scaled = rp.roi_max_pool(FEATURES, [[16, 32, 96, 112]], 2, spatial_scale=1 / 16)
    np.testing.assert_array_equal(scaled, out)


def test_rois_are_rounded_half_up_to_whole_cells():
    # x: 1.5 -> 2 and 6.4 -> 6; y: 2.4 -> 2 and 6.5 -> 7 -> columns 2..5 (4), rows 2..6 (5)
    got = rp.roi_max_pool(FEATURES, [[1.5, 2.4, 6.4, 6.5]], (1, 1))
    assert got[0, 0, 0, 0] == FEATURES[2:7, 2:6].max() == 62
    np.testing.assert_array_equal(
        rp.roi_max_pool(FEATURES, [[0.6, 0.6, 1.4, 1.4]], 1), [[[[FEATURES[1, 1, 0]]]]]
    )


def test_roi_smaller_than_the_output_repeats_cells_and_outside_bins_are_zero():
    one_cell = rp.roi_max_pool(FEATURES, [[3, 3, 4, 4]], (2, 2))  # a single cell: 22
    np.testing.assert_array_equal(one_cell[0, :, :, 0], [[22, 22], [22, 22]])
    degenerate = rp.roi_max_pool(FEATURES, [[3, 3, 3, 3]], (2, 2))  # forced to one cell
    np.testing.assert_array_equal(degenerate, one_cell)
    # RoI (6, 6, 10, 10): columns/rows 6..9, the bins over 8..9 lie outside the map -> 0
    corner = rp.roi_max_pool(FEATURES, [[6, 6, 10, 10]], (2, 2))
    np.testing.assert_array_equal(corner[0, :, :, 0], [[63, 0], [0, 0]])


def test_each_channel_is_pooled_separately_and_the_whole_map_gives_the_global_max():
    two = np.concatenate([FEATURES, 100 - FEATURES], axis=-1)
    out = rp.roi_max_pool(two, [[0, 0, 8, 8], [1, 2, 6, 7]], (1, 1))
    np.testing.assert_array_equal(out[:, 0, 0], [[63, 100], [62, 99]])  # 100 - min: 0, 1
    assert rp.roi_max_pool(two, np.zeros((0, 4)), (7, 7)).shape == (0, 7, 7, 2)


def test_roi_max_pool_is_not_average_pooling_and_bins_overlap():
    out = rp.roi_max_pool(FEATURES, [[1, 2, 6, 7]], (2, 2))[0, :, :, 0]
    average = FEATURES[2:5, 1:4, 0].mean()
    assert out[0, 0] != average
    # the middle row/column (row 4, column 3) belongs to two bins: 29 at (4, 3) is in all four
    assert FEATURES[4, 3, 0] <= out.min()


@pytest.mark.parametrize("seed", [0, 1])
def test_tensorflow_roi_max_pool_matches_numpy_on_random_batches(seed):
    rng = np.random.default_rng(seed)
    maps = rng.normal(size=(2, 13, 11, 3)).astype(np.float32)
    xy = rng.uniform(-40, 170, size=(12, 2))
    rois = np.concatenate([xy, xy + rng.uniform(1, 120, size=(12, 2))], axis=1)
    index = rng.integers(0, 2, size=12)
    got = rp.roi_max_pool_tf(maps, rois, index, (3, 4), spatial_scale=1 / 16).numpy()
    for r in range(12):
        expected = rp.roi_max_pool(maps[index[r]], rois[r:r + 1], (3, 4), 1 / 16)[0]
        np.testing.assert_array_equal(got[r], expected)


def test_tensorflow_roi_max_pool_sends_the_gradient_to_each_bins_maximum():
    fm = tf.constant(FEATURES[None])
    with tf.GradientTape() as tape:
        tape.watch(fm)
        out = rp.roi_max_pool_tf(fm, [[1, 2, 6, 7]], [0], (2, 2))
        total = tf.reduce_sum(out)
    grad = tape.gradient(total, fm).numpy()[0, :, :, 0]
    expected = np.zeros((8, 8))
    for value in (47, 60, 53, 62):
        expected[FEATURES[:, :, 0] == value] = 1
    np.testing.assert_array_equal(grad, expected)


def _bilinear(fm, x, y):
    """Sample (H, W, C) at continuous (x, y): cell (i, j) has its centre at (j + .5, i + .5);
    as in RoIAlign, clamped to the border within one cell beyond the outermost centres and 0
    further out."""
    h, w = fm.shape[:2]
    u, v = x - 0.5, y - 0.5
    if u < -1 or v < -1 or u > w or v > h:
        return np.zeros(fm.shape[2])
    u, v = min(max(u, 0.0), w - 1.0), min(max(v, 0.0), h - 1.0)
    j0, i0 = int(np.floor(u)), int(np.floor(v))
    j1, i1 = min(j0 + 1, w - 1), min(i0 + 1, h - 1)
    a, b = u - j0, v - i0
    top = (1 - a) * fm[i0, j0] + a * fm[i0, j1]
    bottom = (1 - a) * fm[i1, j0] + a * fm[i1, j1]
    return (1 - b) * top + b * bottom


def _numpy_crop(fm, roi, n_y, n_x, scale):
    x1, y1, x2, y2 = np.asarray(roi) * scale
    xs = x1 + (np.arange(n_x) + 0.5) * (x2 - x1) / n_x
    ys = y1 + (np.arange(n_y) + 0.5) * (y2 - y1) / n_y
    return np.array([[_bilinear(fm, x, y) for x in xs] for y in ys])


def test_crop_and_resize_samples_bilinearly_at_bin_centres_with_roialign_borders():
    rng = np.random.default_rng(3)
    fm = rng.normal(size=(9, 10, 2)).astype(np.float32)
    rois = np.array([[8.3, 5.1, 120.7, 99.9], [40.0, 16.0, 60.5, 130.2], [0, 0, 160, 144],
                     [-30.0, -20.0, 50.0, 40.0], [100.0, 90.0, 190.0, 170.0]])  # across the border
    plain = rp.roi_crop_and_resize(fm, rois, (3, 4), 1 / 16, pool=False)
    pooled = rp.roi_crop_and_resize(fm, rois, (3, 4), 1 / 16, pool=True)
    for r, roi in enumerate(rois):
        np.testing.assert_allclose(plain[r], _numpy_crop(fm, roi, 3, 4, 1 / 16), atol=1e-5)
        fine = _numpy_crop(fm, roi, 6, 8, 1 / 16)
        np.testing.assert_allclose(
            pooled[r], fine.reshape(3, 2, 4, 2, 2).max(axis=(1, 3)), atol=1e-5
        )


def test_crop_and_resize_reads_cells_exactly_on_aligned_rois_like_roi_max_pool():
    cells = rp.roi_crop_and_resize(FEATURES, [[2, 1, 6, 5]], (4, 4), pool=False)
    np.testing.assert_allclose(cells[0], FEATURES[1:5, 2:6], atol=1e-4)
    # 2 x 2 samples at the cell centres of each 2 x 2 bin, max-pooled = RoI max pooling
    pooled = rp.roi_crop_and_resize(FEATURES, [[2, 1, 6, 5]], (2, 2), pool=True)
    expected = rp.roi_max_pool(FEATURES, [[2, 1, 6, 5]], (2, 2))
    np.testing.assert_allclose(pooled, expected, atol=1e-4)


def test_sub_cell_shifts_change_crop_and_resize_but_not_quantised_pooling():
    smooth = np.add.outer(np.arange(8.0), np.arange(8.0))[:, :, None]  # values i + j
    a, b = [[1, 1, 5, 5]], [[1.3, 1, 5.3, 5]]
    np.testing.assert_array_equal(rp.roi_max_pool(smooth, a, 2), rp.roi_max_pool(smooth, b, 2))
    shift = rp.roi_crop_and_resize(smooth, b, 2, pool=False) - rp.roi_crop_and_resize(
        smooth, a, 2, pool=False
    )
    np.testing.assert_allclose(shift, 0.3, atol=1e-5)  # bilinear: exactly the 0.3-cell shift


def test_crop_and_resize_tf_is_differentiable_and_batched():
    maps = tf.Variable(np.random.default_rng(4).normal(size=(2, 6, 6, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        out = rp.crop_and_resize_tf(maps, [[0, 0, 48, 48], [16, 16, 96, 96]], [0, 1], 7, 1 / 16)
        loss = tf.reduce_sum(out**2)
    assert tuple(out.shape) == (2, 7, 7, 3)
    grad = tape.gradient(loss, maps).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad[0]).sum() > 0 and np.abs(grad[1]).sum() > 0


def test_spatial_pyramid_pooling_lengths_do_not_depend_on_the_roi():
    fm = np.random.default_rng(5).normal(size=(13, 13, 256)).astype(np.float32)
    whole = rp.spatial_pyramid_pool(fm)
    assert whole.shape == (1, (16 + 4 + 1) * 256)
    np.testing.assert_allclose(whole[0, -256:], fm.max(axis=(0, 1)))  # the 1 x 1 level
    rois = [[0, 0, 16, 16], [32, 48, 200, 190], [100, 10, 120, 200]]
    spp = rp.spatial_pyramid_pool(fm, rois, levels=(6, 3, 2, 1), spatial_scale=1 / 16)
    assert spp.shape == (3, 50 * 256)  # SPP-net: 36 + 9 + 4 + 1 bins
    level_4 = rp.roi_max_pool(fm, rois, (4, 4), 1 / 16).reshape(3, -1)
    np.testing.assert_array_equal(rp.spatial_pyramid_pool(fm, rois, (4,), 1 / 16), level_4)


def test_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match="H, W, C"):
        rp.roi_max_pool(np.zeros((8, 8)), [[0, 0, 1, 1]])
    with pytest.raises(ValueError):
        rp.roi_max_pool(FEATURES, [[0, 0, 1]])
    with pytest.raises(ValueError):
        rp.roi_max_pool(FEATURES, [[0, 0, 1, 1]], (0, 2))
    with pytest.raises(ValueError):
        rp.roi_max_pool(FEATURES, [[0, 0, 1, 1]], spatial_scale=0)
    with pytest.raises(ValueError):
        rp.spatial_pyramid_pool(FEATURES, levels=())
