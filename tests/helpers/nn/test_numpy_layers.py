"""Dropout and batch normalisation in numpy: forward statistics, running averages, test mode,
numeric gradient checks of both backward passes, agreement with Keras' layers, normalisation
variants and BN folding."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.nn import numpy_layers as nl
from helpers.nn.bn_folding import conv_bn_model, fold_conv_bn, max_abs_difference
from helpers.nn.gradient_check import numeric_gradient, rel_error


def _rng(seed=0):
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------- dropout
def test_inverted_dropout_keeps_units_with_probability_p_and_scales_them_by_1_over_p():
    x = _rng().normal(size=(500, 400))
    out, cache = nl.dropout_forward(x, {"p": 0.3, "mode": "train", "seed": 1})
    kept = out != 0
    assert abs(kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(out[kept], x[kept] / 0.3)
    assert abs(out.mean() - x.mean()) < 0.05  # expectation preserved
    dx = nl.dropout_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(dx, kept / 0.3)


def test_dropout_test_mode_is_the_identity_forward_and_backward():
    x = _rng().normal(size=(4, 5))
    out, cache = nl.dropout_forward(x, {"p": 0.5, "mode": "test"})
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(nl.dropout_backward(2 * x, cache), 2 * x)


def test_dropout_draws_a_new_mask_per_call_unless_seeded():
    x = np.ones((50, 50))
    a, _ = nl.dropout_forward(x, {"p": 0.5, "mode": "train"})
    b, _ = nl.dropout_forward(x, {"p": 0.5, "mode": "train"})
    assert not np.array_equal(a, b)
    c, _ = nl.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 3})
    d, _ = nl.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 3})
    np.testing.assert_array_equal(c, d)


def test_dropout_gradient_matches_numeric_gradient_for_a_fixed_mask():
    x = _rng(1).normal(size=(6, 7))
    param = {"p": 0.6, "mode": "train", "seed": 5}
    dout = _rng(2).normal(size=x.shape)
    _, cache = nl.dropout_forward(x, param)
    numeric = numeric_gradient(lambda z: nl.dropout_forward(z, param)[0], x, dout)
    # dropped units have gradient exactly 0 (numerically about 1e-13): compare absolutely
    np.testing.assert_allclose(nl.dropout_backward(dout, cache), numeric, rtol=1e-9, atol=1e-10)


def test_dropout_matches_keras_dropout_statistics_with_rate_1_minus_p():
    x = np.ones((400, 250), dtype="float32")
    keras.utils.set_random_seed(0)
    k = keras.ops.convert_to_numpy(keras.layers.Dropout(0.25)(x, training=True))
    ours, _ = nl.dropout_forward(x, {"p": 0.75, "mode": "train", "seed": 0})
    for values in (k, ours):
        np.testing.assert_allclose(np.unique(values), [0.0, 4 / 3], rtol=1e-6)
    assert abs((k == 0).mean() - (ours == 0).mean()) < 0.01


@pytest.mark.parametrize("param", [{"p": 0, "mode": "train"}, {"p": 1.5, "mode": "train"},
                                   {"p": 0.5, "mode": "eval"}, {"mode": "train"}])
def test_dropout_rejects_bad_parameters_with_a_clear_message(param):
    with pytest.raises(ValueError, match="p is the keep probability|mode must be"):
        nl.dropout_forward(np.ones(3), param)


# ------------------------------------------------------------------ batch normalisation
def test_batchnorm_train_output_has_mean_beta_and_std_gamma_per_feature():
    x = _rng().normal(5, 3, size=(200, 4))
    gamma, beta = np.array([1.0, 2.0, 0.5, 3.0]), np.array([0.0, -1.0, 4.0, 0.5])
    out, _ = nl.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-5)


def test_batchnorm_updates_running_statistics_with_momentum_and_uses_them_at_test_time():
    rng = _rng(3)
    bn = {"mode": "train", "momentum": 0.9}
    gamma, beta = np.ones(3), np.zeros(3)
    batches = [rng.normal(2, 4, size=(64, 3)) for _ in range(3)]
    mean, var = np.zeros(3), np.ones(3)
    for batch in batches:
        nl.batchnorm_forward(batch, gamma, beta, bn)
        mean = 0.9 * mean + 0.1 * batch.mean(axis=0)
        var = 0.9 * var + 0.1 * batch.var(axis=0)
    np.testing.assert_allclose(bn["running_mean"], mean)
    np.testing.assert_allclose(bn["running_var"], var)
    bn["mode"] = "test"
    one = rng.normal(size=(1, 3))
    out, _ = nl.batchnorm_forward(one, gamma, beta, bn)
    np.testing.assert_allclose(out, (one - mean) / np.sqrt(var + 1e-5))
    before = dict(bn)
    nl.batchnorm_forward(rng.normal(size=(5, 3)), gamma, beta, bn)
    np.testing.assert_array_equal(bn["running_mean"], before["running_mean"])


@pytest.mark.parametrize("backward", [nl.batchnorm_backward, nl.batchnorm_backward_alt])
def test_batchnorm_backward_passes_a_numeric_gradient_check(backward):
    rng = _rng(4)
    x, dout = rng.normal(3, 2, size=(8, 5)), rng.normal(size=(8, 5))
    gamma, beta = rng.normal(size=5), rng.normal(size=5)

    def forward(x_=x, g=gamma, b=beta):
        return nl.batchnorm_forward(x_, g, b, {"mode": "train"})[0]

    _, cache = nl.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = backward(dout, cache)
    assert rel_error(dx, numeric_gradient(lambda z: forward(x_=z), x, dout)) < 1e-8
    assert rel_error(dgamma, numeric_gradient(lambda g: forward(g=g), gamma, dout)) < 1e-8
    assert rel_error(dbeta, numeric_gradient(lambda b: forward(b=b), beta, dout)) < 1e-8


def test_staged_and_closed_form_backward_agree_to_rounding():
    rng = _rng(5)
    x, dout = rng.normal(size=(32, 10)), rng.normal(size=(32, 10))
    _, cache = nl.batchnorm_forward(x, np.ones(10), np.zeros(10), {"mode": "train"})
    for a, b in zip(nl.batchnorm_backward(dout, cache), nl.batchnorm_backward_alt(dout, cache),
                    strict=True):
        assert rel_error(a, b) < 1e-10


def test_batchnorm_test_mode_backward_is_the_per_feature_affine_map():
    rng = _rng(6)
    bn = {"mode": "test", "running_mean": rng.normal(size=4), "running_var": rng.random(4) + 0.5}
    x, dout, gamma = rng.normal(size=(6, 4)), rng.normal(size=(6, 4)), rng.normal(size=4)
    _, cache = nl.batchnorm_forward(x, gamma, np.zeros(4), bn)
    numeric = numeric_gradient(lambda z: nl.batchnorm_forward(z, gamma, np.zeros(4), bn)[0],
                               x, dout)
    assert rel_error(nl.batchnorm_backward(dout, cache)[0], numeric) < 1e-8


def test_batchnorm_matches_keras_in_training_and_inference():
    rng = _rng(7)
    x = rng.normal(1, 2, size=(64, 6)).astype("float32")
    layer = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
    layer.build(x.shape)
    gamma, beta = rng.normal(size=6).astype("float32"), rng.normal(size=6).astype("float32")
    layer.set_weights([gamma, beta, np.zeros(6), np.ones(6)])
    bn = {"mode": "train", "momentum": 0.9, "eps": 1e-5}
    ours, _ = nl.batchnorm_forward(x, gamma, beta, bn)
    theirs = keras.ops.convert_to_numpy(layer(x, training=True))
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    np.testing.assert_allclose(bn["running_mean"], layer.moving_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(bn["running_var"], layer.moving_variance.numpy(), rtol=1e-5)
    bn["mode"] = "test"
    ours, _ = nl.batchnorm_forward(x[:3], gamma, beta, bn)
    np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(layer(x[:3], training=False)),
                               atol=1e-5)


def test_spatial_batchnorm_normalises_each_channel_like_keras_on_nhwc():
    rng = _rng(8)
    x = rng.normal(3, 2, size=(4, 5, 6, 3)).astype("float32")
    out, cache = nl.spatial_batchnorm_forward(x, np.ones(3, "float32"), np.zeros(3, "float32"),
                                              {"mode": "train", "eps": 1e-3})
    keras_out = keras.layers.BatchNormalization()(x, training=True)
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(keras_out), atol=1e-5)
    dx, dgamma, _ = nl.spatial_batchnorm_backward(np.ones_like(x), cache)
    assert dx.shape == x.shape and dgamma.shape == (3,)
    np.testing.assert_allclose(dx, 0, atol=1e-5)  # a constant upstream gradient is normalised away


def test_batchnorm_rejects_a_conv_tensor_and_bad_mode_with_advice():
    with pytest.raises(ValueError, match="spatial_batchnorm_forward"):
        nl.batchnorm_forward(np.ones((2, 3, 3, 4)), np.ones(4), np.zeros(4), {"mode": "train"})
    with pytest.raises(ValueError, match="mode must be"):
        nl.batchnorm_forward(np.ones((2, 4)), np.ones(4), np.zeros(4), {"mode": "training"})


# ------------------------------------------------------------------ variants and folding
@pytest.mark.parametrize("kind,keras_layer", [
    ("layer", lambda: keras.layers.LayerNormalization(axis=[1, 2, 3], epsilon=1e-5,
                                                      center=False, scale=False)),
    ("instance", lambda: keras.layers.GroupNormalization(groups=8, epsilon=1e-5,
                                                         center=False, scale=False)),
    ("group", lambda: keras.layers.GroupNormalization(groups=2, epsilon=1e-5,
                                                      center=False, scale=False)),
])
def test_normalisation_variants_match_keras_layers(kind, keras_layer):
    x = _rng(9).normal(2, 3, size=(3, 4, 5, 8)).astype("float32")
    ours = nl.normalise(x, kind, groups=2)
    np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(keras_layer()(x)), atol=1e-4)


def test_normalisation_variants_zero_the_mean_over_their_own_axes_only():
    x = _rng(10).normal(2, 3, size=(6, 4, 4, 8))
    for kind, axes in nl.NORM_AXES.items():
        out = nl.normalise(x, kind)
        np.testing.assert_allclose(out.mean(axis=axes), 0, atol=1e-10)
    assert not np.allclose(nl.normalise(x, "layer").mean(axis=(0, 1, 2)), 0, atol=1e-3)
    with pytest.raises(ValueError, match="dividing C=8"):
        nl.normalise(x, "group", groups=3)


def test_folding_batchnorm_into_the_convolution_keeps_inference_outputs():
    model = conv_bn_model((10, 10, 3), filters=4)
    rng = _rng(11)
    model.get_layer("bn").set_weights([rng.random(4) + 0.5, rng.normal(size=4),
                                       rng.normal(size=4), rng.random(4) + 0.1])
    folded = fold_conv_bn(model)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    x = rng.normal(size=(5, 10, 10, 3)).astype("float32")
    assert max_abs_difference(model, folded, x) < 1e-5
    assert folded.count_params() == 3 * 3 * 3 * 4 + 4


def test_fold_batchnorm_checks_the_statistics_match_the_kernel():
    with pytest.raises(ValueError, match="output channels"):
        nl.fold_batchnorm(np.ones((3, 3, 2, 4)), None, np.ones(3), np.zeros(4), np.zeros(4),
                          np.ones(4))


@pytest.mark.parametrize("kind,groups", [("batch", 1), ("layer", 1), ("instance", 1), ("group", 3)])
def test_norm_group_picture_agrees_with_the_axes_normalise_averages_over(kind, groups):
    from helpers.nn.normalisation_groups import norm_group_ids

    x = _rng(12).normal(size=(4, 3, 3, 6))
    out = nl.normalise(x, kind, groups=groups)
    ids = norm_group_ids(kind, 4, 6, groups)
    for group in np.unique(ids):
        examples, channels = np.nonzero(ids == group)
        members = out[examples, :, :, channels]
        assert abs(members.mean()) < 1e-10 and abs(members.std() - 1) < 1e-3
