"""Tests of helpers.lectures.degradation: the plain vs residual depth experiment and its plot."""


import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.lectures.degradation import (
    DegradationConfig,
    NetRun,
    degradation_table,
    depth_gaps,
    plot_training_error,
    run_degradation,
    training_subset,
)
from helpers.mode import RunMode

TINY = DegradationConfig(depths=(8, 14), width=2, n_train=48, epochs=2, batch_size=16,
                         run_eagerly=True)


def _run(name: str, depth: int, residual: bool, errors: list[float]) -> NetRun:
    return NetRun(name, depth, residual, params=100, train_error=errors,
                  train_loss=[1.0] * len(errors), epoch_seconds=[0.5] * len(errors))


@pytest.fixture(scope="module")
def tiny_runs():
    rng = np.random.default_rng(0)
    x = rng.random((80, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 80).astype("int32")
    return run_degradation(x, y, TINY)


def test_full_mode_keeps_the_config_and_fast_mode_shrinks_only_data_and_epochs():
    config = DegradationConfig()
    assert config.for_mode(RunMode(fast=False)) == config
    fast = config.for_mode(RunMode(fast=True), fast_train=100)
    assert (fast.n_train, fast.epochs, fast.run_eagerly) == (100, 1, True)
    assert (fast.depths, fast.width, fast.learning_rate, fast.batch_size) == (
        config.depths, config.width, config.learning_rate, config.batch_size)


def test_net_names_list_plain_nets_then_residual_nets():
    assert DegradationConfig().net_names() == ["plain-20", "plain-56", "resnet-20", "resnet-56"]


def test_training_subset_is_seeded_and_keeps_images_with_their_labels():
    x = np.arange(50, dtype=np.float32).reshape(50, 1, 1, 1)
    y = np.arange(50)
    xs, ys = training_subset(x, y, 10, seed=3)
    xs2, _ = training_subset(x, y, 10, seed=3)
    assert xs.shape == (10, 1, 1, 1) and np.array_equal(xs, xs2)
    assert np.array_equal(xs[:, 0, 0, 0], ys) and len(set(ys)) == 10
    assert not np.array_equal(training_subset(x, y, 10, seed=4)[1], ys)


@pytest.mark.parametrize("n", [0, 51])
def test_training_subset_rejects_sizes_outside_the_data(n):
    with pytest.raises(ValueError, match="n must be"):
        training_subset(np.zeros((50, 1)), np.zeros(50), n)


def test_run_degradation_trains_four_nets_and_records_every_epoch(tiny_runs):
    assert [r.name for r in tiny_runs] == TINY.net_names()
    for r in tiny_runs:
        assert len(r.train_error) == len(r.train_loss) == len(r.epoch_seconds) == TINY.epochs
        assert all(0.0 <= e <= 1.0 for e in r.train_error)
        assert 0 < r.first_step_seconds <= r.epoch_seconds[0]
        assert r.final_train_error == r.train_error[-1]


def test_plain_and_residual_twins_have_the_same_parameters(tiny_runs):
    params = {r.name: r.params for r in tiny_runs}
    assert params["plain-8"] == params["resnet-8"] < params["plain-14"] == params["resnet-14"]


def test_depth_gaps_are_deep_minus_shallow_final_errors_per_kind():
    runs = [_run("plain-20", 20, False, [0.5, 0.2]), _run("plain-56", 56, False, [0.8, 0.4]),
            _run("resnet-20", 20, True, [0.4, 0.15]), _run("resnet-56", 56, True, [0.4, 0.1])]
    gaps = depth_gaps(runs)
    assert gaps["plain"] == pytest.approx(0.2) and gaps["resnet"] == pytest.approx(-0.05)
    with pytest.raises(ValueError, match="two depths"):
        depth_gaps(runs[:3])


def test_results_table_reports_errors_in_percent_and_total_seconds():
    table = degradation_table([_run("plain-20", 20, False, [0.5, 0.25]),
                           _run("resnet-20", 20, True, [0.3, 0.4])])
    assert table.loc["plain-20", "final train error %"] == 25.0
    assert table.loc["resnet-20", "best train error %"] == 30.0
    assert table.loc["resnet-20", "train seconds"] == 1.0
    assert list(table.index) == ["plain-20", "resnet-20"]


def test_plot_has_a_plain_and_a_residual_panel_with_labelled_axes(tiny_runs):
    fig = plot_training_error(tiny_runs, "test")
    plain, residual = fig.axes
    assert plain.get_ylabel() == "training error (%)" and plain.get_xlabel() == "epoch"
    assert [t.get_text() for t in plain.get_legend().get_texts()] == ["plain-8", "plain-14"]
    assert [t.get_text() for t in residual.get_legend().get_texts()] == ["resnet-8", "resnet-14"]
    plt.close(fig)
