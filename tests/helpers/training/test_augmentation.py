"""Lecture 03 (helpers/training/augmentation.py, helpers/lectures/augmentation_study.py):
seed augmentation, offline/online pipelines,
the when-not-to-augment examples and noise injection."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

from helpers.data import Splits
from helpers.lectures import augmentation_study as study
from helpers.mode import RunMode
from helpers.training import augmentation as aug


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """16 smooth random images (16, 28, 28, 1) in [0, 1] with a bright blob in the middle."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 0.3, size=(16, 28, 28, 1)).astype("float32")
    x[:, 10:18, 8:20] = 0.9
    return x


def _sharpness(x) -> float:
    """Mean absolute difference between neighbouring pixels."""
    x = np.asarray(x)
    return float(np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=2)).mean())


@pytest.mark.parametrize("fused", [True, False])
def test_seed_augmentation_keeps_shape_dtype_and_range(images, fused):
    out = keras.ops.convert_to_numpy(aug.seed_augmentation(fused)(images, training=True))
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    assert not np.allclose(out, images), "training=True must change the images"


@pytest.mark.parametrize("fused", [True, False])
def test_seed_augmentation_is_identity_when_not_training(images, fused):
    layer = aug.seed_augmentation(fused)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images, training=False)),
                                  images)


@pytest.mark.parametrize("unit, radians", [("degrees", np.pi * 0.3 / 180), ("radians", 0.3)])
def test_seed_augmentation_uses_the_seed_settings(unit, radians):
    (fused,) = aug.seed_augmentation(fused=True, shear_unit=unit).layers
    assert (fused.rotation_degrees, fused.shift, fused.zoom) == (8, 0.08, 0.08)
    assert fused.shear_radians == pytest.approx(radians)
    rotation, shift, shear, zoom = aug.seed_augmentation(fused=False, shear_unit=unit).layers
    assert rotation.factor == pytest.approx((-8 / 360, 8 / 360))
    assert shift.height_factor == shift.width_factor == 0.08
    assert shear.shear_radians == pytest.approx(radians)
    assert shear.rotation_degrees == shear.zoom == 0
    assert zoom.height_factor == zoom.width_factor == 0.08


def test_seed_shear_defaults_to_degrees_as_keras_2_1_3_and_later():
    assert aug.seed_augmentation().layers[0].shear_radians == pytest.approx(np.deg2rad(0.3))


def test_unknown_shear_unit_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="degrees.*radians.*'gradians'"):
        aug.seed_augmentation(shear_unit="gradians")


def test_fused_augmentation_interpolates_once_and_blurs_less(images):
    fused = aug.seed_augmentation(fused=True)(images, training=True)
    layered = aug.seed_augmentation(fused=False)(images, training=True)
    assert _sharpness(layered) < _sharpness(fused) < _sharpness(images)


def test_affine_rotation_turns_about_the_centre():
    img = np.zeros((4, 29, 29, 1), "float32")
    img[:, 14, 14], img[:, 2, 14] = 1.0, 1.0
    out = keras.ops.convert_to_numpy(aug.RandomAffine(rotation_degrees=90, seed=0)(img))[..., 0]
    rows, cols = np.mgrid[:29, :29]
    for o in out:
        assert o[14, 14] > 0.99, "the centre pixel must stay in place"
        o = o.copy()
        o[13:16, 13:16] = 0.0  # the centre dot and its interpolation spill
        r = np.hypot((rows - 14) * o, (cols - 14) * o).sum() / o.sum()
        assert abs(r - 12) < 0.5, "the off-centre dot must stay 12 px from the centre"


def test_shear_is_centred_and_slants_rows():
    """A vertical bar through the centre becomes slanted, its centre pixel stays put."""
    bar = np.zeros((1, 29, 29, 1), "float32")
    bar[0, :, 14] = 1.0
    layer = aug.RandomAffine(shear_radians=0.3, fill_mode="constant", seed=3)
    out = keras.ops.convert_to_numpy(layer(np.repeat(bar, 8, axis=0), training=True))[..., 0]
    assert np.all(out[:, 14, 14] > 0.99), "the centre row must not move"
    top_cols = out[:, 2].argmax(axis=1)
    assert np.any(top_cols != 14), "rows away from the centre must shift sideways"
    assert np.all(np.abs(top_cols - 14) <= round(12 * np.sin(0.3)) + 1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(bar, training=False)), bar)


def test_offline_augment_gives_k_times_n_images_with_repeated_labels(images):
    labels = np.arange(16) % 10
    x, y = aug.offline_augment(images, labels, k=3, augmenter=aug.seed_augmentation(),
                               batch_size=5)
    assert x.shape == (48, 28, 28, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(y, np.tile(labels, 3))
    np.testing.assert_array_equal(x[:16], images)  # the originals come first
    assert not np.allclose(x[16:32], images) and not np.allclose(x[16:32], x[32:])
    with pytest.raises(ValueError):
        aug.offline_augment(images, labels, k=0, augmenter=aug.seed_augmentation())


def test_dataset_yields_batches_and_new_augmentations_every_epoch(images):
    labels = np.arange(16, dtype="int32")
    ds = aug.make_dataset(images, labels, batch_size=6, augment=aug.seed_augmentation(),
                          shuffle=False)
    epoch1 = [(x.numpy(), y.numpy()) for x, y in ds]
    epoch2 = [(x.numpy(), y.numpy()) for x, y in ds]
    assert [x.shape for x, _ in epoch1] == [(6, 28, 28, 1), (6, 28, 28, 1), (4, 28, 28, 1)]
    np.testing.assert_array_equal(np.concatenate([y for _, y in epoch1]), labels)
    assert not np.allclose(epoch1[0][0], epoch2[0][0]), "each epoch must draw new transforms"
    clean = [x.numpy() for x, _ in aug.make_dataset(images, labels, batch_size=16,
                                                    shuffle=False)]
    np.testing.assert_array_equal(clean[0], images)


def test_dataset_shuffles_differently_each_epoch(images):
    labels = np.arange(16, dtype="int32")
    ds = aug.make_dataset(images, labels, batch_size=16)
    first, second = (next(iter(ds))[1].numpy() for _ in range(2))
    assert sorted(first) == list(range(16)) and not np.array_equal(first, second)


def test_augmentation_inside_the_model_is_inactive_at_inference(images):
    inner = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()])
    model = aug.with_augmentation(inner, aug.seed_augmentation())
    np.testing.assert_array_equal(model.predict(images, verbose=0), images.reshape(16, -1))
    assert not np.allclose(keras.ops.convert_to_numpy(model(images, training=True)),
                           images.reshape(16, -1))


def test_transformation_layers_and_grid(images):
    named = aug.transformation_layers()
    assert {"horizontal flip", "seed_augmentation()"} <= set(named)
    copies = named["horizontal flip"](np.repeat(images[:1], 8, axis=0), training=True)
    assert all(np.allclose(c, images[0]) or np.allclose(c, images[0][:, ::-1]) for c in copies)
    fig = aug.augmentation_grid(images[0], named, n=3)
    assert len(fig.axes) == len(named) * 4


def test_text_image_is_ink_on_white_and_mirrors_under_a_flip():
    text = study.text_image("STOP 42", height=32, width=128)
    assert text.shape == (32, 128) and text.dtype == np.float32
    assert 0.0 <= text.min() and text.max() <= 1.0 and 0.05 < text.mean() < 0.6
    assert np.all(text[:, 0] < 0.05) and np.all(text[:, -1] < 0.05), "white margins"
    mirrored = text[:, ::-1]
    assert not np.allclose(mirrored, text)
    np.testing.assert_array_equal(mirrored[:, ::-1], text)


def test_digits_splits_are_stratified_8x8_in_unit_range():
    x_tr, x_te, y_tr, y_te = study.digits_splits()
    assert x_tr.shape[1:] == (8, 8, 1) and len(x_tr) + len(x_te) == 1797 and len(x_te) == 450
    assert x_tr.min() >= 0 and x_tr.max() <= 1 and x_tr.dtype == np.float32
    assert np.bincount(y_te).min() >= 43 and np.bincount(y_te).max() <= 47


def test_digits_cnn_parameters():
    assert study.build_digits_cnn().count_params() == 38_282
    flip = keras.layers.RandomFlip("vertical")
    assert study.build_digits_cnn(flip).layers[0] is flip


def test_digits_experiment_pools_seeds():
    out = study.digits_experiment({"none": lambda seed: None}, epochs=1, seeds=(1,))
    y_true, y_pred = out["none"]
    assert y_true.shape == y_pred.shape == (450,)


def test_cnn1_with_noise_keeps_cnn1_parameters_and_is_clean_at_inference(images):
    noisy = study.cnn1_with_noise(input_std=0.5, hidden_std=0.5)
    assert noisy.count_params() == 693_962
    kinds = [type(layer).__name__ for layer in noisy.layers]
    assert kinds[0] == "GaussianNoise" and kinds[-2] == "GaussianNoise"
    clean = study.cnn1_with_noise()
    clean.set_weights(noisy.get_weights())
    np.testing.assert_allclose(noisy.predict(images, verbose=0),
                               clean.predict(images, verbose=0), atol=1e-6)


def _tiny_splits(images) -> Splits:
    labels = np.arange(16, dtype="int32") % 10
    return Splits(images, labels, images[:8], labels[:8], images[8:], labels[8:])


def test_train_and_epoch_timing_on_arrays_and_datasets(images):
    splits = _tiny_splits(images)
    tiny = lambda: keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),  # noqa: E731
                                     keras.layers.Dense(10, activation="softmax")])
    res = study.train_variant(tiny(), (splits.x_train, splits.y_train), splits, epochs=2,
                              batch_size=8)
    assert len(res.history["val_accuracy"]) == len(res.epoch_seconds) == 2
    ds = aug.make_dataset(splits.x_train, splits.y_train, batch_size=8,
                          augment=aug.seed_augmentation())
    model = tiny()
    times = study.compare_epoch_seconds({"arrays": (model, (splits.x_train, splits.y_train)),
                                       "dataset": (model, ds)}, rounds=1)
    assert set(times) == {"arrays", "dataset"} and all(t > 0 for t in times.values())
    assert len(study.plot_curves({"a": res, "b": res}).axes) == 2


def test_lecture01_splits_match_the_80_20_split_in_fast_mode():
    splits = study.lecture01_splits(RunMode(fast=True))
    assert splits.sizes() == {"train": 1000, "val": 500, "test": 500}
    assert (study.FAST_SPLIT_TRAIN, study.FAST_SPLIT_EVAL) == (1000, 500)
    assert splits.x_train.dtype == np.float32 and splits.x_train.shape[1:] == (28, 28, 1)
    assert splits.y_train.dtype == np.int32 and isinstance(splits, Splits)


def test_lecture01_splits_are_whole_in_full_mode():
    splits = study.lecture01_splits(RunMode(fast=False))
    assert splits.sizes() == {"train": 48000, "val": 12000, "test": 10000}


def test_plots_have_labelled_axes():
    fig = study.plot_noise_sweep([0, 0.1], {"input": [0.8, 0.82]}, "sweep")
    assert "σ" in fig.axes[0].get_xlabel()
    fig = study.plot_per_class({"none": np.ones(10)}, "digits")
    assert fig.axes[0].get_ylabel().startswith("accuracy")
    assert isinstance(tf.data.AUTOTUNE, int)
