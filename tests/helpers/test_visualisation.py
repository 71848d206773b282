"""Activation maps, filter-maximising inputs, saliency and Grad-CAM (helpers/visualisation.py)."""

from __future__ import annotations

import dataclasses
import warnings

import keras
import numpy as np
import pytest
from keras import layers

from helpers.visualisation import (
    SWITCHES,
    FilterAscent,
    Regularisers,
    activation_model,
    grad_cam,
    saliency_maps,
    show_explanations,
    show_grid,
)

STEPS = 20
STRENGTHS = {"l2_decay": 0.05, "blur_every": 2, "jitter": 2, "clip_value_pct": 50.0,
            "clip_contrib_pct": 50.0}


@pytest.fixture(scope="module")
def cnn():
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(16, 3, activation="relu", name="conv2"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, name="logits"),
        layers.Activation("softmax", name="probabilities"),
    ], name="small_cnn")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).uniform(0, 1, (4, 28, 28, 1)).astype("float32")


@pytest.fixture(scope="module")
def ascents(cnn):
    """conv2 ascent results: no regulariser, all, and each switch alone (batched, seed 0)."""
    settings = {"none": Regularisers(), "all": Regularisers.all()}
    settings |= {k: dataclasses.replace(Regularisers(), **{k: v}) for k, v in STRENGTHS.items()}
    return {name: FilterAscent(cnn, "conv2", reg, steps=STEPS).batched(seed=0)
            for name, reg in settings.items()}


def test_activation_model_gives_each_named_layers_output_shape_without_warnings(cnn, images):
    expected = {"conv1": (4, 26, 26, 8), "pool1": (4, 13, 13, 8), "conv2": (4, 11, 11, 16),
                "pool2": (4, 5, 5, 16), "flatten": (4, 400), "logits": (4, 10)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, shape in expected.items():
            assert tuple(activation_model(cnn, name)(images).shape) == shape, name


def test_activation_model_equals_the_layers_applied_by_hand(cnn, images):
    by_hand = cnn.get_layer("pool1")(cnn.get_layer("conv1")(images))
    np.testing.assert_allclose(activation_model(cnn, "pool1")(images), by_hand, atol=1e-6)


def test_activation_model_rejects_an_unknown_layer(cnn):
    with pytest.raises(ValueError):
        activation_model(cnn, "no_such_layer")


def test_batched_ascent_increases_each_filters_mean_activation(ascents):
    for name in ("none", "all"):
        r = ascents[name]
        assert r.images.shape == (16, 28, 28, 1) and r.filters.tolist() == list(range(16))
        assert 0.0 <= r.images.min() and r.images.max() <= 1.0
        alive = r.start_activation > 0
        assert alive.sum() >= 8, "most filters of the random CNN respond to the noise"
        assert np.all(r.final_activation[alive] > 1.5 * r.start_activation[alive]), name


def test_batched_ascent_equals_the_per_filter_loop_and_traces_once(cnn):
    ascent = FilterAscent(cnn, "conv2", Regularisers.all(), steps=STEPS)
    batched = ascent.batched(filters=[0, 3, 5, 9], seed=7)
    looped = ascent.loop(filters=[0, 3, 5, 9], seed=7)
    np.testing.assert_allclose(batched.images, looped.images, atol=1e-5)
    np.testing.assert_allclose(batched.final_activation, looped.final_activation, rtol=1e-4)
    assert ascent._ascend.experimental_get_tracing_count() == 1, "batch 4 and batch 1 share it"


def test_only_keeps_the_named_switches():
    full = Regularisers.all()
    jitter_only = full.only("jitter")
    assert jitter_only.jitter == full.jitter and jitter_only.blur_sigma == full.blur_sigma
    assert all(getattr(jitter_only, k) == 0 for k in SWITCHES if k != "jitter")
    assert full.only(*SWITCHES) == full and full.only() == Regularisers(blur_sigma=full.blur_sigma)
    with pytest.raises(ValueError):
        full.only("blur")


def test_each_regulariser_switch_changes_the_result(ascents):
    assert set(STRENGTHS) == set(SWITCHES)
    for name in SWITCHES:
        assert np.abs(ascents[name].images - ascents["none"].images).max() > 1e-2, name


def test_regularisers_do_what_they_say(ascents):
    none = ascents["none"].images

    def total_variation(x):
        return np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=2)).mean()

    assert ascents["l2_decay"].images.mean() < none.mean()
    assert total_variation(ascents["blur_every"].images) < total_variation(none)
    zeros = (ascents["clip_value_pct"].images == 0).reshape(16, -1).mean(axis=1)
    assert np.all(zeros >= 0.5), "clipping at the 50th percentile zeroes half the pixels"


def test_same_seed_same_images_other_seed_other_images(cnn):
    ascent = FilterAscent(cnn, "conv1", Regularisers.all(), steps=5)
    a, b, c = ascent.batched(seed=3), ascent.batched(seed=3), ascent.batched(seed=4)
    assert np.array_equal(a.images, b.images) and not np.array_equal(a.images, c.images)


def test_saliency_is_the_absolute_gradient_of_the_class_score(cnn, images):
    keras.utils.set_random_seed(2)
    linear = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(),
                               layers.Dense(3, name="logits")])
    w = linear.get_layer("logits").get_weights()[0]                 # (784, 3)
    s = saliency_maps(linear, images[:3], [2, 0, 1], score_layer="logits")
    for n, c in enumerate([2, 0, 1]):
        np.testing.assert_allclose(s[n], np.abs(w[:, c]).reshape(28, 28), rtol=1e-5)
    s = saliency_maps(cnn, images, [0, 1, 2, 3], score_layer="logits")
    assert s.shape == (4, 28, 28) and s.min() >= 0 and s.max() > 0


def test_grad_cam_shape_and_range(cnn, images):
    cam = grad_cam(cnn, images, [0, 1, 2, 3], "conv2", score_layer="logits")
    assert cam.shape == (4, 28, 28)
    assert cam.min() >= 0.0 and cam.max() <= 1.0 + 1e-6
    assert all(np.isclose(m.max(), 1.0) or m.max() == 0 for m in cam)


def _toy_detector():
    """Channel 0 = relu(x) (bright), channel 1 = relu(1 - x) (dark); max pool 2; the score
    of class k is the global mean of channel k."""
    inputs = keras.Input((28, 28, 1))
    features = layers.Conv2D(2, 1, activation="relu", name="features")
    x = layers.MaxPooling2D(2, name="pool")(features(inputs))
    logits = layers.Dense(2, use_bias=False, name="logits")
    out = logits(layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, out)
    features.set_weights([np.array([1.0, -1.0]).reshape(1, 1, 1, 2), np.array([0.0, 1.0])])
    logits.set_weights([np.eye(2)])
    return model


def test_grad_cam_highlights_the_region_that_drives_the_score():
    image = np.zeros((1, 28, 28, 1), "float32")
    image[0, 4:12, 16:24] = 1.0                                       # bright square top right
    inside = np.zeros((28, 28), bool)
    inside[6:10, 18:22] = True
    outside = np.ones((28, 28), bool)
    outside[2:14, 14:26] = False
    model = _toy_detector()
    bright = grad_cam(model, image, [0], "pool")[0]
    dark = grad_cam(model, image, [1], "pool")[0]
    assert bright[inside].min() > 0.9 and bright[outside].max() < 0.05
    assert dark[inside].max() < 0.05 and dark[outside].min() > 0.9


def test_tools_work_on_a_model_loaded_from_a_keras_file(cnn, images, tmp_path):
    cnn.save(tmp_path / "cnn.keras")
    loaded = keras.models.load_model(tmp_path / "cnn.keras")
    np.testing.assert_allclose(activation_model(loaded, "conv2")(images),
                               activation_model(cnn, "conv2")(images), atol=1e-6)
    np.testing.assert_allclose(grad_cam(loaded, images, [1, 1, 1, 1], "conv2", "logits"),
                               grad_cam(cnn, images, [1, 1, 1, 1], "conv2", "logits"), atol=1e-5)


def test_plots_return_figures_with_labelled_axes(images):
    import matplotlib.pyplot as plt

    fig = show_grid(images[..., 0] - 0.5, titles=list("abcd"), ncols=3, symmetric=True,
                    colorbar="weight", row_labels=["r0", "r1"], title="t", xlabel="x (px)")
    ax = fig.axes[0]
    assert ax.get_title() == "t" and ax.get_xlabel() == "x (px)" and len(fig.axes) == 2
    assert [t.get_text() for t in ax.texts] == ["a", "b", "c", "d", "r0", "r1"]
    mosaic = ax.images[0].get_array()
    assert mosaic.shape[1] == 3 * 28 + 2 * 3            # 3 columns, 2 gaps (masked: white)
    assert np.ma.getmaskarray(mosaic).any()
    plt.close(fig)
    fig = show_grid(images, ncols=2)                                       # per-panel scale
    assert np.nanmin(fig.axes[0].images[0].get_array()) == 0.0
    assert np.nanmax(fig.axes[0].images[0].get_array()) == 1.0
    plt.close(fig)
    fig = show_explanations(images, images[..., 0], images[..., 0], list("abcd"))
    assert len(fig.axes) == 12 + 2
    plt.close(fig)
