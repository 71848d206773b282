"""Tests of helpers.nn.activations: values, derivatives vs central differences, maxout's
gradient routing, the plot, and dead ReLUs counted in a Keras model."""


import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.nn.activations import (
    ACTIVATIONS,
    KINKS,
    check_derivatives,
    dead_relu_fraction,
    elu,
    elu_grad,
    leaky_relu,
    leaky_relu_grad,
    maxout,
    maxout_backward,
    maxout_unit,
    numeric_derivative,
    plot_activations,
    prelu,
    prelu_grad,
    relu_grad,
    relu_layers,
    sigmoid,
    sigmoid_grad,
    softplus,
    tanh_grad,
)


def test_registry_covers_the_lecture_activations_with_a_kink_entry_each():
    assert set(ACTIVATIONS) == {"sigmoid", "tanh", "relu", "leaky_relu", "prelu", "softplus",
                                "elu", "maxout"}
    assert set(KINKS) == set(ACTIVATIONS)


def test_every_derivative_matches_central_differences_away_from_kinks():
    table = check_derivatives()
    assert list(table.index) == [*ACTIVATIONS, "maxout (k=3)"]
    assert (table["points"].drop("maxout (k=3)") >= 1990).all()  # only kink points left out
    assert (table["max relative error"] < 1e-6).all(), table


def test_known_values():
    x = np.array([-2.0, 0.0, 3.0])
    assert np.allclose(sigmoid(x), 1 / (1 + np.exp(-x)))
    assert sigmoid_grad(np.array(0.0)) == 0.25 and tanh_grad(np.array(0.0)) == 1.0
    assert np.array_equal(leaky_relu(x, 0.1), [-0.2, 0.0, 3.0])
    assert np.array_equal(relu_grad(x), [0, 0, 1]) and np.array_equal(
        leaky_relu_grad(x, 0.1), [0.1, 0.1, 1.0])
    assert np.allclose(elu(x), [np.exp(-2) - 1, 0, 3]) and np.allclose(elu_grad(x, 2.0),
                                                                        [2 * np.exp(-2), 2, 1])
    assert softplus(np.array(0.0)) == pytest.approx(np.log(2))


def test_sigmoid_and_softplus_do_not_overflow_for_huge_inputs():
    x = np.array([-1000.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):
        assert np.array_equal(sigmoid(x), [0.0, 1.0])
        assert np.array_equal(softplus(x), [0.0, 1000.0])


def test_prelu_takes_one_slope_per_channel():
    x = -np.ones((2, 3, 3, 4))
    alpha = np.array([0.0, 0.1, 0.2, 0.3])
    assert np.allclose(prelu(x, alpha)[0, 0, 0], -alpha)
    assert np.allclose(prelu_grad(x, alpha)[1, 2, 2], alpha)


def test_maxout_takes_the_max_of_each_group_of_pieces_along_the_axis():
    z = np.array([[1.0, 5.0, -1.0, -3.0, 2.0, 0.0]])  # 3 units of 2 pieces
    assert np.array_equal(maxout(z, 2), [[5.0, -1.0, 2.0]])
    assert np.array_equal(maxout(z, 3), [[5.0, 2.0]])
    conv = np.random.default_rng(0).normal(size=(2, 5, 5, 6))
    assert maxout(conv, 3, axis=-1).shape == (2, 5, 5, 2)
    assert maxout(np.moveaxis(conv, -1, 1), 3, axis=1).shape == (2, 2, 5, 5)


def test_maxout_gradient_goes_only_to_the_winning_piece():
    z = np.array([[1.0, 5.0, -1.0, -3.0, 2.0, 0.0]])
    up = np.array([[10.0, 20.0, 30.0]])
    assert np.array_equal(maxout_backward(z, up, 2), [[0, 10, 20, 0, 30, 0]])


def test_maxout_unit_is_a_convex_piecewise_linear_function():
    x = np.linspace(-4, 4, 401)
    y = maxout_unit(x)
    assert np.all(np.diff(y, 2) >= -1e-12)  # convex
    assert y[0] == pytest.approx(-0.5 * -4 - 0.5) and y[-1] == pytest.approx(1.5 * 4 - 2)


@pytest.mark.parametrize("call, message", [
    (lambda: maxout(np.zeros((2, 5)), 2), "not a multiple"),
    (lambda: maxout(np.zeros((2, 4)), 0), "pieces must be"),
    (lambda: maxout_backward(np.zeros((2, 4)), np.zeros((2, 4)), 2), "upstream has shape"),
    (lambda: leaky_relu(np.zeros(3), -0.1), "alpha must be >= 0"),
    (lambda: numeric_derivative(np.sin, np.zeros(2), h=0), "h must be > 0"),
    (lambda: check_derivatives(["swish"]), "unknown activation 'swish'"),
    (lambda: plot_activations(["relu", "gelu"]), "unknown activation 'gelu'"),
])
def test_bad_input_raises_a_helpful_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_plot_shows_values_and_derivatives_in_two_labelled_panels():
    fig = plot_activations(["relu", "tanh", "maxout"])
    values, derivatives = fig.axes
    assert values.get_ylabel() == "f(x)" and derivatives.get_ylabel() == "f'(x)"
    assert values.get_xlabel() == derivatives.get_xlabel() == "pre-activation x"
    assert [t.get_text() for t in values.get_legend().get_texts()] == ["relu", "tanh", "maxout"]
    assert len(derivatives.get_lines()) == 3 + 2  # + the two axis lines
    plt.close(fig)


@pytest.fixture(scope="module")
def model_with_dead_units():
    """A 1x1 conv (ReLU) with 3 channels on inputs in [0, 1): channel 0 is dead (kernel 0,
    bias -1), channel 1 is relu(x), channel 2 is relu(x - 0.5) (alive only where x > 0.5).
    Then Dense(4) + ReLU() with units 1 and 3 dead (weights 0, bias -1); units 0 and 2 have
    weights >= 0 on non-negative inputs and bias 0.1, so they are always positive."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 1))
    conv = keras.layers.Conv2D(3, 1, activation="relu", name="conv")(inputs)
    flat = keras.layers.Flatten()(conv)
    dense = keras.layers.Dense(4, name="dense")(flat)
    act = keras.layers.ReLU(name="act")(dense)
    out = keras.layers.Dense(2, activation="softmax", name="out")(act)
    model = keras.Model(inputs, out)
    model.get_layer("conv").set_weights([np.array([0.0, 1.0, 1.0]).reshape(1, 1, 1, 3),
                                         np.array([-1.0, 0.0, -0.5])])
    w = np.random.default_rng(0).random((48, 4))
    w[:, [1, 3]] = 0.0
    model.get_layer("dense").set_weights([w, np.array([0.1, -1.0, 0.1, -1.0])])
    return model


def test_relu_layers_finds_dense_conv_and_relu_layers_but_not_softmax(model_with_dead_units):
    assert relu_layers(model_with_dead_units) == ["conv", "act"]


def test_dead_relu_fraction_counts_units_that_are_zero_for_every_input(model_with_dead_units):
    x = np.random.default_rng(1).random((10, 4, 4, 1)).astype("float32")
    table = dead_relu_fraction(model_with_dead_units, x, batch_size=3).set_index("layer")
    assert list(table.columns) == ["units", "dead", "fraction"]
    assert table.loc["conv", "units"] == 3 and table.loc["conv", "dead"] == 1
    assert table.loc["act", "units"] == 4 and table.loc["act", "dead"] == 2
    assert table.loc["act", "fraction"] == 0.5
    # a channel alive at only one position of one image is not dead
    low = np.full((2, 4, 4, 1), 0.1, "float32")
    low[1, 2, 3, 0] = 0.9
    only = dead_relu_fraction(model_with_dead_units, low, ["conv"])
    assert only["dead"].tolist() == [1]
    assert dead_relu_fraction(model_with_dead_units, low[:1], ["conv"])["dead"].tolist() == [2]


@pytest.mark.parametrize("names, message", [(["nope"], "has no layer 'nope'"),
                                            (["out"], "not a ReLU layer")])
def test_dead_relu_fraction_rejects_unknown_and_non_relu_layers(model_with_dead_units, names,
                                                                message):
    with pytest.raises(ValueError, match=message):
        dead_relu_fraction(model_with_dead_units, np.zeros((1, 4, 4, 1)), names)


def test_dead_relu_fraction_rejects_empty_data_and_models_without_relu():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="tanh")])
    with pytest.raises(ValueError, match="no ReLU layers"):
        dead_relu_fraction(model, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="x is empty"):
        dead_relu_fraction(model, np.zeros((0, 3)))


def test_dead_relu_fraction_needs_a_model_with_known_inputs():
    model = keras.Sequential([keras.layers.Dense(2, activation="relu")])
    with pytest.raises(ValueError, match="no defined inputs"):
        dead_relu_fraction(model, np.ones((2, 3)))
    model(np.ones((1, 3)))  # calling it once defines them
    assert dead_relu_fraction(model, np.ones((2, 3)))["units"].tolist() == [2]
