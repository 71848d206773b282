"""Tests of helpers.nn.initialisation: the schemes' standard deviations, what they do to
activations over ten layers, the histogram grid, and zero initialisation's symmetry."""


import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.lectures.initialisation_study import zero_init_symmetry_demo
from helpers.mode import RunMode
from helpers.nn.initialisation import (
    SCHEMES,
    build_mlp,
    distinct_columns,
    forward_activation_stats,
    forward_activations,
    init_std,
    init_weights,
    keras_initializer,
    plot_activation_histograms,
)

SIZE = {"width": 256, "batch": 500}  # smaller than the lecture's 500 x 1000: same behaviour


@pytest.mark.parametrize("scheme, n_in, n_out, std", [
    ("zero", 10, 10, 0.0), ("small", 10, 999, 0.01), ("xavier", 100, 7, 0.1),
    ("glorot", 150, 50, 0.1), ("he", 200, 100, 0.1), ("he", 8, 1, 0.5),
])
def test_init_std_has_the_lecture_variances(scheme, n_in, n_out, std):
    assert init_std(scheme, n_in, n_out) == pytest.approx(std)


@pytest.mark.parametrize("scheme", ["small", "xavier", "glorot", "he"])
def test_numpy_and_keras_weights_have_the_scheme_std(scheme):
    n_in, n_out = 400, 200
    expected = init_std(scheme, n_in, n_out)
    w = init_weights(scheme, n_in, n_out, rng=1)
    assert w.shape == (n_in, n_out) and abs(w.mean()) < 0.05 * expected
    assert w.std() == pytest.approx(expected, rel=0.02)
    k = np.asarray(keras_initializer(scheme, seed=1)((n_in, n_out)))
    assert k.std() == pytest.approx(expected, rel=0.02)
    assert np.abs(k).max() > 3 * expected  # Gaussian, not truncated at 2 std


def test_zero_weights_are_all_zero_and_seeded_weights_repeat():
    assert not init_weights("zero", 5, 3).any()
    assert np.array_equal(init_weights("he", 5, 3, rng=4), init_weights("he", 5, 3, rng=4))


def test_relu_with_he_keeps_the_std_over_ten_layers_and_half_the_units_at_zero():
    stats = forward_activation_stats("he", "relu", **SIZE)
    assert list(stats.index) == list(range(1, 11))
    assert 0.7 < stats["std"][10] / stats["std"][1] < 1.3
    assert stats["fraction zero"].between(0.4, 0.6).all()


def test_relu_with_small_random_weights_collapses_and_with_xavier_shrinks():
    small = forward_activation_stats("small", "relu", **SIZE)["std"]
    assert small[10] < 1e-6 * small[1]
    xavier = forward_activation_stats("xavier", "relu", **SIZE)["std"]
    # Var(W) = 1/n_in halves the second moment per ReLU layer: ~ 0.71x the std per layer
    assert 0.02 < xavier[10] / xavier[1] < 0.1


def test_tanh_with_small_random_weights_collapses_to_zero_but_xavier_keeps_it_alive():
    small = forward_activation_stats("small", "tanh", **SIZE)
    assert small["std"][10] < 1e-5 and abs(small["mean"][10]) < 1e-6
    assert forward_activation_stats("xavier", "tanh", **SIZE)["std"][10] > 0.15


def test_forward_activations_returns_one_float32_array_per_layer():
    acts = forward_activations("glorot", "tanh", n_layers=3, width=20, batch=7, seed=2)
    assert len(acts) == 3 and all(a.shape == (7, 20) and a.dtype == np.float32 for a in acts)
    assert all(np.abs(a).max() < 1 for a in acts)


def test_histogram_grid_has_schemes_as_rows_and_layers_as_columns():
    fig = plot_activation_histograms("relu", schemes=("small", "he"), layers=(1, 5, 10),
                                     width=50, batch=40)
    assert len(fig.axes) == 6
    assert [ax.get_ylabel() for ax in fig.axes[::3]] == ["small", "he"]
    assert [ax.get_title() for ax in fig.axes[:3]] == ["layer 1", "layer 5", "layer 10"]
    assert "relu" in fig.get_suptitle()
    assert "std" in fig.axes[0].texts[0].get_text()
    plt.close(fig)


def test_tanh_histograms_share_the_range_minus_one_to_one():
    fig = plot_activation_histograms("tanh", schemes=("xavier",), layers=(2,), width=30,
                                     batch=20)
    assert fig.axes[0].get_xlim()[0] <= -1 and fig.axes[0].get_xlim()[1] >= 1
    plt.close(fig)


def test_collapsed_relu_activations_fall_into_the_first_bin_of_the_shared_range():
    fig = plot_activation_histograms("relu", schemes=("small", "he"), layers=(10,), width=64,
                                     batch=50, bins=20)
    small, he = fig.axes
    assert small.get_xlim() == he.get_xlim()
    heights = [p.get_height() for p in small.patches]
    assert heights[0] == sum(heights) > 0
    assert sum(p.get_height() > 0 for p in he.patches) > 5
    plt.close(fig)


def test_distinct_columns_counts_different_units():
    w = np.array([[1.0, 1.0, 2.0], [3.0, 3.0, 3.0]])
    assert distinct_columns(w) == 2 and distinct_columns(np.zeros((4, 9))) == 1
    assert distinct_columns(w + np.array([0, 1e-9, 0])) == 3
    assert distinct_columns(w + np.array([0, 1e-9, 0]), atol=1e-6) == 2


def test_build_mlp_uses_the_scheme_for_every_kernel():
    model = build_mlp("zero", hidden=(8, 4), input_shape=(3, 3, 1))
    assert [layer.name for layer in model.layers[2:]] == ["hidden1", "hidden2", "output"]
    assert not any(np.asarray(w).any() for w in model.weights)


@pytest.mark.parametrize("call, message", [
    (lambda: init_std("kaiming", 3, 3), "unknown initialisation scheme 'kaiming'"),
    (lambda: init_std("he", 0, 3), "n_in and n_out must be >= 1"),
    (lambda: forward_activations("he", "swish"), "unknown activation 'swish'"),
    (lambda: forward_activations("he", "relu", n_layers=0), "must be >= 1"),
    (lambda: plot_activation_histograms("relu", layers=(0,)), "each in \\[1, 10\\]"),
    (lambda: plot_activation_histograms("relu", schemes=()), "schemes is empty"),
    (lambda: distinct_columns(np.zeros(3)), "2-D kernel"),
    (lambda: zero_init_symmetry_demo(RunMode(fast=True), schemes=("zeros",)),
     "unknown initialisation scheme 'zeros'"),
])
def test_bad_input_raises_a_helpful_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_schemes_table_names_every_scheme():
    assert list(SCHEMES) == ["zero", "small", "xavier", "glorot", "he"]


@pytest.fixture(scope="module")
def demo():
    return zero_init_symmetry_demo(RunMode(fast=True), hidden=(16, 16), fast_train=256,
                                   run_eagerly=True)


def test_zero_init_never_breaks_the_symmetry_although_its_weights_move(demo):
    assert demo.n_train == 256 and demo.epochs == 1
    assert demo.distinct_units["zero"] == 1 and demo.column_spread["zero"] == 0.0
    assert demo.weight_change["zero"] > 0  # sigmoid(0) = 0.5: gradients flow, in lock-step
    assert demo.distinct_units["he"] == demo.units == 16
    assert demo.column_spread["he"] > 0.1


def test_demo_table_has_one_row_per_scheme_with_histories(demo):
    table = demo.table()
    assert list(table.index) == ["zero", "he"]
    assert table.loc["zero", "distinct hidden1 units"] == 1
    for h in demo.histories.values():
        assert len(h["val_accuracy"]) == 1 and 0 <= h["val_accuracy"][0] <= 1
    assert all(math.isfinite(s) and s > 0 for s in demo.seconds.values())
