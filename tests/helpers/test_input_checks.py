"""Mistakes that would reach Keras or TensorFlow get a course message naming the fix
(helpers/input_checks.py and the helpers that call it)."""

from __future__ import annotations

import subprocess
import sys

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers import input_checks as ic
from helpers.data import CLASS_NAMES, Splits, as_images
from helpers.lectures import recap
from helpers.mode import RunMode
from helpers.visualisation import grad_cam, saliency_maps

FAST = RunMode(fast=True)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def tiny_cnn():
    """A compiled 10-class CNN on 28 x 28 x 1 with a named conv layer and logits."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(10, name="logits")(x)
    model = keras.Model(inputs, keras.layers.Softmax()(logits))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def _images(n=8, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28, 1), dtype=np.float32)


def _splits(y_train, y_val):
    return Splits(_images(len(y_train)), y_train, _images(len(y_val), 1), y_val,
                  _images(4, 2), keras.utils.to_categorical(np.arange(4), 10))


# ------------------------------------------------------------------ the checks themselves
def test_check_images_accepts_scaled_float_images_and_returns_them():
    x = _images()
    assert ic.check_images(x) is x


@pytest.mark.parametrize("images, fix", [
    (np.full((2, 28, 28, 1), 255, np.uint8), "/ 255"),
    (np.full((2, 28, 28, 1), 200.0, np.float32), "/ 255"),
    (np.zeros((2, 28, 28)), "[..., None]"),
    (np.zeros((2, 784)), "as_images"),
    (np.zeros((28, 28, 1, 1, 1)), "(N, H, W, C)"),
    (np.full((1, 2, 2, 1), np.nan), "NaN"),
])
def test_check_images_names_the_fix_for_each_typical_mistake(images, fix):
    with pytest.raises(ValueError) as err:
        ic.check_images(images, "x_test")
    assert fix in str(err.value) and "x_test" in str(err.value)


def test_check_one_hot_points_integer_labels_at_to_categorical_and_the_sparse_loss():
    with pytest.raises(ValueError) as err:
        ic.check_one_hot(np.arange(5), 10, "y_train")
    message = str(err.value)
    assert "to_categorical(y_train, 10)" in message
    assert "sparse_categorical_crossentropy" in message


@pytest.mark.parametrize("y, words", [
    (np.zeros((3, 7)), "(N, 10)"),
    (np.full((3, 10), 0.1), "one-hot"),
])
def test_check_one_hot_rejects_wrong_widths_and_rows_that_are_not_one_hot(y, words):
    with pytest.raises(ValueError) as err:
        ic.check_one_hot(y, 10)
    assert words in str(err.value)


def test_check_class_indices_accepts_ints_and_whole_floats():
    np.testing.assert_array_equal(ic.check_class_indices([0, 9.0, 3], 10), [0, 9, 3])


@pytest.mark.parametrize("labels, words", [
    ([0, 10], "outside the 10 classes 0..9 (first: 10)"),
    ([-1], "first: -1"),
    ([0.5], "whole class indices"),
    (np.eye(10), "argmax(axis=1)"),
])
def test_check_class_indices_says_which_value_is_wrong(labels, words):
    with pytest.raises(ValueError) as err:
        ic.check_class_indices(labels, 10)
    assert words in str(err.value)


def test_check_same_length_names_both_lengths():
    assert ic.check_same_length(a=[1, 2], b=np.zeros(2)) == 2
    with pytest.raises(ValueError, match="x 3, y 2"):
        ic.check_same_length(x=[1, 2, 3], y=[1, 2])


def test_importing_the_checks_does_not_import_tensorflow():
    code = ("import sys, helpers.input_checks; "
            "print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ where students meet them
def test_recap_train_with_integer_labels_says_to_categorical_not_keras_rank_error(tiny_cnn):
    data = _splits(np.arange(8) % 10, np.arange(4))
    with pytest.raises(ValueError, match=r"to_categorical\(data.y_train, 10\)"):
        recap.train(tiny_cnn, data, epochs=1, mode=FAST)


def test_recap_train_with_unscaled_images_says_divide_by_255(tiny_cnn):
    y = keras.utils.to_categorical(np.arange(8) % 10, 10)
    data = Splits((_images() * 255).astype(np.uint8), y, _images(4), y[:4], _images(4), y[:4])
    with pytest.raises(ValueError, match="data.x_train holds pixel values up to"):
        recap.train(tiny_cnn, data, epochs=1, mode=FAST)


def test_recap_evaluate_refuses_uint8_test_images_instead_of_chance_accuracy(tiny_cnn):
    y = keras.utils.to_categorical(np.arange(8) % 10, 10)
    x = (_images() * 255).astype(np.uint8)
    with pytest.raises(ValueError, match="chance accuracy"):
        recap.evaluate(tiny_cnn, x, y, mode=FAST)
    assert recap.evaluate(tiny_cnn, x / np.float32(255), y, mode=FAST).accuracy >= 0


def test_confusion_matrix_refuses_a_label_outside_the_classes_instead_of_dropping_it():
    with pytest.raises(ValueError, match=r"y_true holds 1 value\(s\) outside the 10 classes"):
        recap.plot_confusion_matrix(np.array([0, 1, 10]), np.array([0, 1, 2]), CLASS_NAMES)
    with pytest.raises(ValueError, match="y_true 3, y_pred 2"):
        recap.plot_confusion_matrix(np.array([0, 1, 2]), np.array([0, 1]), CLASS_NAMES)


def test_confusion_matrix_still_counts_every_correct_input_form():
    y = np.arange(10)
    fig = recap.plot_confusion_matrix(keras.utils.to_categorical(y, 10), y.astype(float),
                                      CLASS_NAMES)
    assert fig.axes


def test_saliency_and_grad_cam_reject_a_class_index_the_model_does_not_have(tiny_cnn):
    x = _images(2)
    with pytest.raises(ValueError, match=r"outside the 10 classes 0..9 \(first: 12\)"):
        saliency_maps(tiny_cnn, x, [3, 12], score_layer="logits")
    with pytest.raises(ValueError, match="images 2, classes 3"):
        grad_cam(tiny_cnn, x, [1, 2, 3], conv_layer="conv", score_layer="logits")


def test_saliency_accepts_one_class_for_every_image(tiny_cnn):
    x = _images(3)
    np.testing.assert_allclose(saliency_maps(tiny_cnn, x, 4), saliency_maps(tiny_cnn, x, [4] * 3))


def test_prepare_csv_data_names_the_expected_columns(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame(np.zeros((3, 784), np.uint8)).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="label, pixel1, ..., pixel784"):
        recap.prepare_csv_data(bad, bad)


@pytest.mark.parametrize("pixels, words", [
    (np.zeros((3, 785), np.uint8), "got 785"),
    (np.full((3, 28, 28), 0.5, np.float32), "already in [0, 1]"),
])
def test_as_images_explains_a_label_column_and_double_scaling(pixels, words):
    with pytest.raises(ValueError) as err:
        as_images(pixels)
    assert words in str(err.value)


def test_as_images_keeps_accepting_an_empty_selection():
    assert as_images(np.zeros((0, 28, 28), np.uint8)).shape == (0, 28, 28, 1)
    assert as_images(np.zeros((0, 784), np.uint8)).shape == (0, 28, 28, 1)
