"""The FashionMNIST comparison: the small model zoo (shapes, shared skeleton, augmentation only
in training), its parameter/MAC table, the fast-mode splits and the training driver."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest

from helpers.architectures.small import build_small_mobilenet, build_small_resnet, build_small_vgg
from helpers.arithmetic.layer_table import layer_table, layer_table_totals
from helpers.data import Splits
from helpers.lectures import comparison as cmp
from helpers.mode import RunMode

matplotlib.use("Agg")


@pytest.mark.parametrize("name", list(cmp.ZOO))
def test_every_contender_maps_28x28_images_to_10_probabilities_through_14_and_7(name):
    model = cmp.ZOO[name]()
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    grids = {layer.output.shape[1] for layer in model.layers
             if isinstance(layer, keras.layers.Conv2D | keras.layers.DepthwiseConv2D)}
    assert grids == {28, 14, 7}, grids
    assert model.get_layer("avg_pool").input.shape[1:3] == (7, 7)
    assert 20_000 < model.count_params() < 1_500_000
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype="float32")
    probabilities = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_augmentation_changes_training_inputs_only_and_costs_no_weights():
    plain = build_small_vgg(augment=False)
    augmented = build_small_vgg(augment=True)
    assert plain.count_params() == augmented.count_params()
    assert layer_table_totals(layer_table(plain))["macs"] == layer_table_totals(
        layer_table(augmented))["macs"]
    x = np.zeros((2, 28, 28, 1), dtype="float32")
    x[:, 5:20, 3:10] = 1.0  # an asymmetric patch: a flip or a shift moves it
    stem = keras.Model(augmented.input, augmented.get_layer("aug_shift").output)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(stem(x, training=False)), x)
    keras.utils.set_random_seed(1)
    changed = [not np.array_equal(keras.ops.convert_to_numpy(stem(x, training=True)), x)
               for _ in range(5)]
    assert any(changed)


def test_zoo_table_counts_parameters_and_multiply_adds_with_layer_table():
    models = cmp.build_zoo({"VGG": build_small_vgg, "MobileNet": build_small_mobilenet})
    table = cmp.zoo_table(models)
    assert list(table["model"]) == ["VGG", "MobileNet"]
    for row in table.itertuples():
        totals = layer_table_totals(layer_table(models[row.model]))
        assert (row.params, row.macs) == (totals["params"], totals["macs"])
        assert row.params == models[row.model].count_params()


def test_build_zoo_is_deterministic_for_a_seed():
    a = cmp.build_zoo({"ResNet": build_small_resnet}, seed=3)["ResNet"]
    b = cmp.build_zoo({"ResNet": build_small_resnet}, seed=3)["ResNet"]
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_fast_mode_splits_are_small_subsets():
    splits = cmp.comparison_splits(RunMode(fast=True))
    assert splits.sizes() == {"train": 256, "val": 256, "test": 256}
    assert splits.x_train.shape[1:] == (28, 28, 1) and splits.x_train.dtype == np.float32


def _tiny(name: str) -> keras.Model:
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(2, 3, strides=4, name="c")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x), name=name)


def test_run_comparison_trains_every_model_the_same_way_and_plots():
    rng = np.random.default_rng(0)

    def data(n):
        return rng.random((n, 28, 28, 1), dtype="float32"), rng.integers(0, 10, n).astype("int32")

    splits = Splits(*data(64), *data(32), *data(32))
    models = {"A": _tiny("a"), "B": _tiny("b")}
    table, results = cmp.run_comparison(models, splits, epochs=2, batch_size=32)
    assert list(table.columns) == ["model", "params", "macs", "test_accuracy",
                                   "best_val_accuracy", "s_per_epoch", "total_s"]
    assert list(table["model"]) == ["A", "B"] and set(results) == {"A", "B"}
    assert (table["params"] == 2 * 9 + 2 + 2 * 10 + 10).all()
    assert all(len(r.epoch_seconds) == 2 for r in results.values())
    assert table["total_s"].gt(0).all() and table["test_accuracy"].between(0, 1).all()
    fig = cmp.plot_comparison(table, results)
    left, right = fig.axes
    assert left.get_xlabel() == "epoch" and "s" in right.get_xlabel() and right.get_title()
    assert len(left.get_lines()) == 2
    matplotlib.pyplot.close(fig)
