"""MobileNet-V1 against keras.applications and the paper's table 1; NASNet cells built from
a description: shapes, validation, a small network."""

from __future__ import annotations

from fractions import Fraction

import keras
import numpy as np
import pytest

from helpers.architectures.mobilenet import (
    build_mobilenet_v1,
    depthwise_separable_block,
    mobilenet_v1_table,
    separable_cost_ratio,
)
from helpers.architectures.nasnet import (
    NASNET_A_NORMAL,
    NASNET_A_REDUCTION,
    OPERATIONS,
    CellDescription,
    build_cell,
    build_nasnet_demo,
)
from helpers.arithmetic.layer_table import layer_table

layers = keras.layers


@pytest.mark.parametrize(("alpha", "expected"), [(1.0, 4_253_864), (0.5, 1_342_536)])
def test_mobilenet_v1_has_the_weights_of_keras_mobilenet(alpha, expected):
    ours = build_mobilenet_v1(alpha=alpha)
    theirs = keras.applications.MobileNet(weights=None, alpha=alpha)
    assert ours.count_params() == theirs.count_params() == expected
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert ours.output_shape == theirs.output_shape == (None, 1000)


def test_mobilenet_table_totals_569M_mult_adds_and_4_2M_parameters():
    df = mobilenet_v1_table()
    assert int(df["macs"].sum()) == 568_740_352  # paper: 569M
    assert int(df["params"].sum()) == 4_210_088  # paper: 4.2M
    assert round(df["macs"].sum() / 1e6) == 569 and round(df["params"].sum() / 1e6, 1) == 4.2
    # 28 layers: 1 conv, 13 x (depthwise + pointwise), 1 FC; plus avg pool and softmax.
    assert df["type_stride"].str.match(r"(Conv|FC)").sum() == 28
    assert df.iloc[0].to_dict() == {
        "type_stride": "Conv / s2",
        "filter_shape": "3x3x3x32",
        "input_size": "224x224x3",
        "output_size": "112x112x32",
        "macs": 10_838_016,
        "params": 864,
    }
    # The paper's "Conv dw / s2" on 7x7x1024 is a typo: the grid stays 7x7.
    last_dw = df[df["filter_shape"] == "3x3x1024 dw"].iloc[0]
    assert (last_dw["type_stride"], last_dw["output_size"]) == ("Conv dw / s1", "7x7x1024")
    assert list(df["type_stride"].iloc[-3:]) == ["Avg Pool / s1", "FC / s1", "Softmax / s1"]


def test_mobilenet_table_agrees_with_the_keras_model_layer_by_layer():
    alpha = 0.5
    df = mobilenet_v1_table(alpha=alpha)
    model_df = layer_table(build_mobilenet_v1(alpha=alpha))
    convs = model_df[model_df["type"].isin(["Conv2D", "DepthwiseConv2D"])]
    assert list(convs["macs"]) == list(df.loc[df["macs"] > 0, "macs"])
    assert list(convs["params"]) == list(df.loc[df["params"] > 0, "params"])
    assert int(df["macs"].sum()) == 149_497_088  # paper table 6: 149M


def test_depthwise_separable_costs_1_over_N_plus_1_over_9_of_a_standard_conv():
    n = 64
    inputs = keras.Input((14, 14, 32))
    standard = keras.Model(inputs, layers.Conv2D(n, 3, padding="same", use_bias=False)(inputs))
    separable = keras.Model(inputs, depthwise_separable_block(inputs, n, name="ds"))
    assert separable.output_shape == standard.output_shape == (None, 14, 14, n)
    ratio = Fraction(int(layer_table(separable)["macs"].sum()),
                     int(layer_table(standard)["macs"].sum()))  # fmt: skip
    assert ratio == Fraction(1, n) + Fraction(1, 9)
    assert separable_cost_ratio(3, n) == pytest.approx(float(ratio), rel=1e-12)


def test_separable_cost_ratio_rejects_non_positive_sizes():
    with pytest.raises(ValueError, match="out_channels"):
        separable_cost_ratio(3, 0)


def test_small_mobilenet_classifies_28x28x1_images():
    model = build_mobilenet_v1((28, 28, 1), num_classes=10, alpha=0.25, small_input=True)
    assert model.get_layer("block13_pw_relu").output.shape == (None, 4, 4, 256)
    y = model.predict(np.random.default_rng(0).random((3, 28, 28, 1)), verbose=0)
    assert y.shape == (3, 10)


def test_nasnet_a_descriptions_have_five_blocks_and_the_figure_4_outputs():
    assert len(NASNET_A_NORMAL.blocks) == len(NASNET_A_REDUCTION.blocks) == 5
    assert NASNET_A_NORMAL.outputs == (1, 2, 3, 4, 5, 6)
    assert NASNET_A_REDUCTION.outputs == (3, 4, 5, 6)
    ops = {op for d in (NASNET_A_NORMAL, NASNET_A_REDUCTION) for b in d.blocks for _, op in b}
    assert ops == set(OPERATIONS)


def test_normal_cell_keeps_the_grid_and_reduction_cell_halves_it():
    prev_prev = keras.Input((14, 14, 24))
    prev = keras.Input((14, 14, 32))
    normal = build_cell(prev, prev_prev, NASNET_A_NORMAL, filters=8, name="n")
    reduced = build_cell(prev, prev_prev, NASNET_A_REDUCTION, 8, reduction=True, name="r")
    assert tuple(normal.shape) == (None, 14, 14, 6 * 8)
    assert tuple(reduced.shape) == (None, 7, 7, 4 * 8)
    # After a reduction cell, prev_prev has twice the grid: it is reduced to match.
    after = build_cell(reduced, prev, NASNET_A_NORMAL, filters=16, name="a")
    assert tuple(after.shape) == (None, 7, 7, 6 * 16)


def test_cell_concatenates_the_unused_hidden_states_by_default():
    blocks = [((0, "sep3x3"), (1, "identity")), ((2, "max3x3"), (0, "avg3x3"))]
    assert CellDescription(blocks).outputs == (3,)  # states 0, 1 and 2 are used
    prev = keras.Input((9, 9, 5))
    assert tuple(build_cell(prev, None, blocks, filters=4).shape) == (None, 9, 9, 4)


@pytest.mark.parametrize(
    ("blocks", "concat", "message"),
    [
        ([((0, "conv9x9"), (1, "sep3x3"))], None, "unknown operation 'conv9x9'"),
        ([((0, "sep3x3"), (2, "sep3x3"))], None, "block 0 right: hidden state 2 does not exist"),
        ([((0, "sep3x3"), (-1, "sep3x3"))], None, "hidden state -1 does not exist"),
        ([((0, "sep3x3"), (1, "sep3x3"))], (1, 5), "concat: hidden state 5 does not exist"),
        ([((0, "sep3x3"),)], None, "block 0 must be two"),
        ([], None, "at least one block"),
    ],
)
def test_cell_description_rejects_bad_operations_and_input_indices(blocks, concat, message):
    with pytest.raises(ValueError, match=message):
        CellDescription(blocks, concat)


def test_reduction_cell_refuses_to_output_a_full_resolution_input():
    prev = keras.Input((8, 8, 4))
    with pytest.raises(ValueError, match="reduction cell"):
        build_cell(prev, None, [((0, "sep3x3"), (0, "max3x3"))], 4, reduction=True)


def test_nasnet_demo_classifies_random_28x28x1_images():
    model = build_nasnet_demo(n_normal=1)
    assert model.get_layer("reduce2_concat").output.shape == (None, 7, 7, 4 * 64)
    y = model.predict(np.random.default_rng(0).random((4, 28, 28, 1)), verbose=0)
    assert y.shape == (4, 10)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
