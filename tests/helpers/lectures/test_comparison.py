"""The FashionMNIST comparison: its table, the same recipe and budget for every model, the
fast-mode sizes and the plot."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest

from helpers.architectures import fashion_zoo
from helpers.arithmetic.layer_table import layer_table, layer_table_totals
from helpers.lectures import comparison as cmp
from helpers.mode import RunMode

matplotlib.use("Agg")


def test_zoo_table_counts_parameters_and_multiply_adds_with_layer_table():
    models = cmp.build_zoo({"VGG": fashion_zoo.build_fashion_vgg,
                            "MobileNet": fashion_zoo.build_fashion_mobilenet})
    table = cmp.zoo_table(models)
    assert list(table["model"]) == ["VGG", "MobileNet"]
    for row in table.itertuples():
        totals = layer_table_totals(layer_table(models[row.model]))
        assert (row.params, row.macs) == (totals["params"], totals["macs"])
        assert row.params == models[row.model].count_params()


def test_build_zoo_is_deterministic_for_a_seed():
    a = cmp.build_zoo({"ResNet": fashion_zoo.build_fashion_resnet}, seed=3)["ResNet"]
    b = cmp.build_zoo({"ResNet": fashion_zoo.build_fashion_resnet}, seed=3)["ResNet"]
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_fast_mode_trains_one_epoch_on_two_batches_and_full_mode_on_everything():
    fast = cmp.comparison_mode(RunMode(fast=True))
    assert (fast.max_train, fast.max_eval, fast.epochs(100)) == (256, 256, 1)
    full = RunMode(fast=False)
    assert cmp.comparison_mode(full) is full


def test_epoch_seconds_are_the_differences_of_the_cumulative_times():
    class Run:
        history = {"train_seconds": [5.0, 7.5, 10.0]}
    assert cmp.epoch_seconds(Run()) == [5.0, 2.5, 2.5]


def _tiny(name: str) -> keras.Model:
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(2, 3, strides=4, name="c")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x), name=name)


def _data(rng, n):
    return rng.random((n, 28, 28, 1), dtype="float32"), rng.integers(0, 10, n).astype("int32")


def test_run_comparison_trains_every_model_for_the_same_budget_and_plots():
    rng = np.random.default_rng(0)
    data = (*_data(rng, 512), *_data(rng, 64))
    models = {"A": _tiny("a"), "B": _tiny("b")}
    table, results = cmp.run_comparison(models, data, RunMode(fast=False), budget_s=3.0,
                                        recipe=cmp.RECIPE.with_(epochs=4), target=0.05)
    assert list(table.columns) == ["model", "params", "macs", "epochs", "s_per_epoch",
                                   "test_accuracy", "test_accuracy_tta", "s_to_target",
                                   "total_s"]
    assert list(table["model"]) == ["A", "B"] and set(results) == {"A", "B"}
    assert (table["params"] == 2 * 9 + 2 + 2 * 10 + 10).all()
    assert table["epochs"].between(1, 4).all()
    assert table["total_s"].le(3.0 + 2.0).all()  # the budget holds (one epoch of slack)
    assert table["test_accuracy"].between(0, 1).all() and table["s_per_epoch"].gt(0).all()
    assert all(r.n_train == 512 for r in results.values())
    fig = cmp.plot_comparison(table, results)
    curves, by_macs, by_params, by_time = fig.axes
    assert curves.get_xlabel().startswith("training time (s")
    assert len(curves.get_lines()) == 2
    assert "multiply-adds" in by_macs.get_xlabel() and "parameters" in by_params.get_xlabel()
    assert "seconds per epoch" in by_time.get_xlabel()
    matplotlib.pyplot.close(fig)


def test_without_a_budget_every_model_trains_the_recipes_epochs_and_reports_flip_tta():
    rng = np.random.default_rng(2)
    data = (*_data(rng, 256), *_data(rng, 64))
    table, results = cmp.run_comparison({"A": _tiny("a"), "B": _tiny("b")}, data,
                                        RunMode(fast=False), recipe=cmp.RECIPE.with_(epochs=2))
    assert table["epochs"].eq(2).all()
    assert not any(r.stopped_by_budget for r in results.values())
    assert table["test_accuracy_tta"].between(0, 1).all()
    for row in table.itertuples():
        assert row.test_accuracy_tta == results[row.model].test_accuracy_tta


def test_the_shared_recipe_trains_the_stated_epochs_with_flip_tta():
    assert cmp.RECIPE.epochs == cmp.EPOCHS and cmp.RECIPE.tta_flip


def test_in_fast_mode_the_comparison_subsamples_and_runs_one_epoch():
    rng = np.random.default_rng(1)
    data = (*_data(rng, 600), *_data(rng, 400))
    table, results = cmp.run_comparison({"A": _tiny("a")}, data, RunMode(fast=True))
    assert table.loc[0, "epochs"] == 1 and results["A"].n_train == 256


def test_a_budget_that_is_not_positive_is_refused():
    with pytest.raises(ValueError, match="budget_s must be > 0"):
        cmp.run_comparison({}, (None,) * 4, RunMode(fast=False), budget_s=0)
