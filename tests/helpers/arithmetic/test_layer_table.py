"""layer_table: one row per layer, params adding up to count_params, MACs from conv arithmetic."""

from __future__ import annotations

import keras
import pandas as pd
import pytest

from helpers.arithmetic import conv_arithmetic as ca
from helpers.arithmetic.layer_table import COLUMNS, layer_table, layer_table_totals

layers = keras.layers


@pytest.fixture(scope="module")
def cnn1_table(cnn1):
    return cnn1, layer_table(cnn1)


def test_cnn1_table_has_one_row_per_layer_with_the_documented_columns(cnn1_table):
    model, df = cnn1_table
    assert list(df.columns) == COLUMNS
    assert list(df["name"]) == [layer.name for layer in model.layers]
    assert list(df["type"]) == [
        "Conv2D", "Activation", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dense",
    ]


def test_cnn1_output_shapes_drop_the_batch_axis(cnn1_table):
    _, df = cnn1_table
    assert list(df["output_shape"]) == [
        (26, 26, 32), (26, 26, 32), (13, 13, 32), (13, 13, 32), (5408,), (128,), (10,),
    ]
    assert list(df["activations"]) == [21_632, 21_632, 5408, 5408, 5408, 128, 10]


def test_cnn1_params_sum_to_count_params(cnn1_table):
    model, df = cnn1_table
    assert list(df["params"]) == [320, 0, 0, 0, 0, 692_352, 1_290]
    assert df["params"].sum() == model.count_params() == 693_962


def test_cnn1_macs_for_conv_and_dense_only(cnn1_table):
    _, df = cnn1_table
    assert list(df["macs"]) == [26 * 26 * 32 * 9, 0, 0, 0, 0, 5408 * 128, 128 * 10]
    assert df.loc[0, "macs"] == 194_688


def test_totals_are_python_ints_summing_the_columns(cnn1_table):
    _, df = cnn1_table
    totals = layer_table_totals(df)
    assert totals == {
        "layers": 7,
        "params": 693_962,
        "macs": 194_688 + 692_224 + 1_280,
        "activations": 2 * 21_632 + 3 * 5408 + 128 + 10,
        "activation_bytes": 4 * (2 * 21_632 + 3 * 5408 + 128 + 10),
    }
    assert all(type(v) is int for v in totals.values())


def test_totals_reject_a_frame_that_is_not_a_layer_table():
    with pytest.raises(ValueError, match=r"columns \['macs'\] are missing"):
        layer_table_totals(pd.DataFrame(columns=[c for c in COLUMNS if c != "macs"]))


def test_sequential_built_with_model_build_works(make_cnn1):
    model = make_cnn1(built_with_input=False)
    model.build((None, 28, 28, 1))
    df = layer_table(model)
    assert df["params"].sum() == 693_962 and df.loc[0, "output_shape"] == (26, 26, 32)


def test_unbuilt_model_raises_with_the_fix(make_cnn1):
    with pytest.raises(ValueError, match=r"not built.*model\.build\(\.\.\.\) or give an Input"):
        layer_table(make_cnn1(built_with_input=False))


def test_params_not_adding_up_to_count_params_raises(monkeypatch, make_cnn1):
    model = make_cnn1()
    monkeypatch.setattr(type(model), "count_params", lambda self: 1)
    with pytest.raises(ValueError, match=r"add up to 693,962 but model\.count_params\(\) is 1"):
        layer_table(model)


def test_unknown_spatial_size_raises():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, layers.Conv2D(4, 3)(inputs))
    with pytest.raises(ValueError, match=r"\(None, None, None, 3\).*unknown size"):
        layer_table(model)


def test_non_model_raises_type_error():
    with pytest.raises(TypeError, match=r"keras\.Model, got Dense"):
        layer_table(layers.Dense(3))


def _mobile_block() -> keras.Model:
    inputs = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="stem")(inputs)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(name="relu")(x)
    x = layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, name="dw")(x)
    x = layers.SeparableConv2D(24, 3, padding="same", name="sep")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(10, name="head")(x)
    return keras.Model(inputs, outputs)


def test_functional_model_with_batchnorm_and_depthwise_sums_to_count_params():
    model = _mobile_block()
    df = layer_table(model).set_index("name")
    assert df["params"].sum() == model.count_params()
    assert df.loc["image", "type"] == "InputLayer" and df.loc["image", "params"] == 0
    assert df.loc["bn", "params"] == ca.batchnorm_params(16)
    assert df.loc["dw", "params"] == ca.depthwise_conv2d_params(3, 16, depth_multiplier=2)
    assert df.loc["sep", "params"] == ca.separable_conv2d_params(3, 32, 24)
    assert df.loc["dw", "output_shape"] == ca.conv_output_shape((32, 32, 16), 32, 3, strides=2)


def test_functional_model_macs_use_conv_arithmetic():
    df = layer_table(_mobile_block()).set_index("name")
    assert df.loc["stem", "macs"] == ca.conv2d_macs((32, 32, 16), 3, 3)
    assert df.loc["dw", "macs"] == ca.depthwise_conv2d_macs((15, 15, 32), 3)
    assert df.loc["sep", "macs"] == ca.separable_conv2d_macs((15, 15, 24), 3, 32)
    assert df.loc["head", "macs"] == ca.dense_macs(24, 10)
    assert df.loc[["bn", "relu", "gap", "image"], "macs"].tolist() == [0, 0, 0, 0]


def test_dense_on_a_sequence_counts_one_product_per_position():
    inputs = keras.Input((6, 8))
    model = keras.Model(inputs, layers.Dense(5, name="proj")(inputs))
    row = layer_table(model).set_index("name").loc["proj"]
    assert row["output_shape"] == (6, 5) and row["macs"] == 6 * 8 * 5


def test_grouped_conv_macs_divide_by_groups():
    inputs = keras.Input((10, 10, 8))
    model = keras.Model(inputs, layers.Conv2D(16, 3, groups=4, name="g")(inputs))
    assert layer_table(model).set_index("name").loc["g", "macs"] == 8 * 8 * 16 * 9 * 2


def test_nested_model_row_sums_the_macs_of_its_layers(make_cnn1):
    inner = make_cnn1()
    inputs = keras.Input((28, 28, 1))
    outer = keras.Model(inputs, inner(inputs))
    df = layer_table(outer)
    assert df["params"].sum() == outer.count_params() == 693_962
    assert df.iloc[-1]["macs"] == layer_table(inner)["macs"].sum()


def test_channels_first_conv_uses_channels_from_the_first_axis():
    inputs = keras.Input((3, 12, 12))
    conv = layers.Conv2D(4, 3, data_format="channels_first", name="cf")
    df = layer_table(keras.Model(inputs, conv(inputs))).set_index("name")
    assert df.loc["cf", "output_shape"] == (4, 10, 10)
    assert df.loc["cf", "macs"] == ca.conv2d_macs((10, 10, 4), 3, 3)
