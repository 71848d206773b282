"""ImageNet and ILSVRC data of lecture 04 (helpers/lectures/imagenet_history.py)."""

from __future__ import annotations

import matplotlib
import pytest

from helpers.lectures import imagenet_history as ih

matplotlib.use("Agg")


def test_the_challenge_subset_has_the_seeds_image_counts():
    assert ih.IMAGENET["challenge training images"] == 1_281_167
    assert (ih.IMAGENET["challenge validation images"],
            ih.IMAGENET["challenge test images"]) == (50_000, 100_000)


def test_every_year_has_one_winner_and_cnns_win_from_2012_on():
    best = ih.winners(ih.results_table())
    assert list(best.index) == [2012, 2013, 2014, 2015]
    assert best["method"].eq("deep CNN").all()
    assert best.loc[2014, "team"] == "GoogLeNet" and best.loc[2014, "top5_error"] == 6.66
    assert best["top5_error"].is_monotonic_decreasing


def test_the_first_cnn_cut_the_runner_ups_error_by_more_than_a_third():
    table = ih.results_table().set_index(["year", "place"])
    drop = ih.relative_drop(table.loc[(2012, 2), "top5_error"], table.loc[(2012, 1), "top5_error"])
    assert drop == pytest.approx((26.17 - 16.42) / 26.17) and drop > 1 / 3


def test_relative_drop_refuses_a_zero_error():
    with pytest.raises(ValueError, match="must be > 0"):
        ih.relative_drop(0.0, 1.0)


def test_resnet_and_prelu_net_are_below_the_human_estimate_and_googlenet_above():
    best = ih.winners(ih.results_table())
    assert best.loc[2015, "top5_error"] < ih.HUMAN_TOP5 < best.loc[2014, "top5_error"]
    prelu = dict((team, err) for team, _, err in ih.AFTER_2014)["Microsoft (PReLU-net)"]
    assert prelu == 4.94 < ih.HUMAN_TOP5


def test_alexnets_ensembles_improve_on_one_network():
    e = ih.ALEXNET_ENSEMBLES
    assert e["1 CNN"] > e["5 CNNs"] > e["7 CNNs*"] == 15.4
    assert ih.ALEXNET_RECIPE["batch size"] == 128 and ih.ALEXNET_RECIPE["momentum"] == 0.9


def test_the_winners_plot_labels_its_axes_and_draws_the_human_line():
    fig = ih.plot_winners(ih.results_table())
    ax = fig.axes[0]
    assert ax.get_xlabel() == "ILSVRC year" and "top-5 error" in ax.get_ylabel()
    assert any(line.get_linestyle() == "--" for line in ax.get_lines())
    matplotlib.pyplot.close(fig)
