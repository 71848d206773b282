"""Convolution arithmetic: the lecture's numbers, agreement with real Keras layers, clear errors."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest

from helpers.arithmetic import conv_arithmetic as ca

# ---------------------------------------------------------------------------------------
# The seed numbers from the lectures
# ---------------------------------------------------------------------------------------


def test_seven_by_seven_with_three_by_three_kernel_at_strides_one_and_two():
    assert ca.conv_output_size(7, 3, stride=1) == 5
    assert ca.conv_output_size(7, 3, stride=2) == 3
    assert ca.conv_output_size(7, 3, stride=2, exact=True) == 3


def test_stride_three_does_not_fit_seven_by_seven_when_exact():
    assert ca.conv_output_size(7, 3, stride=3) == 2  # floor, the last column is dropped
    with pytest.raises(ValueError, match=r"stride 3.*2\.33333"):
        ca.conv_output_size(7, 3, stride=3, exact=True)


def test_alexnet_conv1_on_227_gives_55_and_34944_params():
    assert ca.conv_output_size(227, 11, stride=4, exact=True) == 55
    assert ca.conv_output_shape((227, 227, 3), 96, 11, strides=4) == (55, 55, 96)
    assert ca.conv2d_params(11, 3, 96) == 34_944


def test_alexnet_224_typo_is_caught_by_exact():
    assert ca.conv_output_size(224, 11, stride=4) == 54
    with pytest.raises(ValueError, match=r"224.*11.*4.*54\.25"):
        ca.conv_output_size(224, 11, stride=4, exact=True)


def test_alexnet_pool1_takes_55_to_27():
    assert ca.pool_output_size(55, 3, stride=2, exact=True) == 27
    assert ca.pool_output_shape((55, 55, 96), 3, strides=2) == (27, 27, 96)


def test_same_padding_keeps_nine_by_nine():
    assert ca.conv_output_shape((9, 9, 1), 1, 3, padding="same") == (9, 9, 1)
    assert ca.conv_output_size(9, 3, padding=1) == 9


def test_valid_padding_shrinks_by_kernel_minus_one():
    first = ca.conv_output_size(9, 3)
    assert (first, ca.conv_output_size(first, 3)) == (7, 5)
    assert ca.conv_output_shape((32, 32, 3), 6, 5) == (28, 28, 6)


def test_cnn1_shapes_and_params():
    conv = ca.conv_output_shape((28, 28, 1), 32, 3)
    pool = ca.pool_output_shape(conv, 2)
    assert (conv, pool) == ((26, 26, 32), (13, 13, 32))
    assert ca.activation_values(pool) == 5408
    assert ca.conv2d_params(3, 1, 32) == 320
    assert ca.dense_params(5408, 128) == 692_352
    assert ca.dense_params(128, 10) == 1_290
    assert ca.conv2d_macs(conv, 3, 1) == 26 * 26 * 32 * 9 == 194_688


# ---------------------------------------------------------------------------------------
# Output sizes agree with real Keras layers
# ---------------------------------------------------------------------------------------

SIZES, KERNELS, STRIDES, PADDINGS = (5, 7, 9, 12), (1, 2, 3, 5), (1, 2, 3), ("valid", "same")


def _keras_shape(layer, h, w):
    return tuple(layer(keras.Input((h, w, 2))).shape[1:])


def test_conv_output_shape_matches_keras_conv2d_on_a_grid():
    checked = 0
    for n, k, s, pad, d in itertools.product(SIZES, KERNELS, STRIDES, PADDINGS, (1, 2)):
        if s > 1 and d > 1:
            continue  # Keras refuses strides > 1 together with dilation > 1
        h, w = n, n + 3  # different sizes on the two axes
        make = lambda: keras.layers.Conv2D(3, k, strides=s, padding=pad, dilation_rate=d)  # noqa: E731,B023
        try:
            ours = ca.conv_output_shape((h, w, 2), 3, k, strides=s, padding=pad, dilation=d)
        except ValueError:
            with pytest.raises(ValueError):
                _keras_shape(make(), h, w)
            continue
        assert ours == _keras_shape(make(), h, w), (n, k, s, pad, d)
        checked += 1
    assert checked > 100


@pytest.mark.parametrize("pool_class", [keras.layers.MaxPooling2D, keras.layers.AveragePooling2D])
def test_pool_output_shape_matches_keras_pooling_on_a_grid(pool_class):
    checked = 0
    for n, p, s, pad in itertools.product(SIZES, (1, 2, 3), (None, 1, 2, 3), PADDINGS):
        h, w = n, n + 2
        try:
            ours = ca.pool_output_shape((h, w, 2), p, strides=s, padding=pad)
        except ValueError:
            continue
        theirs = _keras_shape(pool_class(p, strides=s, padding=pad), h, w)
        assert ours == theirs, (pool_class.__name__, n, p, s, pad)
        checked += 1
    assert checked > 80


@pytest.mark.parametrize("padding, kernel, stride", [(1, 3, 1), (2, 5, 2), ((1, 2), 3, 2)])
def test_integer_padding_matches_zero_padding_then_valid_conv(padding, kernel, stride):
    zero_pad = keras.layers.ZeroPadding2D(padding if isinstance(padding, int) else (padding,) * 2)
    x = zero_pad(keras.Input((11, 10, 1)))
    theirs = tuple(keras.layers.Conv2D(4, kernel, strides=stride)(x).shape[1:])
    assert ca.conv_output_shape((11, 10, 1), 4, kernel, strides=stride, padding=padding) == theirs


def test_per_axis_padding_pairs_pad_rows_and_columns_separately():
    zero_pad = keras.layers.ZeroPadding2D(((0, 1), (2, 3)))
    theirs = tuple(keras.layers.Conv2D(4, 3)(zero_pad(keras.Input((8, 8, 1)))).shape[1:])
    assert ca.conv_output_shape((8, 8, 1), 4, 3, padding=((0, 1), (2, 3))) == theirs == (7, 11, 4)


def test_same_padding_shape_holds_when_the_layer_actually_runs():
    x = np.zeros((1, 13, 10, 2), dtype="float32")
    for layer, ours in [
        (keras.layers.Conv2D(3, 4, strides=3, padding="same"), (5, 4, 3)),
        (keras.layers.Conv2D(3, 3, dilation_rate=2), (9, 6, 3)),
        (keras.layers.MaxPooling2D(3, strides=2, padding="same"), (7, 5, 2)),
    ]:
        assert tuple(layer(x).shape[1:]) == ours


def test_pool_stride_defaults_to_pool_size():
    assert ca.pool_output_size(26, 2) == ca.pool_output_size(26, 2, stride=2) == 13
    assert ca.pool_output_shape((9, 8, 4), (3, 2)) == (3, 4, 4)


def test_dilation_widens_the_effective_kernel():
    # 3x3 with dilation 2 covers 5x5: 9 -> 5, like a plain 5x5 kernel.
    assert ca.conv_output_size(9, 3, dilation=2) == ca.conv_output_size(9, 5) == 5


def test_same_padding_ignores_the_kernel_size():
    assert [ca.conv_output_size(10, k, stride=3, padding="same") for k in (1, 3, 7, 15)] == [4] * 4


def test_numpy_integers_are_accepted():
    assert ca.conv_output_size(np.int64(7), np.int32(3), stride=np.uint8(2)) == 3
    assert ca.conv2d_params(np.int64(3), 1, 32) == 320
    assert ca.conv_output_shape((np.int64(28), 28, 1), 32, (3, 3)) == (26, 26, 32)


# ---------------------------------------------------------------------------------------
# Errors name the numbers and the fix
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(input_size=0, kernel_size=3), r"input_size must be positive, got 0"),
        (dict(input_size=7, kernel_size=-1), r"kernel_size must be positive, got -1"),
        (dict(input_size=7, kernel_size=3, stride=0), r"stride must be positive, got 0"),
        (dict(input_size=7, kernel_size=3, dilation=0), r"dilation must be positive, got 0"),
        (dict(input_size=7, kernel_size=3, padding=-1), r"padding must be >= 0, got -1"),
        (dict(input_size=7, kernel_size=3, padding=(1, -2)), r"padding\[1\] must be >= 0, got -2"),
        (dict(input_size=7, kernel_size=3, padding="full"), r"unknown padding 'full'.*'same'"),
        (dict(input_size=7, kernel_size=3, padding=(1, 2, 3)), r"\(before, after\).*\(1, 2, 3\)"),
        (dict(input_size=5, kernel_size=7), r"kernel 7 \(effective 7.*padded input 5.*'same'"),
        (
            dict(input_size=7, kernel_size=3, dilation=4),
            r"kernel 3 \(effective 9 with dilation 4\).*padded input 7",
        ),
        (
            dict(input_size=5, kernel_size=9, padding=1),
            r"padded input 7 \(input 5 \+ padding 2\)",
        ),
    ],
)
def test_bad_conv_arguments_raise_value_error_with_the_numbers(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        ca.conv_output_size(**kwargs)


@pytest.mark.parametrize("bad", [7.0, True, "7", None, np.float32(7)])
def test_non_integer_sizes_raise_type_error(bad):
    with pytest.raises(TypeError, match=r"input_size must be an integer, got"):
        ca.conv_output_size(bad, 3)


def test_pool_errors_name_the_numbers():
    with pytest.raises(ValueError, match=r"kernel 4 .*padded input 3"):
        ca.pool_output_size(3, 4)
    with pytest.raises(ValueError, match=r"stride 2.*input 6.*kernel 3.*2\.5"):
        ca.pool_output_size(6, 3, stride=2, exact=True)


def test_bad_shapes_and_kernel_pairs_raise():
    with pytest.raises(ValueError, match=r"\(H, W, C\).*\(28, 28\)"):
        ca.conv_output_shape((28, 28), 32, 3)
    with pytest.raises(ValueError, match=r"pair.*\(3, 3, 3\)"):
        ca.conv2d_params((3, 3, 3), 1, 32)
    with pytest.raises(ValueError, match=r"filters must be positive, got 0"):
        ca.conv_output_shape((28, 28, 1), 0, 3)
    with pytest.raises(ValueError, match=r"output_shape must be \(H, W, C_out\).*\(26, 26\)"):
        ca.conv2d_macs((26, 26), 3, 1)
    with pytest.raises(TypeError, match=r"in_channels must be an integer, got 1\.5"):
        ca.conv2d_params(3, 1.5, 32)
    with pytest.raises(ValueError, match=r"\(None, None, 3\) has an unknown \(None\)"):
        ca.activation_values((None, None, 3))


# ---------------------------------------------------------------------------------------
# Parameter counts equal real Keras layers' count_params()
# ---------------------------------------------------------------------------------------


def _count(layer, input_shape):
    layer.build((None, *input_shape))
    return layer.count_params()


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("kernel", [3, (1, 5)])
def test_conv_param_counts_match_keras(use_bias, kernel):
    shape = (8, 8, 3)
    assert ca.conv2d_params(kernel, 3, 16, use_bias) == _count(
        keras.layers.Conv2D(16, kernel, use_bias=use_bias), shape
    )
    for mult in (1, 2):
        assert ca.depthwise_conv2d_params(kernel, 3, mult, use_bias) == _count(
            keras.layers.DepthwiseConv2D(kernel, depth_multiplier=mult, use_bias=use_bias), shape
        )
        assert ca.separable_conv2d_params(kernel, 3, 16, mult, use_bias) == _count(
            keras.layers.SeparableConv2D(16, kernel, depth_multiplier=mult, use_bias=use_bias),
            shape,
        )


@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_param_count_matches_keras(use_bias):
    layer = keras.layers.Dense(7, use_bias=use_bias)
    assert ca.dense_params(20, 7, use_bias) == _count(layer, (20,))


@pytest.mark.parametrize("center, scale", list(itertools.product([True, False], repeat=2)))
def test_batchnorm_param_count_matches_keras_with_moving_statistics(center, scale):
    layer = keras.layers.BatchNormalization(center=center, scale=scale)
    assert ca.batchnorm_params(12, center, scale) == _count(layer, (4, 4, 12))
    non_trainable = sum(int(np.prod(w.shape)) for w in layer.non_trainable_weights)
    assert non_trainable == 2 * 12  # moving mean and variance


# ---------------------------------------------------------------------------------------
# Multiply-adds and memory
# ---------------------------------------------------------------------------------------


def test_separable_macs_are_depthwise_plus_pointwise_and_cheaper_than_conv():
    out = (10, 10, 64)
    depthwise = ca.depthwise_conv2d_macs((10, 10, 32), 3)
    assert depthwise == 10 * 10 * 32 * 9
    assert ca.separable_conv2d_macs(out, 3, 32) == depthwise + 10 * 10 * 32 * 64
    assert ca.separable_conv2d_macs(out, 3, 32) < ca.conv2d_macs(out, 3, 32) / 7


def test_macs_of_rectangular_kernels_and_dense():
    assert ca.conv2d_macs((4, 5, 6), (1, 3), 2) == 4 * 5 * 6 * 3 * 2
    assert ca.separable_conv2d_macs((4, 4, 8), 3, 2, depth_multiplier=3) == 16 * 6 * 9 + 16 * 6 * 8
    assert ca.dense_macs(5408, 128) == 692_224


def test_activation_memory_ignores_a_leading_batch_none():
    assert ca.activation_values((None, 26, 26, 32)) == ca.activation_values((26, 26, 32)) == 21_632
    assert ca.activation_memory_bytes((26, 26, 32)) == 86_528
    assert ca.activation_memory_bytes((None, 10), batch_size=32, bytes_per_value=2) == 640


# ---------------------------------------------------------------------------------------
# Top-k accuracy
# ---------------------------------------------------------------------------------------


def test_top_k_on_the_alpaca_example():
    scores = [[0.1, 0.5, 0.3, 0.1]]  # the true class 'alpaca' is index 2
    assert ca.top_k_accuracy(np.array([2]), scores, k=1) == 0.0
    assert ca.top_k_accuracy(np.array([2]), scores, k=2) == 1.0
    assert ca.top_k_accuracy(np.array([[0, 0, 1, 0]]), scores, k=2) == 1.0


@pytest.mark.parametrize("k", [1, 3, 5])
def test_top_k_matches_keras_metrics_on_random_scores(k):
    rng = np.random.default_rng(k)
    scores = rng.random((200, 10)).astype("float32")
    labels = rng.integers(0, 10, size=200)
    onehot = np.eye(10, dtype="float32")[labels]
    dense = keras.metrics.TopKCategoricalAccuracy(k=k)
    dense.update_state(onehot, scores)
    sparse = keras.metrics.SparseTopKCategoricalAccuracy(k=k)
    sparse.update_state(labels, scores)
    ours = ca.top_k_accuracy(labels, scores, k)
    assert ours == ca.top_k_accuracy(onehot, scores, k)
    assert ours == pytest.approx(float(dense.result()), abs=1e-6)
    assert ours == pytest.approx(float(sparse.result()), abs=1e-6)


def test_top_k_ties_go_to_the_lower_class_index():
    scores = [[0.1, 0.5, 0.3, 0.1]]  # classes 0 and 3 tie for third place
    assert ca.top_k_accuracy(np.array([0]), scores, k=3) == 1.0
    assert ca.top_k_accuracy(np.array([3]), scores, k=3) == 0.0  # Keras would count it


@pytest.mark.parametrize(
    "y_true, scores, k, error, pattern",
    [
        ([1, 2], [0.1, 0.9], 1, ValueError, r"\(N, C\).*\(2,\)"),
        ([1], [[0.1, 0.9]], 3, ValueError, r"k=3 .*C=2"),
        ([1, 0], [[0.1, 0.9]], 1, ValueError, r"2 labels but scores has 1 rows"),
        ([[0, 1, 0]], [[0.1, 0.9]], 1, ValueError, r"\(1, 3\) differs from scores shape \(1, 2\)"),
        ([2], [[0.1, 0.9]], 1, ValueError, r"\[0, 1\].*max 2"),
        ([1.0], [[0.1, 0.9]], 1, TypeError, r"integer labels expected, got dtype float64"),
        ([1], [["a", "b"]], 1, TypeError, r"numeric"),
        ([1], [[0.1, 0.9]], 0, ValueError, r"k must be positive, got 0"),
    ],
)
def test_top_k_rejects_bad_inputs_clearly(y_true, scores, k, error, pattern):
    with pytest.raises(error, match=pattern):
        ca.top_k_accuracy(np.array(y_true), scores, k)
