"""Receptive fields: the recurrence, its Keras measurement, models, stacked 3x3 weights."""

from __future__ import annotations

import keras
import pytest

from helpers.architectures.classic import build_lenet5
from helpers.arithmetic.receptive_field import (
    measured_receptive_field,
    model_receptive_fields,
    receptive_field,
    receptive_field_growth,
    stacked_conv_weights,
)


def test_stacked_3x3_convolutions_see_as_far_as_one_5x5_and_one_7x7():
    assert receptive_field([3, 3]) == receptive_field([5]) == 5
    assert receptive_field([3, 3, 3]) == receptive_field([7]) == 7
    assert [receptive_field([3] * n) for n in range(1, 6)] == [3, 5, 7, 9, 11]


def test_growth_multiplies_the_jump_by_each_stride():
    # AlexNet CONV1 11x11/4 then POOL1 3x3/2: 11, then 11 + 2 * 4 = 19.
    assert receptive_field_growth([11, 3], [4, 2]) == [(11, 4), (19, 8)]
    assert receptive_field([3, 3], dilations=[1, 2]) == 7


@pytest.mark.parametrize(
    ("kernels", "strides", "dilations"),
    [([3, 3], None, None), ([3, 3, 3], None, None), ([7], None, None),
     ([11, 3], [4, 2], None), ([5, 2, 5, 2], [1, 2, 1, 2], None), ([3, 3], [1, 1], [1, 2])],
)
def test_keras_gradient_measurement_agrees_with_the_formula(kernels, strides, dilations):
    assert measured_receptive_field(kernels, strides, dilations) == receptive_field(
        kernels, strides, dilations
    )


def test_bad_chains_are_rejected_with_a_reason():
    with pytest.raises(ValueError, match="one per layer"):
        receptive_field([3, 3], strides=[1])
    with pytest.raises(ValueError, match="non-empty"):
        receptive_field([])
    with pytest.raises(ValueError, match="positive"):
        receptive_field([3], strides=[0])


def test_lenet_c5_sees_the_whole_32_pixel_input_and_the_head_is_skipped():
    df = model_receptive_fields(build_lenet5())
    assert list(df["name"]) == ["c1", "s2", "c3", "s4", "c5"]
    assert list(df["receptive_field"]) == [5, 6, 14, 16, 32]
    assert list(df["jump"]) == [1, 2, 2, 4, 4]


def test_model_receptive_fields_reads_dilation_and_skips_activations():
    model = keras.Sequential([
        keras.Input((32, 32, 1)),
        keras.layers.Conv2D(2, 3, name="a"),
        keras.layers.ReLU(name="relu"),
        keras.layers.Conv2D(2, 3, dilation_rate=2, name="b"),
        keras.layers.MaxPooling2D(2, name="p"),
    ])
    df = model_receptive_fields(model)
    assert list(df["name"]) == ["a", "b", "p"]
    assert list(df["receptive_field"]) == [3, 7, 8]


def test_three_3x3_layers_have_27_c2_weights_against_49_c2_for_one_7x7():
    for c in (1, 3, 64, 512):
        assert stacked_conv_weights(3, 3, c) == 27 * c * c
        assert stacked_conv_weights(1, 7, c) == 49 * c * c
    layer = keras.layers.Conv2D(8, 3, use_bias=False)
    layer.build((None, 10, 10, 8))
    assert stacked_conv_weights(1, 3, 8) == layer.count_params()
