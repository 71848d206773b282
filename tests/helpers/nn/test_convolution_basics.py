"""helpers.nn.convolution_basics: im2col and the naive loops against TensorFlow, filters against
scipy, pooling on the slide's example and against Keras, top-k, parameter counts, errors."""

from __future__ import annotations

import itertools

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from scipy import signal

from helpers.arithmetic.conv_arithmetic import top_k_accuracy
from helpers.nn import convolution_basics as cb


def _tf_conv(x: np.ndarray, w: np.ndarray, stride: int, padding) -> np.ndarray:
    pad = padding.upper() if isinstance(padding, str) else [[0, 0], [padding] * 2,
                                                            [padding] * 2, [0, 0]]
    return tf.nn.conv2d(x, w, stride, pad).numpy()


# ---------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stride, padding, c_in, c_out",
                         list(itertools.product([1, 2, 3], ["valid", "same", 1], [1, 3], [1, 4])))
def test_im2col_convolution_equals_tf_nn_conv2d(stride, padding, c_in, c_out):
    rng = np.random.default_rng(stride * 100 + c_in * 10 + c_out)
    x = rng.normal(size=(2, 11, 9, c_in)).astype("float32")
    w = rng.normal(size=(3, 4, c_in, c_out)).astype("float32")
    ours = cb.conv2d_im2col(x, w, stride=stride, padding=padding)
    theirs = _tf_conv(x, w, stride, padding)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("stride, padding", [(1, "valid"), (2, "same"), (3, 2)])
def test_naive_loops_equal_im2col_with_bias(stride, padding):
    rng = np.random.default_rng(stride)
    x, w, b = rng.normal(size=(2, 8, 7, 2)), rng.normal(size=(3, 3, 2, 3)), rng.normal(size=3)
    np.testing.assert_allclose(cb.conv2d_naive(x, w, b, stride, padding),
                               cb.conv2d_im2col(x, w, b, stride, padding), atol=1e-12)


def test_im2col_rows_are_the_receptive_fields():
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    cols, size = cb.im2col(x, 3, 3)
    assert size == (2, 2) and cols.shape == (4, 9)
    np.testing.assert_array_equal(cols[0], [0, 1, 2, 4, 5, 6, 8, 9, 10])
    np.testing.assert_array_equal(cols[3], [5, 6, 7, 9, 10, 11, 13, 14, 15])


def test_conv_layer_equals_keras_conv2d_with_its_own_weights():
    layer = keras.layers.Conv2D(5, 3, strides=2, padding="same")
    x = np.random.default_rng(0).normal(size=(2, 10, 10, 3)).astype("float32")
    theirs = keras.ops.convert_to_numpy(layer(x))
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(cb.conv2d_im2col(x, kernel, bias, 2, "same"), theirs, atol=1e-5)


def test_filter_image_is_scipy_correlate2d_and_flipping_gives_convolve2d():
    img = np.random.default_rng(1).random((12, 10))
    for k in cb.classic_kernels().values():
        np.testing.assert_allclose(cb.filter_image(img, k), signal.correlate2d(img, k, "same"))
        np.testing.assert_allclose(cb.filter_image(img, k, "valid"),
                                   signal.correlate2d(img, k, "valid"))
    sobel = cb.classic_kernels()["sobel x"]
    np.testing.assert_allclose(cb.filter_image(img, sobel[::-1, ::-1]),
                               signal.convolve2d(img, sobel, "same"))
    assert not np.allclose(signal.convolve2d(img, sobel, "same"),
                           signal.correlate2d(img, sobel, "same"))


def test_filter_image_filters_each_colour_channel_on_its_own():
    rgb = np.random.default_rng(2).random((6, 7, 3))
    blur = cb.classic_kernels()["box blur"]
    out = cb.filter_image(rgb, blur)
    assert out.shape == rgb.shape
    np.testing.assert_allclose(out[..., 1], cb.filter_image(rgb[..., 1], blur))


def test_blur_kernels_sum_to_one_and_edge_kernels_to_zero():
    k = cb.classic_kernels()
    for name in ("identity", "sharpen", "box blur", "gaussian blur"):
        assert k[name].sum() == pytest.approx(1.0), name
    for name in ("edge", "laplacian (slide: sharpen)", "sobel x"):
        assert k[name].sum() == pytest.approx(0.0), name
    flat = np.full((5, 5), 7.0)
    assert cb.filter_image(flat, k["gaussian blur"], "valid") == pytest.approx(7.0)
    assert cb.filter_image(flat, k["laplacian (slide: sharpen)"], "valid") == pytest.approx(0.0)


# ---------------------------------------------------------------------------------------
# Pooling, layouts, top-k
# ---------------------------------------------------------------------------------------

SLIDE_POOL = np.array([[5, 3, 8, 9, 3], [1, 3, 2, 4, 0], [5, 0, 7, 5, 6],
                       [4, 6, 12, 2, 1], [1, 8, 5, 0, 3]], dtype=float)


def test_max_pool_3_stride_2_on_the_slide_example():
    np.testing.assert_array_equal(cb.pool2d(SLIDE_POOL, 3, 2, "max"), [[8, 9], [12, 12]])
    avg = cb.pool2d(SLIDE_POOL, 3, 2, "avg")
    assert avg[0, 0] == pytest.approx((5 + 3 + 8 + 1 + 3 + 2 + 5 + 0 + 7) / 9)


@pytest.mark.parametrize("kind, layer", [("max", keras.layers.MaxPooling2D),
                                         ("avg", keras.layers.AveragePooling2D)])
@pytest.mark.parametrize("size, stride", [(2, None), (3, 2)])
def test_pooling_equals_keras(kind, layer, size, stride):
    x = np.random.default_rng(3).normal(size=(2, 9, 8, 3)).astype("float32")
    theirs = keras.ops.convert_to_numpy(layer(size, strides=stride)(x))
    np.testing.assert_allclose(cb.pool2d(x, size, stride, kind), theirs, atol=1e-6)


def test_nhwc_nchw_round_trip_and_the_slide_tensor():
    nchw = np.arange(1, 37).reshape(2, 2, 3, 3)  # (sample, channel, height, width)
    nhwc = cb.nchw_to_nhwc(nchw)
    assert nhwc.shape == (2, 3, 3, 2)
    np.testing.assert_array_equal(nhwc[0, 0, 0], [1, 10])  # one pixel, both channels
    np.testing.assert_array_equal(cb.nhwc_to_nchw(nhwc), nchw)


def test_top_k_classes_and_accuracy_against_keras():
    rng = np.random.default_rng(4)
    scores, labels = rng.random((50, 8)).astype("float32"), rng.integers(0, 8, size=50)
    for k in (1, 3, 5):
        top = cb.top_k_classes(scores, k)
        ours = np.mean(np.any(top == labels[:, None], axis=1))
        metric = keras.metrics.SparseTopKCategoricalAccuracy(k=k)
        metric.update_state(labels, scores)
        assert ours == pytest.approx(float(metric.result()), abs=1e-6)
        assert ours == pytest.approx(top_k_accuracy(labels, scores, k))
    np.testing.assert_array_equal(cb.top_k_classes([[0.1, 0.5, 0.3, 0.1]], 3), [[1, 2, 0]])


# ---------------------------------------------------------------------------------------
# Parameter counts and shapes
# ---------------------------------------------------------------------------------------


def test_slide_mlp_has_453_076_992_weights():
    assert cb.mlp_weights([128 * 128 * 3, 16 * 16 * 36, 10]) == 453_076_992
    assert cb.mlp_weights([4, 3, 2], use_bias=True) == 4 * 3 + 3 + 3 * 2 + 2


def test_weight_sharing_counts_of_the_32x32x3_slide():
    counts = cb.mlp_vs_conv_parameters((32, 32, 3), 5, 30)
    assert counts == {"fully connected": 32 * 32 * 3 * 28 * 28 * 30,
                      "locally connected": 28 * 28 * 30 * 75, "convolution": 2250}
    with_bias = cb.mlp_vs_conv_parameters((32, 32, 3), 5, 30, use_bias=True)
    layer = keras.layers.Conv2D(30, 5)
    layer.build((None, 32, 32, 3))
    assert with_bias["convolution"] == layer.count_params() == 2280


def test_shape_table_formula_matches_keras():
    table = cb.conv_shape_table([(9, 3, 1, "valid"), (9, 3, 1, "same"), (7, 3, 2, "valid"),
                                 (28, 5, 2, "same")])
    assert table["formula"].tolist() == [7, 9, 3, 14]
    assert [s[0] for s in table["Keras output"]] == table["formula"].tolist()


def test_best_time_returns_positive_seconds():
    assert 0.0 <= cb.best_time(sum, [1, 2, 3], repeat=2) < 1.0


def test_plots_have_titles_and_labels():
    k = cb.classic_kernels()
    fig = cb.plot_kernels({"box blur": k["box blur"]})
    assert "sum 1" in fig.axes[0].get_title() and fig.axes[0].get_ylabel()
    fig2 = cb.plot_filtered({"noise": np.random.default_rng(5).random((8, 8))},
                            {"identity": k["identity"], "edge": k["edge"]})
    assert fig2.axes[0].get_title() == "identity" and fig2._suptitle.get_text()
    fig3 = cb.plot_images({"a": np.zeros((4, 4))}, title="t")
    assert fig3.axes[0].get_xlabel() == "column (pixel)"
    plt.close("all")


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (lambda: cb.im2col(np.zeros((5, 5)), 3, 3), ValueError, r"\(N, H, W, C\).*x\[None"),
        (lambda: cb.conv2d_im2col(np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 3, 4))), ValueError,
         r"C_in=3 .* C=2"),
        (lambda: cb.conv2d_naive(np.zeros((1, 5, 5, 1)), np.zeros((3, 3))), ValueError,
         r"\(kh, kw, C_in, C_out\).*f\[:, :, None, None\]"),
        (lambda: cb.conv2d_im2col(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 2)), b=[1.0]),
         ValueError, r"b must have shape \(2,\)"),
        (lambda: cb.conv2d_im2col(np.zeros((1, 2, 2, 1)), np.zeros((3, 3, 1, 1))), ValueError,
         r"larger than the padded input"),
        (lambda: cb.im2col(np.zeros((1, 5, 5, 1)), 3, 3, padding="full"), ValueError,
         r"unknown padding 'full'"),
        (lambda: cb.im2col(np.zeros((1, 5, 5, 1)), 3, 3, stride=0), ValueError,
         r"stride must be positive"),
        (lambda: cb.im2col(np.array([[[["a"]]]]), 1, 1), TypeError, r"real numbers"),
        (lambda: cb.filter_image(np.zeros((5,)), np.ones((3, 3))), ValueError, r"\(H, W\)"),
        (lambda: cb.filter_image(np.zeros((5, 5)), np.ones(3)), ValueError, r"2-D"),
        (lambda: cb.filter_image(np.zeros((5, 5)), np.ones((3, 3)), "full"), ValueError,
         r"'same' or 'valid'"),
        (lambda: cb.pool2d(np.zeros((4, 4)), kind="min"), ValueError, r"'max' or 'avg'"),
        (lambda: cb.top_k_classes(np.zeros((2, 3)), 4), ValueError, r"k <= C"),
        (lambda: cb.mlp_weights([10]), ValueError, r"at least an input and an output"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
