"""helpers.lectures.inception_costs: per-branch costs, slide arithmetic, GoogLeNet tables,
grid reduction."""

from __future__ import annotations

import keras
import matplotlib
import pytest

from helpers.architectures import inception as inc
from helpers.lectures import inception_costs as ic

matplotlib.use("Agg")


def _module(block, *args, name: str, shape=(28, 28, 256)) -> keras.Model:
    inputs = keras.Input(shape)
    return keras.Model(inputs, block(inputs, *args, name=name))


@pytest.fixture(scope="module")
def naive() -> keras.Model:
    return _module(inc.inception_naive_module, 128, 192, 96, name="naive")


@pytest.fixture(scope="module")
def bottleneck() -> keras.Model:
    return _module(inc.inception_module, 128, 64, 192, 64, 96, 64, name="bn")


def test_naive_branch_table_follows_the_concat_order_and_adds_up_to_854m(naive):
    table = ic.module_branch_table(naive, "naive")
    assert list(table["branch"]) == ["1x1", "3x3", "5x5", "pool"]
    assert list(table["macs"]) == [25_690_112, 346_816_512, 481_689_600, 0]
    assert sum(shape[-1] for shape in table["output_shape"]) == 672


def test_bottleneck_branch_table_counts_each_reduce_layer_in_its_branch(bottleneck):
    table = ic.module_branch_table(bottleneck, "bn").set_index("branch")
    assert table.loc["3x3", "ops"] == "1x1 conv 64 -> 3x3 conv 192"
    assert table.loc["pool", "ops"] == "3x3 max pool -> 1x1 conv 64"
    assert table.loc["3x3", "macs"] == 12_845_056 + 86_704_128
    assert table["macs"].sum() == 271_351_808
    assert table["params"].sum() == bottleneck.count_params()


def test_branch_table_rejects_an_unknown_module_name(naive):
    with pytest.raises(ValueError, match="no layer"):
        ic.module_branch_table(naive, "inception_3a")


def test_the_slides_bottleneck_terms_add_up_to_258m_not_358m():
    table = ic.terms_table(ic.SLIDE_BOTTLENECK_TERMS)
    assert table.loc[2, "product"] == "28 x 28 x 192 x 3 x 3 x 64"
    assert table["macs"].sum() == 258_506_752


def test_googlenet_module_table_reads_the_output_channels_from_the_model():
    table = ic.googlenet_module_table(inc.build_googlenet(aux_classifiers=False))
    assert list(table["module"]) == list(inc.GOOGLENET_MODULES)
    branches = table["1x1"] + table["3x3"] + table["5x5"] + table["pool_proj"]
    assert (table["out_channels"] == branches).all()
    assert list(table["out_channels"].iloc[[1, -1]]) == [480, 1024]
    assert list(table["grid"].iloc[[0, 2, 7]]) == ["28x28", "14x14", "7x7"]


def test_params_by_prefix_splits_googlenet_into_main_path_and_aux_heads():
    split = ic.params_by_prefix(inc.build_googlenet(), ["aux_1", "aux_2"])
    assert split == {"main": 6_998_552, "aux_1": 3_188_840, "aux_2": 3_190_888}


def test_kernel_area_is_the_weights_per_channel_pair_of_the_built_layer():
    model = _module(inc.inception_asymmetric_block, 32, 16, name="a", shape=(9, 9, 8))
    assert ic.kernel_area(model, "a_1x7") + ic.kernel_area(model, "a_7x1") == 14


@pytest.mark.parametrize(
    "kernels, extent",
    [
        ([(5, 5)], (5, 5)),
        ([(3, 3), (3, 3)], (5, 5)),
        ([(1, 7), (7, 1)], (7, 7)),
        ([(1, 3)], (1, 3)),
    ],
)
def test_impulse_extent_shows_stacked_small_kernels_see_the_large_kernels_region(kernels, extent):
    assert ic.impulse_extent(kernels) == extent


def test_grid_reduction_options_pool_first_bottlenecks_and_conv_first_costs_four_times_more():
    table = ic.grid_reduction_options().set_index("option")
    assert table.loc["pool -> conv", "after_halving"] == (17, 17, 288)
    assert table.loc["parallel", "after_halving"] == (17, 17, 768)
    assert (table["output_shape"] == (17, 17, 768)).all()
    assert table.loc["conv -> pool", "macs"] == 35 * 35 * 768 * 9 * 288
    assert table.loc["parallel", "macs"] < table.loc["pool -> conv", "macs"]


def test_grid_reduction_options_refuse_channel_counts_the_parallel_block_cannot_give():
    with pytest.raises(ValueError, match="384 \\+ 96 \\+ C"):
        ic.grid_reduction_options((35, 35, 256), 768)


def test_stage_shapes_has_one_column_per_model():
    a = _module(inc.inception_v4_block_a, name="v4a", shape=(35, 35, 384))
    table = ic.stage_shapes({"first": a, "second": a}, ["v4a", "v4a_pool"])
    assert table.loc["v4a", "second"] == (35, 35, 384)
    assert list(table.columns) == ["first", "second"]


def test_plot_branch_macs_labels_its_axes_with_units(naive, bottleneck):
    ax = ic.plot_branch_macs(
        ic.module_branch_table(naive, "naive"), ic.module_branch_table(bottleneck, "bn")
    )
    assert "millions" in ax.get_ylabel()
    assert len(ax.patches) == 8
    matplotlib.pyplot.close(ax.figure)


def test_with_commas_formats_only_the_integer_columns(naive):
    shown = ic.with_commas(ic.module_branch_table(naive, "naive"))
    assert shown.loc[2, "macs"] == "481,689,600"
    assert shown.loc[2, "branch"] == "5x5"
    assert shown.loc[2, "output_shape"] == (28, 28, 96)
