"""Tests of helpers.lectures.bn_experiment: the CNN with and without BatchNormalization, the
four-run driver, its table and its plot."""


import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.data import Splits
from helpers.lectures.bn_experiment import (
    FAST_TRAIN,
    BNConfig,
    BNRun,
    bn_results_table,
    build_bn_cnn,
    conv_structure,
    plot_bn_curves,
    run_bn_experiment,
    train_run,
)
from helpers.mode import RunMode

TINY = BNConfig(filters=(4, 4), n_train=32, epochs=2, batch_size=16, run_eagerly=True)


def _splits(n: int = 48) -> Splits:
    rng = np.random.default_rng(0)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n).astype("int32")
    return Splits(x, y, x[:16], y[:16], x[16:32], y[16:32])


def _run(bn: bool, lr: float, val: list[float]) -> BNRun:
    history = {"loss": [1.0] * len(val), "accuracy": [v + 0.1 for v in val],
               "val_loss": [1.0] * len(val), "val_accuracy": val}
    return BNRun(bn, lr, history, [2.0] * len(val), test_accuracy=0.5, params=10)


def _types(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def test_bn_builder_adds_a_batchnorm_after_every_conv_and_keeps_the_convs():
    plain, bn = build_bn_cnn(False), build_bn_cnn(True)
    assert "BatchNormalization" not in _types(plain)
    assert _types(bn).count("BatchNormalization") == _types(bn).count("Conv2D") == 4
    assert [_types(bn)[i + 1] for i, t in enumerate(_types(bn)) if t == "Conv2D"] == [
        "BatchNormalization"] * 4
    assert conv_structure(plain) == conv_structure(bn) == [
        (f"conv{i}", f, (3, 3), (1, 1), "same") for i, f in enumerate((16, 16, 32, 32), 1)]
    assert [layer.use_bias for layer in bn.layers if isinstance(layer, keras.layers.Conv2D)] \
        == [False] * 4
    assert bn.get_layer("bn1").momentum == 0.9
    assert tuple(plain.outputs[0].shape) == tuple(bn.outputs[0].shape) == (None, 10)


def test_without_bn_the_nets_differ_only_by_bn_parameters_and_conv_biases():
    plain, bn = build_bn_cnn(False), build_bn_cnn(True)
    filters = 16 + 16 + 32 + 32
    assert bn.count_params() - plain.count_params() == 4 * filters - filters


@pytest.mark.parametrize("kwargs, message", [({"filters": ()}, "filters must be"),
                                             ({"bn_momentum": 1.0}, "bn_momentum")])
def test_builder_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_bn_cnn(True, **kwargs)


def test_config_names_and_fast_mode():
    assert BNConfig().run_names() == ["plain, lr=0.001", "BN, lr=0.001", "plain, lr=0.05",
                                      "BN, lr=0.05"]
    config = BNConfig()
    assert config.for_mode(RunMode(fast=False)) == config
    assert config.for_mode(RunMode(fast=True)).epochs == 1
    assert config.for_mode(RunMode(fast=True)).n_train == FAST_TRAIN < config.n_train
    assert "12,000 training images" in config.describe()


@pytest.fixture(scope="module")
def tiny():
    return run_bn_experiment(RunMode(fast=False), _splits(), TINY)


def test_experiment_returns_a_four_row_table_and_four_runs(tiny):
    table, runs = tiny
    assert [r.name for r in runs] == TINY.run_names()
    assert list(table.columns) == ["batch_norm", "learning_rate", "final train acc",
                                   "final val acc", "test acc", "seconds"]
    assert len(table) == 4
    assert table["batch_norm"].tolist() == [False, True, False, True]
    assert table["learning_rate"].tolist() == [1e-3, 1e-3, 5e-2, 5e-2]
    for r in runs:
        assert len(r.history["val_accuracy"]) == len(r.epoch_seconds) == TINY.epochs
        assert r.extra["n_train"] == 32 and 0 <= r.test_accuracy <= 1
        assert isinstance(r.model, keras.Model)
    assert table["test acc"].between(0, 1).all() and (table["seconds"] > 0).all()


def test_experiment_in_fast_mode_runs_one_epoch():
    run = train_run(True, 1e-3, _splits(), TINY.for_mode(RunMode(fast=True)))
    assert len(run.history["accuracy"]) == 1 and run.params == build_bn_cnn(
        True, filters=(4, 4)).count_params()


def test_bad_experiment_settings_raise_value_errors():
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        train_run(False, 0.0, _splits(), TINY)
    with pytest.raises(ValueError, match="\\(low, high\\)"):
        run_bn_experiment(RunMode(fast=True), _splits(), BNConfig(learning_rates=(1e-3,)))
    with pytest.raises(ValueError, match="runs is empty"):
        bn_results_table([])
    with pytest.raises(ValueError, match="runs is empty"):
        plot_bn_curves([])


def test_results_table_reports_the_last_epoch():
    table = bn_results_table([_run(False, 0.05, [0.3, 0.1]), _run(True, 0.05, [0.5, 0.8])])
    assert table["final val acc"].tolist() == [0.1, 0.8]
    assert table["final train acc"].tolist() == [0.2, 0.9]
    assert table["seconds"].tolist() == [4.0, 4.0]


def test_plot_has_one_labelled_panel_per_learning_rate():
    runs = [_run(bn, lr, [0.3, 0.5, 0.6]) for lr in (1e-3, 5e-2) for bn in (False, True)]
    fig = plot_bn_curves(runs, "test")
    low, high = fig.axes
    assert low.get_ylabel() == "validation accuracy (%)" and high.get_xlabel() == "epoch"
    assert "0.001" in low.get_title() and "0.05" in high.get_title()
    assert [t.get_text() for t in high.get_legend().get_texts()] == ["plain, lr=0.05",
                                                                    "BN, lr=0.05"]
    assert np.allclose(low.get_lines()[1].get_ydata(), [30, 50, 60])
    plt.close(fig)
