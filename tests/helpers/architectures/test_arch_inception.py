"""Inception family: module arithmetic, factorised blocks, GoogLeNet and InceptionV3 counts."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.architectures import inception as inc
from helpers.arithmetic.layer_table import layer_table, layer_table_totals


def _block_model(block, input_shape, *args, **kwargs) -> keras.Model:
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, block(inputs, *args, **kwargs))


def _kernel_area(model: keras.Model, name: str) -> int:
    kh, kw, _, _ = model.get_layer(name).kernel.shape
    return kh * kw


def test_naive_module_on_28x28x256_gives_672_channels_and_854m_macs():
    model = _block_model(inc.inception_naive_module, (28, 28, 256), 128, 192, 96, name="naive")
    assert model.output_shape == (None, 28, 28, 672)
    assert layer_table_totals(layer_table(model))["macs"] == 854_196_224


def test_bottleneck_module_cuts_the_macs_to_271m_with_480_channels():
    model = _block_model(inc.inception_module, (28, 28, 256), 128, 64, 192, 64, 96, 64, name="b")
    assert model.output_shape == (None, 28, 28, 128 + 192 + 96 + 64)
    assert layer_table_totals(layer_table(model))["macs"] == 271_351_808


def test_factorised_5x5_block_keeps_the_grid_and_uses_18_instead_of_25_weights():
    model = _block_model(
        inc.inception_factorised_5x5_block, (35, 35, 192), 64, 48, 64, 64, 96, 32, name="m"
    )
    assert model.output_shape == (None, 35, 35, 256)
    two_3x3 = _kernel_area(model, "m_3x3dbl_1") + _kernel_area(model, "m_3x3dbl_2")
    assert (_kernel_area(model, "m_5x5"), two_3x3) == (25, 18)


@pytest.mark.parametrize("n, factorised, full", [(3, 6, 9), (7, 14, 49)])
def test_asymmetric_block_keeps_the_grid_and_uses_2n_instead_of_n_squared_weights(
    n, factorised, full
):
    model = _block_model(inc.inception_asymmetric_block, (17, 17, 64), 32, 16, name="a", n=n)
    assert model.output_shape == (None, 17, 17, 4 * 32)
    square = keras.layers.Conv2D(16, n)
    square.build((None, 17, 17, 16))
    pair = _kernel_area(model, f"a_1x{n}") + _kernel_area(model, f"a_{n}x1")
    assert (square.kernel.shape[0] * square.kernel.shape[1], pair) == (full, factorised)


def test_expanded_block_keeps_8x8_and_concatenates_the_split_branches():
    model = _block_model(inc.inception_expanded_block, (8, 8, 64), 8, 16, 24, 16, 8, name="e")
    assert model.output_shape == (None, 8, 8, 8 + 2 * 16 + 2 * 16 + 8)


@pytest.mark.parametrize(
    "input_shape, kwargs, output_shape",
    [
        ((35, 35, 288), {"f3": 384, "fdbl_reduce": 64, "fdbl": 96}, (17, 17, 768)),
        (
            (17, 17, 768),
            {"f3": 320, "fdbl_reduce": 192, "fdbl": 192, "f3_reduce": 192, "n": 7},
            (8, 8, 1280),
        ),
    ],
)
def test_grid_reduction_halves_the_grid_and_adds_channels(input_shape, kwargs, output_shape):
    model = _block_model(inc.grid_reduction_block, input_shape, name="r", **kwargs)
    assert model.output_shape == (None, *output_shape)


def test_inception_v3_matches_keras_applications_layer_for_layer():
    ours = inc.build_inception_v3()
    theirs = keras.applications.InceptionV3(weights=None)
    assert ours.count_params() == theirs.count_params() == 23_851_784
    assert ours.output_shape == (None, 1000)

    def signature(model):
        return sorted(
            (type(layer).__name__, str(layer.output.shape), layer.count_params())
            for layer in model.layers
        )

    assert signature(ours) == signature(theirs)


def test_inception_v3_stem_refuses_small_images_without_small_input():
    with pytest.raises(ValueError, match="small_input=True"):
        inc.build_inception_v3((28, 28, 1), 10)


def test_googlenet_counts_with_and_without_auxiliary_heads():
    plain = inc.build_googlenet(aux_classifiers=False)
    assert plain.count_params() == 6_998_552
    assert inc.weight_layer_depth(plain) == 22
    full = inc.build_googlenet()
    assert full.count_params() == 13_378_280
    assert full.output_shape == [(None, 1000)] * 3
    assert full.get_layer("aux_1_pool").output.shape[1:] == (4, 4, 512)
    assert full.get_layer("aux_2_pool").output.shape[1:] == (4, 4, 528)
    assert [inc.weight_layer_depth(full, i) for i in range(3)] == [22, 12, 18]


def test_googlenet_aux_heads_need_the_small_input_stem_on_28x28():
    with pytest.raises(ValueError, match="small_input=True"):
        inc.build_googlenet((28, 28, 1), 10)


def test_inception_v4_block_a_keeps_35x35x384():
    model = _block_model(inc.inception_v4_block_a, (35, 35, 384), name="v4a")
    assert model.output_shape == (None, 35, 35, 384)


@pytest.mark.parametrize(
    "block_type, input_shape", [("A", (9, 9, 32)), ("B", (5, 5, 48)), ("C", (3, 3, 64))]
)
def test_inception_resnet_block_is_the_identity_when_its_projection_is_zero(
    block_type, input_shape
):
    model = _block_model(inc.inception_resnet_block, input_shape, 0.17, block_type, name="r")
    assert model.output_shape == (None, *input_shape)
    proj = model.get_layer("r_proj")
    proj.set_weights([np.zeros_like(w) for w in proj.get_weights()])
    x = np.random.default_rng(0).uniform(0, 1, (2, *input_shape)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), x, atol=1e-6)


def test_inception_resnet_block_rejects_unknown_types():
    with pytest.raises(ValueError, match="block_type"):
        _block_model(inc.inception_resnet_block, (8, 8, 16), 0.1, "D", name="r")


@pytest.mark.parametrize(
    "build, kwargs, max_params",
    [
        (inc.build_googlenet, {"width": 0.25}, 700_000),
        (inc.build_inception_v3, {"width": 0.2}, 900_000),
    ],
)
def test_small_builds_classify_fashion_mnist_sized_images(build, kwargs, max_params):
    model = build((28, 28, 1), 10, small_input=True, **kwargs)
    assert model.count_params() < max_params
    x = np.random.default_rng(0).uniform(0, 1, (2, 28, 28, 1)).astype("float32")
    outputs = model.predict(x, verbose=0)
    for out in outputs if isinstance(outputs, list) else [outputs]:
        assert out.shape == (2, 10)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
