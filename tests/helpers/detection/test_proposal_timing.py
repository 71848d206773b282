"""Lecture 10's timing against the number of proposals (helpers/detection/proposal_timing.py):
the same networks per region and shared, the multiply-adds, the table and the plot."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from helpers.detection import proposal_timing as pt

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def nets():
    return pt.build_timing_networks(image_size=128, seed=0)


def test_the_region_backbone_is_the_scene_backbone_at_warp_size(nets):
    assert nets.region_backbone.output_shape == (None, 7, 7, 128)
    assert nets.scene_backbone.output_shape == (None, 16, 16, 128)
    for a, b in zip(nets.region_backbone.get_weights(), nets.scene_backbone.get_weights(),
                    strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_region_costs_the_area_ratio_of_a_scene_pass(nets):
    macs = nets.multiply_adds()
    ratio = macs["region backbone"] / macs["scene backbone"]
    assert ratio == pytest.approx((pt.WARP_SIZE / 128) ** 2, rel=1e-9)
    assert macs["head per region"] > 7 * 7 * 128 * 256  # fc6 alone


def test_random_proposals_lie_inside_the_image_with_sides_of_8_to_64_pixels():
    boxes = pt.random_proposals(500, 128, seed=3)
    wh = boxes[:, 2:] - boxes[:, :2]
    assert boxes.shape == (500, 4) and boxes.min() >= 0 and boxes.max() <= 128
    assert wh.min() >= 8 and wh.max() <= 64
    np.testing.assert_array_equal(boxes, pt.random_proposals(500, 128, seed=3))


def test_the_timing_table_has_both_pipelines_and_their_ratio_and_plots(nets):
    image = np.random.default_rng(0).random((128, 128, 1), dtype="float32")
    table = pt.proposal_timing(nets, image, counts=(4, 16), repeats=1)
    assert list(table.index) == [4, 16]
    assert list(table.columns) == ["R-CNN s", "Fast R-CNN s", "speed-up"]
    assert (table[["R-CNN s", "Fast R-CNN s"]] > 0).all().all()
    np.testing.assert_allclose(table["speed-up"], table["R-CNN s"] / table["Fast R-CNN s"])
    fig = pt.plot_proposal_timing(table)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "proposals per image" and len(ax.get_lines()) == 2
    matplotlib.pyplot.close(fig)


def test_timing_needs_at_least_one_repeat(nets):
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        pt.proposal_timing(nets, np.zeros((128, 128)), counts=(2,), repeats=0)


def test_full_mode_times_the_papers_proposal_counts_and_fast_mode_two_small_ones():
    from helpers.mode import FAST_SIZES, RunMode
    assert pt.timing_settings(RunMode(fast=False)) == ((50, 200, 500, 2000), 3)
    fast = FAST_SIZES["proposal_timing"]
    assert pt.timing_settings(RunMode(fast=True)) == ((fast["small"], fast["large"]), 1)
