"""Classic architectures: paper shapes and parameter counts, LRN, small-input variants."""

from __future__ import annotations

import functools

import keras
import numpy as np
import pandas as pd
import pytest

from helpers.architectures.classic import (
    VGG_CONFIGS,
    LocalResponseNormalization,
    build_alexnet,
    build_lenet5,
    build_nin,
    build_vgg,
    build_zfnet,
)
from helpers.arithmetic.conv_arithmetic import conv2d_params, dense_params
from helpers.arithmetic.layer_table import layer_table

# Table 2 of Simonyan & Zisserman (2015), parameters in millions.
VGG_TABLE_2 = {"A": 133, "A-LRN": 133, "B": 133, "C": 134, "D": 138, "E": 144}


def _count(model: keras.Model) -> int:
    """``model.count_params()``, then let the (large) model go."""
    count = model.count_params()
    del model
    keras.backend.clear_session()
    return count


@functools.cache
def _vgg_count(config: str) -> int:
    """Full-size parameter count, built once per test session (a VGG takes seconds)."""
    return _count(build_vgg(config))


@pytest.mark.parametrize(
    ("config", "application", "expected"),
    [("D", "VGG16", 138_357_544), ("E", "VGG19", 143_667_240)],
)
def test_vgg_d_and_e_have_exactly_the_parameters_of_keras_applications(
    config, application, expected
):
    assert _count(getattr(keras.applications, application)(weights=None)) == expected
    assert _vgg_count(config) == expected


@pytest.mark.parametrize("config", list(VGG_TABLE_2))
def test_vgg_configurations_round_to_the_papers_table_2(config):
    assert round(_vgg_count(config) / 1e6) == VGG_TABLE_2[config]


def test_vgg_c_uses_1x1_convolutions_in_its_last_three_stages():
    kernels = {
        layer.name: layer.kernel_size
        for layer in build_vgg("C", input_shape=(32, 32, 3), num_classes=10).layers
        if isinstance(layer, keras.layers.Conv2D)
    }
    assert [name for name, k in kernels.items() if k == (1, 1)] == [
        "block3_conv3",
        "block4_conv3",
        "block5_conv3",
    ]
    assert set(VGG_CONFIGS) == set(VGG_TABLE_2)


@functools.cache
def _alexnet_table() -> pd.DataFrame:
    table = layer_table(build_alexnet()).set_index("name")
    keras.backend.clear_session()
    return table


def test_alexnet_conv1_and_pool1_have_the_slide_shapes_and_34944_params():
    table = _alexnet_table()
    assert table.loc["conv1", "output_shape"] == (55, 55, 96)
    assert table.loc["conv1", "params"] == 34_944 == conv2d_params(11, 3, 96)
    assert table.loc["pool1", "output_shape"] == (27, 27, 96)
    assert table.loc["pool1", "params"] == 0
    assert table.loc["pool5", "output_shape"] == (6, 6, 256)
    assert table.loc["fc6", "params"] == dense_params(6 * 6 * 256, 4096)


def test_alexnet_total_is_about_62_million_or_60_million_with_two_towers():
    one_tower = int(_alexnet_table()["params"].sum())
    assert one_tower == 62_378_344
    assert 60e6 <= one_tower <= 63e6
    assert _count(build_alexnet(two_tower=True)) == 60_965_224


def test_alexnet_on_224_pixels_raises_and_explains_the_227_typo():
    with pytest.raises(ValueError, match=r"224.*typo.*227") as info:
        build_alexnet(input_shape=(224, 224, 3))
    assert "strict=False" in str(info.value)
    model = build_alexnet(input_shape=(224, 224, 3), strict=False)
    assert model.get_layer("conv1").output.shape[1:] == (54, 54, 96)
    keras.backend.clear_session()


def test_zfnet_follows_the_sizes_of_its_figure():
    model = build_zfnet()
    names = ("conv1", "pool1", "conv2", "pool5")
    shapes = {name: model.get_layer(name).output.shape[1:] for name in names}
    assert shapes == {
        "conv1": (110, 110, 96),
        "pool1": (55, 55, 96),
        "conv2": (26, 26, 256),
        "pool5": (6, 6, 512),
    }
    assert _count(model) == 107_627_624


def _paper_lrn(a: np.ndarray, n: int, k: float, alpha: float, beta: float) -> np.ndarray:
    """Krizhevsky et al. (2012), section 3.3, written out channel by channel."""
    channels = a.shape[-1]
    b = np.empty_like(a)
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels - 1, i + n // 2)
        b[..., i] = a[..., i] / (k + alpha * np.sum(a[..., lo : hi + 1] ** 2, axis=-1)) ** beta
    return b


@pytest.mark.parametrize(("n", "k", "alpha", "beta"), [(5, 2.0, 1e-4, 0.75), (3, 1.0, 0.1, 0.5)])
def test_lrn_matches_the_papers_formula(n, k, alpha, beta):
    a = np.random.default_rng(0).normal(scale=10.0, size=(2, 3, 4, 9)).astype("float32")
    layer = LocalResponseNormalization(size=n, k=k, alpha=alpha, beta=beta)
    assert layer.depth_radius == n // 2
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(a)), _paper_lrn(a, n, k, alpha, beta), rtol=1e-5
    )


def test_lrn_round_trips_through_its_config_and_rejects_even_sizes():
    layer = LocalResponseNormalization(size=3, k=1.5, alpha=2e-3, beta=0.5, name="lrn")
    config = layer.get_config()
    clone = LocalResponseNormalization.from_config(config)
    assert clone.get_config() == config
    assert (clone.size, clone.k, clone.alpha, clone.beta) == (3, 1.5, 2e-3, 0.5)
    registered = keras.saving.get_registered_object("cnn_course>LocalResponseNormalization")
    assert registered is LocalResponseNormalization
    with pytest.raises(ValueError, match="odd"):
        LocalResponseNormalization(size=4)


def test_lenet5_has_61706_parameters_on_32_and_on_28_pixels():
    expected = sum(
        (
            conv2d_params(5, 1, 6),
            conv2d_params(5, 6, 16),
            conv2d_params(5, 16, 120),
            dense_params(120, 84),
            dense_params(84, 10),
        )
    )
    assert expected == 61_706
    for shape in ((32, 32, 1), (28, 28, 1)):
        model = build_lenet5(shape)
        assert model.get_layer("c5").output.shape[1:] == (1, 1, 120)
        assert _count(model) == expected


def test_nin_has_no_dense_layer_and_ends_in_global_average_pooling():
    model = build_nin()
    assert not any(isinstance(layer, keras.layers.Dense) for layer in model.layers)
    assert isinstance(model.layers[-2], keras.layers.GlobalAveragePooling2D)
    assert model.layers[-3].output.shape[1:] == (8, 8, 10)
    assert _count(model) == 966_986


SMALL_BUILDERS = {
    "lenet5": build_lenet5,
    "alexnet": build_alexnet,
    "zfnet": build_zfnet,
    **{f"vgg_{c}": (lambda c=c, **kw: build_vgg(c, **kw)) for c in VGG_CONFIGS},
    "nin": build_nin,
}


@pytest.mark.parametrize("name", list(SMALL_BUILDERS))
def test_every_builder_classifies_fashion_mnist_sized_images(name):
    model = SMALL_BUILDERS[name](input_shape=(28, 28, 1), num_classes=10)
    x = np.random.default_rng(1).random((2, 28, 28, 1), dtype=np.float32)
    probs = keras.ops.convert_to_numpy(model(x, training=False))
    assert probs.shape == (2, 10)
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    keras.backend.clear_session()


def test_width_scales_the_filters_and_small_input_can_be_forced():
    model = build_vgg("A", input_shape=(28, 28, 1), num_classes=10, width=0.25)
    assert model.get_layer("block5_conv2").filters == 128
    assert model.get_layer("fc1").units == 512
    assert model.get_layer("block5_pool").output.shape[1:] == (1, 1, 128)
    forced = build_alexnet(input_shape=(96, 96, 3), num_classes=10, small_input=True, width=0.5)
    assert forced.name == "alexnet_small"
    assert forced.get_layer("conv1").strides == (1, 1)
    keras.backend.clear_session()
