"""Published accuracies with sources, computed costs of the full-size models (cached), the
complexity chart, depthwise separable savings, MobileNet's width table and NASNet cell tables."""

from __future__ import annotations

import keras
import matplotlib
import pytest

from helpers.architectures.mobilenet import mobilenet_v1_table, separable_cost_ratio
from helpers.architectures.nasnet import NASNET_A_NORMAL, NASNET_A_REDUCTION
from helpers.arithmetic.layer_table import layer_table
from helpers.lectures import complexity as cx

matplotlib.use("Agg")


def test_every_published_accuracy_is_a_single_crop_percentage_with_a_source():
    for name, pub in cx.PUBLISHED.items():
        assert 50 < pub.top1 < 90, name
        assert len(pub.source) > 20, name
        assert name in cx.ARCHITECTURES or (pub.params and pub.gmacs), name
    assert set(cx.ARCHITECTURES) <= set(cx.PUBLISHED)
    v4 = cx.PUBLISHED["Inception-v4"]
    assert (v4.params, v4.gmacs, v4.top1) == (42_700_000, 12.3, 80.0)


def test_model_cost_builds_each_model_once(monkeypatch):
    calls = []

    def tiny() -> keras.Model:
        calls.append(1)
        inputs = keras.Input((8, 8, 3))
        return keras.Model(inputs, keras.layers.Conv2D(4, 3, name="c")(inputs))

    monkeypatch.setattr(cx, "_TABLES", {})
    monkeypatch.setitem(cx.ARCHITECTURES, "Tiny", (tiny, 8))
    first = cx.model_cost("Tiny")
    assert first == {"params": 3 * 9 * 4 + 4, "macs": 6 * 6 * 4 * 27, "layers": 2}
    assert cx.model_cost("Tiny") == first and len(calls) == 1
    table = cx.model_layer_table("Tiny")
    table.loc[:, "macs"] = 0  # a copy: the cache is not modified
    assert cx.model_cost("Tiny")["macs"] == 6 * 6 * 4 * 27
    with pytest.raises(KeyError, match="no builder"):
        cx.model_cost("LeNet-7")


def test_complexity_table_computes_mobilenet_and_marks_inception_v4_as_published():
    df = cx.complexity_table(["MobileNet", "ResNet-18", "Inception-v4"]).set_index("model")
    assert df.loc["MobileNet", "params"] == 4_253_864
    assert df.loc["MobileNet", "gmacs"] == pytest.approx(0.568740352)
    assert df.loc["ResNet-18", "gmacs"] == pytest.approx(df.loc["ResNet-18", "reference_gmacs"],
                                                          rel=0.01)
    assert list(df["cost"]) == ["computed", "computed", "published"]
    assert df.loc["Inception-v4", "input"] == "299x299" and df.loc["MobileNet", "top1"] == 70.6


def test_plot_complexity_uses_a_log_cost_axis_with_labelled_units():
    df = cx.complexity_table(["MobileNet", "Inception-v4"])
    ax = cx.plot_complexity(df)
    assert ax.get_xscale() == "log"
    assert "GMACs" in ax.get_xlabel() and "%" in ax.get_ylabel() and ax.get_title()
    assert {t.get_text() for t in ax.texts} == {"MobileNet", "Inception-v4"}
    matplotlib.pyplot.close(ax.figure)


@pytest.mark.parametrize(("grid", "cin", "cout", "kernel"), [(7, 16, 32, 3), (5, 8, 64, 5)])
def test_separable_convolution_costs_one_over_n_plus_one_over_k_squared(grid, cin, cout, kernel):
    cost = cx.separable_vs_standard(grid, cin, cout, kernel)
    assert cost["standard_macs"] == grid * grid * cin * cout * kernel**2
    assert cost["separable_macs"] == grid * grid * cin * (kernel**2 + cout)
    assert cost["ratio"] == pytest.approx(cost["formula"], abs=1e-12)
    assert cost["formula"] == pytest.approx(separable_cost_ratio(kernel, cout))


def test_width_multiplier_table_matches_the_papers_table_6():
    df = cx.mobilenet_width_table()
    assert list(df["alpha"]) == [1.0, 0.75, 0.5, 0.25]
    assert list(df["macs"]) == [568_740_352, 325_400_448, 149_497_088, 41_030_272]
    assert list((df["macs"] / 1e6).round()) == list(df["paper_macs_M"])
    assert list((df["params"] / 1e6).round(1)) == list(df["paper_params_M"])
    assert df["macs_vs_1"].iloc[0] == 1.0 and 0.25 < df["macs_vs_1"].iloc[2] < 0.27


def test_pointwise_convolutions_hold_95_percent_of_mobilenets_multiply_adds():
    shares = cx.mobilenet_cost_shares(mobilenet_v1_table())
    assert list(shares.index) == ["Conv 1x1", "Conv dw 3x3", "Conv 3x3", "FC"]
    assert shares.sum().round(6).tolist() == [100.0, 100.0]
    assert round(shares.loc["Conv 1x1", "macs_%"], 2) == 94.86
    assert round(shares.loc["FC", "params_%"], 1) == 24.3


def test_cell_table_reads_nasnet_a_cells():
    normal = cx.cell_table(NASNET_A_NORMAL)
    assert list(normal["new"]) == ["h2", "h3", "h4", "h5", "h6"]
    assert normal.iloc[0][["left", "right"]].tolist() == ["sep5x5(h0 (prev))",
                                                          "sep3x3(h1 (prev_prev))"]
    assert normal["in_output"].all()
    reduction = cx.cell_table(NASNET_A_REDUCTION)
    assert reduction["in_output"].tolist() == [False, True, True, True, True]
    assert reduction.iloc[3]["left"] == "identity(h3)"


def test_type_summary_adds_up_to_the_layer_table():
    inputs = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Conv2D(4, 1)(x)
    table = layer_table(keras.Model(inputs, x))
    summary = cx.type_summary(table)
    assert summary.loc["Conv2D", "layers"] == 2
    assert summary["params"].sum() == table["params"].sum()
    assert summary.index[0] == "Conv2D" and summary["macs"].sum() == table["macs"].sum()
