"""Lecture 07's five families: one skeleton (stem, pooling, head) and the family's block."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.architectures import fashion_zoo as zoo
from helpers.arithmetic.layer_table import layer_table, layer_table_totals


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_every_family_maps_28x28_images_to_10_probabilities_through_14_and_7(name):
    model = zoo.ZOO[name]()
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    assert model.get_layer("stem_pool").output.shape[1:] == (14, 14, 32)
    assert model.get_layer("block_pool").output.shape[1:3] == (7, 7)
    assert model.get_layer("fc").output.shape[1:] == (zoo.HEAD_UNITS,)
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype="float32")
    probabilities = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(("name", "layer_type", "channels"), [
    ("VGG", keras.layers.Conv2D, 64),
    ("GoogLeNet", keras.layers.Concatenate, 64),
    ("ResNet", keras.layers.Add, 32),
    ("DenseNet", keras.layers.Concatenate, 32 + 3 * 16),
    ("MobileNet", keras.layers.DepthwiseConv2D, 64),
])
def test_only_the_block_between_stem_and_head_is_the_familys(name, layer_type, channels):
    model = zoo.ZOO[name]()
    assert any(isinstance(layer, layer_type) for layer in model.layers)
    assert model.get_layer("block_pool").input.shape[1:] == (14, 14, channels)
    # the skeleton's layers are the same in every family
    skeleton = ["stem_conv", "stem_pool", "stem_bn", "block_pool", "block_bn", "flatten", "fc",
                "predictions"]
    assert all(model.get_layer(n) is not None for n in skeleton)


def test_the_vgg_member_is_the_fast_recipes_cnn():
    from helpers.training.fast import FAST, build_fast_cnn

    fast = build_fast_cnn(FAST.with_(filters=(32, 64), dense=256))
    vgg = zoo.build_fashion_vgg(augment=False)
    assert vgg.count_params() == fast.count_params() == 825_514
    assert layer_table_totals(layer_table(vgg))["macs"] == 4_643_840


def test_augmentation_changes_training_inputs_only_and_costs_no_weights():
    plain = zoo.build_fashion_vgg(augment=False)
    augmented = zoo.build_fashion_vgg(augment=True)
    assert plain.count_params() == augmented.count_params()
    x = np.zeros((2, 28, 28, 1), dtype="float32")
    x[:, 5:20, 3:10] = 1.0  # an asymmetric patch: a flip or a shift moves it
    front = keras.Model(augmented.input, augmented.get_layer("aug_shift").output)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(front(x, training=False)), x)
    keras.utils.set_random_seed(1)
    assert any(not np.array_equal(keras.ops.convert_to_numpy(front(x, training=True)), x)
               for _ in range(5))
