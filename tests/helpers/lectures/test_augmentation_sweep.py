"""Lecture 03's size sweep (helpers/lectures/augmentation_sweep.py): balanced subsets, equal
steps, random erasing's probability, the summary's gains and the plot, on tiny data."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pandas as pd
import pytest

from helpers.lectures import augmentation_sweep as sw
from helpers.mode import FAST_SIZES, RunMode

matplotlib.use("Agg")


def _data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(10), n // 10).astype("int32")
    x = rng.random((len(y), 28, 28, 1), dtype="float32") * 0.2
    x[np.arange(len(y)), y, 3:25, 0] = 1.0  # one bright row per class: easy to learn
    return x, y


def test_balanced_subset_takes_the_same_number_of_each_class_and_depends_on_the_seed():
    y = np.repeat(np.arange(10), 50)
    a, b = sw.balanced_subset(y, 100, 13), sw.balanced_subset(y, 100, 14)
    assert len(a) == 100 and np.bincount(y[a]).tolist() == [10] * 10
    assert np.all(np.diff(a) > 0) and not np.array_equal(a, b)
    assert np.array_equal(sw.balanced_subset(y, 100, 13), a)
    assert np.array_equal(sw.balanced_subset(y, 10**6, 13), np.arange(500))


def test_a_subset_smaller_than_the_number_of_classes_is_refused():
    with pytest.raises(ValueError, match="at least one image per class"):
        sw.balanced_subset(np.repeat(np.arange(10), 5), 5, 0)


def test_random_erasing_erases_the_stated_fraction_where_kerass_factor_erases_half_as_many():
    images = np.full((2000, 28, 28, 1), 0.5, dtype="float32")
    ours = sw.erased_fraction(sw.random_erasing(seed=1, probability=0.5), images)
    keras_default = sw.erased_fraction(
        keras.layers.RandomErasing(factor=0.5, value_range=(0, 1), fill_value=0.0, seed=1),
        images)
    assert ours == pytest.approx(0.5, abs=0.05)
    assert keras_default == pytest.approx(0.25, abs=0.05)


def test_every_named_augmentation_keeps_the_shape_and_is_off_at_inference():
    images = _data(20)[0]
    for name, build in sw.AUGMENTATIONS.items():
        layer = build(3)
        if layer is None:
            assert name == "none"
            continue
        assert layer(images, training=True).shape == images.shape
        np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)


def test_train_for_steps_learns_an_easy_task_and_refuses_fewer_than_two_steps():
    x, y = _data(200)
    accuracy = sw.train_for_steps(x, y, x, y, None, steps=64, batch_size=32, seed=1)
    assert accuracy > 0.5  # ten classes: chance is 0.1
    with pytest.raises(ValueError, match="steps must be >= 2"):
        sw.train_for_steps(x, y, x, y, None, steps=1)


def test_the_sweep_runs_every_cell_on_shared_subsets_and_the_summary_measures_gains():
    x, y = _data(400)
    config = sw.SweepConfig(sizes=(20, 100), steps=4, batch_size=16, seeds=(1, 2))
    augmentations = {name: sw.AUGMENTATIONS[name] for name in ("none", "horizontal flip")}
    runs = sw.augmentation_sweep(x, y, x[:100], y[:100], augmentations, config.sizes, config,
                                 mode=RunMode(fast=True))
    assert len(runs) == 2 * 2 * 2
    assert set(runs.columns) == {"size", "augmentation", "seed", "test_accuracy", "seconds"}
    summary = sw.sweep_summary(runs)
    assert summary.loc[(20, "none"), "gain_points"] == 0.0
    flip = runs[runs["augmentation"] == "horizontal flip"].set_index(["size", "seed"])
    none = runs[runs["augmentation"] == "none"].set_index(["size", "seed"])
    expected = 100 * (flip["test_accuracy"] - none["test_accuracy"]).loc[100].mean()
    assert summary.loc[(100, "horizontal flip"), "gain_points"] == pytest.approx(expected)
    assert (summary["runs"] == 2).all()
    assert (summary["min"] <= summary["mean"]).all() and (summary["mean"] <= summary["max"]).all()
    fig = sw.plot_size_sweep(summary, config.steps)
    acc_ax, gain_ax = fig.axes
    assert acc_ax.get_xscale() == "log" and "training images" in acc_ax.get_xlabel()
    assert "points" in gain_ax.get_ylabel()
    matplotlib.pyplot.close(fig)
    bars = sw.plot_gains(summary, 100)
    assert len(bars.axes[0].patches) == 1  # "none" is the baseline, not a bar
    assert "100 training images" in bars.axes[0].get_title()
    matplotlib.pyplot.close(bars)


def test_the_summary_refuses_a_baseline_that_was_not_run():
    runs = pd.DataFrame({"size": [10], "augmentation": ["flip"], "seed": [1],
                         "test_accuracy": [0.5], "seconds": [1.0]})
    with pytest.raises(ValueError, match="baseline 'none' is not among"):
        sw.sweep_summary(runs)


def test_fast_mode_sweeps_two_small_sizes_with_one_seed_and_full_mode_the_lecture():
    fast = sw.SweepConfig.for_mode(RunMode(fast=True))
    sizes = FAST_SIZES["augmentation_sweep"]
    assert fast.sizes == (sizes["small"], sizes["large"]) and fast.seeds == (13,)
    assert fast.steps == sizes["steps"]
    full = sw.SweepConfig.for_mode(RunMode(fast=False))
    assert full.sizes == (500, 2000, 10000, 48000) and len(full.seeds) == 3
