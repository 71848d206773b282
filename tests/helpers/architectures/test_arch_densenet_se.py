"""DenseNet and Squeeze-and-Excitation builders: exact parameter counts against Keras and
the formulas, channel growth, transitions, and the SE block's per-channel scaling."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.architectures.densenet import (
    build_densenet,
    dense_block,
    dense_layer,
    transition_block,
)
from helpers.architectures.squeeze_excite import (
    build_se_resnet_demo,
    se_basic_residual_block,
    se_block,
    se_params,
)

layers = keras.layers


def test_densenet121_has_the_layers_and_8062504_parameters_of_keras_densenet121():
    ours = build_densenet()  # defaults: DenseNet-121 at 224x224x3, 1000 classes
    theirs = keras.applications.DenseNet121(weights=None)
    assert ours.count_params() == theirs.count_params() == 8_062_504
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    # Same layers in the same order; only the automatic names of Input/ZeroPadding2D differ.
    assert [type(layer) for layer in ours.layers] == [type(layer) for layer in theirs.layers]
    named = [
        (a.name, b.name)
        for a, b in zip(ours.layers, theirs.layers, strict=True)
        if not isinstance(b, layers.InputLayer | layers.ZeroPadding2D)
    ]
    assert all(a == b for a, b in named)
    assert ours.output_shape == (None, 1000)


@pytest.mark.parametrize("bottleneck", [True, False])
def test_dense_block_grows_by_growth_rate_channels_after_each_layer(bottleneck):
    c0, k, n_layers = 24, 12, 4
    inputs = keras.Input((8, 8, c0))
    model = keras.Model(inputs, dense_block(inputs, n_layers, k, bottleneck, name="blk"))
    for i in range(1, n_layers + 1):
        assert model.get_layer(f"blk_block{i}_concat").output.shape == (None, 8, 8, c0 + i * k)
        assert model.get_layer(f"blk_block{i}_2_conv").kernel.shape == (
            3,
            3,
            4 * k if bottleneck else c0 + (i - 1) * k,
            k,
        )
    has_bottleneck = any(layer.name.endswith("_1_conv") for layer in model.layers)
    assert has_bottleneck is bottleneck
    assert model.output_shape == (None, 8, 8, c0 + n_layers * k)


def test_dense_layer_keeps_its_input_as_the_first_channels():
    inputs = keras.Input((5, 5, 3))
    model = keras.Model(inputs, dense_layer(inputs, growth_rate=4))
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 3)).astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0)[..., :3], x)


@pytest.mark.parametrize(
    ("shape", "compression", "expected"),
    [((8, 8, 64), 0.5, (4, 4, 32)), ((7, 7, 10), 0.5, (3, 3, 5)), ((8, 8, 64), 1.0, (4, 4, 64))],
)
def test_transition_block_compresses_channels_and_halves_the_grid(shape, compression, expected):
    inputs = keras.Input(shape)
    out = transition_block(inputs, compression, name="t")
    assert tuple(out.shape) == (None, *expected)


def test_transition_block_rejects_a_compression_outside_0_1():
    with pytest.raises(ValueError, match="compression"):
        transition_block(keras.Input((8, 8, 4)), compression=0.0)


def test_small_densenet_classifies_28x28x1_images():
    model = build_densenet((2, 2, 2), growth_rate=12, input_shape=(28, 28, 1), num_classes=10,
                           small_input=True)  # fmt: skip
    # stem 2k = 24 channels at 28x28; each block adds 2 * 12, each transition halves:
    # 24 -> 48 -> 24 (14x14) -> 48 -> 24 (7x7) -> 48.
    assert model.get_layer("conv4_block2_concat").output.shape == (None, 7, 7, 24 + 2 * 12)
    y = model.predict(np.random.default_rng(0).random((3, 28, 28, 1)), verbose=0)
    assert y.shape == (3, 10)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(("channels", "ratio"), [(64, 16), (256, 16), (32, 4), (96, 8)])
def test_se_block_has_2CC_over_r_plus_C_over_r_plus_C_parameters(channels, ratio):
    inputs = keras.Input((5, 5, channels))
    model = keras.Model(inputs, se_block(inputs, ratio))
    expected = 2 * channels * channels // ratio + channels // ratio + channels
    assert se_params(channels, ratio) == expected
    assert model.count_params() == expected


def test_se_block_keeps_the_shape():
    inputs = keras.Input((6, 4, 40))
    assert tuple(se_block(inputs, 8).shape) == (None, 6, 4, 40)


def test_se_block_scales_each_channel_by_a_sigmoid_of_the_squeezed_input():
    rng = np.random.default_rng(0)
    c, r = 8, 2
    inputs = keras.Input((4, 5, c))
    out = se_block(inputs, r, name="se")
    model = keras.Model(inputs, out)
    w1, b1 = rng.normal(size=(c, c // r)), rng.normal(size=c // r)
    w2, b2 = rng.normal(size=(c // r, c)), rng.normal(size=c)
    model.get_layer("se_reduce").set_weights([w1, b1])
    model.get_layer("se_excite").set_weights([w2, b2])

    x = rng.normal(size=(3, 4, 5, c)).astype("float32")
    z = x.mean(axis=(1, 2))  # squeeze
    s = 1 / (1 + np.exp(-(np.maximum(z @ w1 + b1, 0) @ w2 + b2)))  # excite
    probe = keras.Model(inputs, [out, model.get_layer("se_excite").output])
    y, s_keras = probe.predict(x, verbose=0)
    assert s_keras.shape == (3, c)
    assert np.all((s_keras > 0) & (s_keras < 1))
    np.testing.assert_allclose(s_keras, s, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(y, x * s_keras[:, None, None, :], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("stride", "filters", "expected"), [(1, 16, (8, 8, 16)),
                                                              (2, 32, (4, 4, 32))])  # fmt: skip
def test_se_residual_block_output_shape_and_projection_shortcut(stride, filters, expected):
    inputs = keras.Input((8, 8, 16))
    model = keras.Model(inputs, se_basic_residual_block(inputs, filters, stride, 4, name="b"))
    assert model.output_shape == (None, *expected)
    names = {layer.name for layer in model.layers}
    assert ("b_proj" in names) is (stride != 1 or filters != 16)
    assert "b_se_scale" in names


def test_se_resnet_demo_classifies_28x28x1_images():
    model = build_se_resnet_demo()
    y = model.predict(np.random.default_rng(1).random((2, 28, 28, 1)), verbose=0)
    assert y.shape == (2, 10)
