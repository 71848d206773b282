"""Conv pattern reading, parameter tables over builders, per-layer memory tables, plot."""

from __future__ import annotations

from functools import partial

import keras
import matplotlib
import pytest

from helpers.architectures.classic import VGG_CONFIGS, build_lenet5, build_vgg
from helpers.arithmetic.architecture_tables import (
    conv_pattern,
    memory_table,
    memory_totals,
    params_table,
    plot_params_and_memory,
)

matplotlib.use("Agg")
layers = keras.layers


@pytest.fixture(scope="module")
def vgg16():
    return build_vgg("D")


def test_vgg16_reads_as_two_double_and_three_triple_conv_stages_then_two_hidden_fc(vgg16):
    pattern = conv_pattern(vgg16)
    assert pattern.n == (2, 2, 3, 3, 3) and pattern.m == 5 and pattern.hidden_fc == 2
    assert pattern.formula() == (
        "INPUT -> [[CONV -> RELU]*2 -> POOL]*2 -> [[CONV -> RELU]*3 -> POOL]*3"
        " -> [FC -> RELU]*2 -> FC"
    )
    assert pattern.skipped == ("Flatten", "Dropout")


def test_lenet_has_an_unpooled_last_stage_and_tanh():
    pattern = conv_pattern(build_lenet5())
    assert pattern.stages == ((1, True), (1, True), (1, False))
    assert pattern.formula() == (
        "INPUT -> [CONV -> TANH -> POOL]*2 -> CONV -> TANH -> FC -> TANH -> FC"
    )


def test_separate_activation_layers_name_the_activation(cnn1):
    pattern = conv_pattern(cnn1)
    assert pattern.formula() == "INPUT -> CONV -> RELU -> POOL -> FC -> RELU -> FC"


def test_a_model_without_dense_layer_is_refused():
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="no Dense"):
        conv_pattern(model)


def test_params_table_counts_weight_layers_of_every_vgg_configuration():
    builders = {c: partial(build_vgg, c, (32, 32, 3), 10, width=0.125, fc_units=16)
                for c in VGG_CONFIGS}
    df = params_table(builders)
    assert list(df["model"]) == list(VGG_CONFIGS)
    assert list(df["weight_layers"]) == [11, 11, 13, 16, 16, 19]
    expected = build_vgg("D", (32, 32, 3), 10, width=0.125, fc_units=16).count_params()
    assert df.set_index("model").loc["D", "params"] == expected


def test_memory_table_adds_an_input_row_and_keeps_weight_and_pool_layers_only(cnn1):
    df = memory_table(cnn1)
    assert list(df["name"]) == ["input", "conv", "pool", "fc", "out"]
    assert list(df["activations"]) == [784, 21_632, 5408, 128, 10]
    assert list(df["bytes"]) == [4 * v for v in df["activations"]]
    assert list(df["weights"]) == [0, 288, 0, 692_224, 1280]
    assert list(df["params"]) == [0, 320, 0, 692_352, 1290]
    assert memory_totals(memory_table(cnn1, bytes_per_value=2))["bytes"] == 2 * 27_962


def test_vgg16_forward_activations_are_15_2_million_values_61_mb(vgg16):
    df = memory_table(vgg16)
    totals = memory_totals(df)
    assert len(df) == 22  # input + 13 conv + 5 pool + 3 FC, the lecture's table
    assert totals["activations"] == 15_237_608
    assert totals["bytes"] == 60_950_432 and round(totals["megabytes"]) == 61
    assert totals["params"] == 138_357_544 == vgg16.count_params()
    assert df.set_index("name").loc["fc1", "weights"] == 7 * 7 * 512 * 4096


def test_plot_has_two_labelled_log_axes(cnn1):
    fig = plot_params_and_memory(memory_table(cnn1), "cnn1")
    top, bottom = fig.axes
    assert top.get_yscale() == bottom.get_yscale() == "log"
    assert "parameters" in top.get_ylabel() and "MB" in bottom.get_ylabel()
    assert bottom.get_xlabel() == "layer"
    matplotlib.pyplot.close(fig)
