"""Tests of helpers.architectures.resnet: ResNet v1/v2, ResNeXt, CIFAR ResNet, stochastic depth."""


import keras
import numpy as np
import pytest

from helpers.architectures import resnet
from helpers.architectures.resnet import StochasticDepth


def _block_model(block, input_shape, *args, **kwargs) -> keras.Model:
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, block(inputs, *args, name="b", **kwargs))


def _layer_types(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize(
    ("depth", "application", "expected"),
    [
        (50, "ResNet50", 25_636_712),
        (101, "ResNet101", 44_707_176),
        (152, "ResNet152", 60_419_944),
    ],
)
def test_resnet_v1_parameter_count_equals_keras_applications(depth, application, expected):
    reference = getattr(keras.applications, application)(weights=None).count_params()
    keras.backend.clear_session()
    assert reference == expected
    assert resnet.build_resnet(depth).count_params() == expected
    keras.backend.clear_session()


def test_resnet50_v2_parameter_count_equals_keras_resnet50v2():
    reference = keras.applications.ResNet50V2(weights=None).count_params()
    assert reference == 25_613_800
    assert resnet.build_resnet_v2(50).count_params() == reference


@pytest.mark.parametrize(("depth", "expected"), [(18, 11_703_912), (34, 21_823_208)])
def test_resnet18_and_34_parameter_counts(depth, expected):
    # Keras conventions (conv biases, BN moving statistics counted); torchvision, without
    # conv biases and BN statistics, has 11,689,512 and 21,797,672.
    assert resnet.build_resnet(depth).count_params() == expected


def test_resnext50_32x4d_parameter_count():
    model = resnet.build_resnext(50, cardinality=32, bottleneck_width=4)
    assert model.count_params() == 25_097_128
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 25_028_904  # torchvision's resnext50_32x4d: BN statistics are buffers


def test_bottleneck_block_is_much_cheaper_than_basic_block_at_256_channels():
    bottleneck = _block_model(resnet.bottleneck_block, (14, 14, 256), 64).count_params()
    basic = _block_model(resnet.basic_block, (14, 14, 256), 256).count_params()
    bn = 4  # gamma, beta, moving mean, moving variance per channel
    assert bottleneck == (256 * 64 + 64) + (9 * 64 * 64 + 64) + (64 * 256 + 256) + bn * 384
    assert bottleneck == 71_552
    assert basic == 2 * (9 * 256 * 256 + 256) + bn * 512 == 1_182_208
    assert basic > 16 * bottleneck


@pytest.mark.parametrize(
    ("block", "filters", "channels"),
    [(resnet.basic_block, 8, 8), (resnet.bottleneck_block, 4, 16), (resnet.resnext_block, 4, 16)],
)
def test_v1_block_with_zeroed_residual_branch_returns_relu_of_input(block, filters, channels):
    model = _block_model(block, (6, 6, channels), filters)
    last_bn = model.get_layer("b_2_bn" if block is resnet.basic_block else "b_3_bn")
    gamma, beta, mean, variance = last_bn.get_weights()
    last_bn.set_weights([np.zeros_like(gamma), np.zeros_like(beta), mean, variance])
    x = np.random.default_rng(0).normal(size=(2, 6, 6, channels)).astype("float32")
    np.testing.assert_allclose(model(x, training=False), np.maximum(x, 0.0), atol=1e-6)


@pytest.mark.parametrize(
    ("block", "filters", "channels"),
    [(resnet.preact_basic_block, 8, 8), (resnet.preact_bottleneck_block, 4, 16)],
)
def test_v2_block_with_zeroed_last_conv_is_the_identity(block, filters, channels):
    model = _block_model(block, (6, 6, channels), filters)
    last_conv = model.get_layer("b_2_conv" if block is resnet.preact_basic_block else "b_3_conv")
    last_conv.set_weights([np.zeros_like(w) for w in last_conv.get_weights()])
    x = np.random.default_rng(1).normal(size=(2, 6, 6, channels)).astype("float32")
    np.testing.assert_allclose(model(x, training=False), x, atol=1e-6)  # negatives kept


@pytest.mark.parametrize(
    ("block", "filters", "expansion"),
    [
        (resnet.basic_block, 8, 1),
        (resnet.bottleneck_block, 4, 4),
        (resnet.preact_basic_block, 8, 1),
        (resnet.preact_bottleneck_block, 4, 4),
        (resnet.resnext_block, 4, 4),
    ],
)
def test_projection_shortcut_is_used_exactly_when_stride_or_channels_change(
    block, filters, expansion
):
    out = filters * expansion
    cases = [((8, 8, out), 1, False), ((8, 8, out), 2, True), ((8, 8, out + 3), 1, True)]
    for input_shape, stride, projects in cases:
        model = _block_model(block, input_shape, filters, stride=stride)
        names = [layer.name for layer in model.layers]
        assert ("b_0_conv" in names) is projects, (input_shape, stride)
        assert model.output.shape == (None, 8 // stride, 8 // stride, out)


def test_projection_false_gives_parameter_free_subsampled_zero_padded_shortcut():
    model = _block_model(resnet.basic_block, (8, 8, 16), 32, stride=2, projection=False)
    assert "b_0_conv" not in [layer.name for layer in model.layers]
    assert "ZeroPadChannels" in _layer_types(model)
    plain = _block_model(resnet.plain_block, (8, 8, 16), 32, stride=2)
    assert model.count_params() == plain.count_params()
    x = np.random.default_rng(2).normal(size=(1, 8, 8, 16)).astype("float32")
    shortcut = keras.Model(model.input, model.get_layer("b_0_pad").output)(x)
    np.testing.assert_array_equal(shortcut[..., :16], x[:, ::2, ::2, :])
    np.testing.assert_array_equal(shortcut[..., 16:], 0.0)


def test_resnext_grouped_conv_has_cardinality_times_fewer_weights_than_dense():
    model = _block_model(resnet.resnext_block, (8, 8, 256), 64, cardinality=32, bottleneck_width=4)
    grouped = model.get_layer("b_2_conv")
    assert grouped.groups == 32
    dense_weights = 3 * 3 * 128 * 128
    assert grouped.count_params() == dense_weights // 32 == 4_608  # no bias
    assert model.output.shape == (None, 8, 8, 256)


def test_stochastic_depth_at_inference_adds_the_branch_scaled_by_survival_probability():
    layer = StochasticDepth(0.7, seed=0)
    rng = np.random.default_rng(3)
    shortcut, branch = rng.normal(size=(2, 64, 4, 4, 8)).astype("float32")
    first = layer([shortcut, branch], training=False)
    np.testing.assert_allclose(first, shortcut + 0.7 * branch, rtol=1e-6)
    np.testing.assert_array_equal(layer([shortcut, branch], training=False), first)
    assert layer.count_params() == 0


def test_stochastic_depth_in_training_keeps_whole_branches_with_survival_frequency():
    shortcut, branch = np.zeros((4000, 2, 2, 3), "float32"), np.ones((4000, 2, 2, 3), "float32")
    kept = np.asarray(StochasticDepth(0.75, seed=42)([shortcut, branch], training=True))
    per_sample = kept.reshape(4000, -1)
    assert np.all((per_sample == per_sample[:, :1]) & np.isin(per_sample, (0.0, 1.0)))
    assert abs(per_sample[:, 0].mean() - 0.75) < 0.03  # binomial sd ~0.007
    again = np.asarray(StochasticDepth(0.75, seed=42)([shortcut, branch], training=True))
    np.testing.assert_array_equal(kept, again)  # seeded


def test_stochastic_depth_serialises_and_builders_decay_survival_linearly(tmp_path):
    layer = StochasticDepth(0.6, seed=5, name="sd")
    config = keras.saving.serialize_keras_object(layer)
    assert config["registered_name"] == "cnn_course>StochasticDepth"
    clone = keras.saving.deserialize_keras_object(config)
    assert (clone.survival_probability, clone.seed) == (0.6, 5)

    model = resnet.build_cifar_resnet(20, stochastic_depth=0.5, width=4)
    survival = [
        layer.survival_probability for layer in model.layers if isinstance(layer, StochasticDepth)
    ]
    np.testing.assert_allclose(survival, [1 - 0.5 * i / 9 for i in range(1, 10)])
    path = tmp_path / "sd.keras"
    model.save(path)
    x = np.random.default_rng(4).normal(size=(2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(keras.saving.load_model(path)(x), model(x), rtol=1e-5, atol=1e-6)
    assert "StochasticDepth" not in _layer_types(resnet.build_resnet(18, (32, 32, 3), 10))


@pytest.mark.parametrize("depth", [20, 56])
def test_cifar_resnet_and_plain_net_have_depth_weighted_layers(depth):
    residual = resnet.build_cifar_resnet(depth)
    plain = resnet.build_cifar_resnet(depth, residual=False)
    for model in (residual, plain):
        assert sum(t in ("Conv2D", "Dense") for t in _layer_types(model)) == depth
    assert "Add" not in _layer_types(plain)
    assert _layer_types(residual).count("Add") == 3 * (depth - 2) // 6
    assert residual.count_params() == plain.count_params()


@pytest.mark.parametrize(
    "build",
    [
        lambda: resnet.build_resnet(18, (28, 28, 1), 10, small_input=True, width=0.25),
        lambda: resnet.build_resnet(50, (28, 28, 1), 10, small_input=True, width=0.25),
        lambda: resnet.build_resnet_v2(50, (28, 28, 1), 10, small_input=True, width=0.25),
        lambda: resnet.build_resnext(50, input_shape=(28, 28, 1), num_classes=10,
                                     small_input=True, width=0.25),
        lambda: resnet.build_cifar_resnet(20, (28, 28, 1), 10),
    ],
    ids=["resnet18", "resnet50", "resnet50v2", "resnext50", "cifar20"],
)
def test_small_input_builds_give_softmax_over_ten_classes(build):
    model = build()
    x = np.random.default_rng(5).uniform(size=(3, 28, 28, 1)).astype("float32")
    probabilities = np.asarray(model(x, training=False))
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(probabilities >= 0)
