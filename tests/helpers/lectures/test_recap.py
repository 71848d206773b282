"""Lecture 01 helpers (helpers/lectures/recap.py): the seed's data preparation, cnn1,
training, plots."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import train_test_split

from helpers.architectures.small import build_cnn1, build_cnn_deeper
from helpers.arithmetic.conv_arithmetic import conv2d_params, dense_params
from helpers.data import CLASS_NAMES, Splits, fashion_mnist_csv
from helpers.lectures import recap
from helpers.mode import FAST_ENV_VAR, RunMode

FAST, FULL = RunMode(fast=True), RunMode(fast=False)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _write_csv(path, labels, pixels):
    columns = ["label"] + [f"pixel{i}" for i in range(1, 785)]
    pd.DataFrame(np.column_stack([labels, pixels]), columns=columns).to_csv(path, index=False)


@pytest.fixture
def synthetic_csv(tmp_path):
    """100 training rows and 20 test rows in the Kaggle layout; pixel values 0..255."""
    rng = np.random.default_rng(0)
    train_labels, test_labels = np.arange(100) % 10, np.arange(20) % 10
    train_pixels = rng.integers(0, 256, size=(100, 784))
    train_pixels[:, 0], train_pixels[:, 1] = 0, 255
    test_pixels = rng.integers(0, 256, size=(20, 784))
    _write_csv(tmp_path / "train.csv", train_labels, train_pixels)
    _write_csv(tmp_path / "test.csv", test_labels, test_pixels)
    return tmp_path / "train.csv", tmp_path / "test.csv", train_labels, train_pixels, test_pixels


def _random_data(n_train, n_val=50, n_test=50, seed=0):
    rng = np.random.default_rng(seed)

    def split(n):
        x = rng.random((n, 28, 28, 1), dtype=np.float32)
        return x, keras.utils.to_categorical(rng.integers(0, 10, n), 10)

    return Splits(*split(n_train), *split(n_val), *split(n_test))


def test_cnn1_has_the_lectures_693962_parameters_and_layer_shapes():
    model = build_cnn1()
    assert model.count_params() == 693_962
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert shapes == [(26, 26, 32), (26, 26, 32), (13, 13, 32), (13, 13, 32), (5408,),
                      (128,), (10,)]
    counts = [layer.count_params() for layer in model.layers]
    assert counts == [conv2d_params(3, 1, 32), 0, 0, 0, 0, dense_params(5408, 128),
                      dense_params(128, 10)]
    assert model.layers[-1].activation is keras.activations.softmax


def test_same_seed_builds_identical_initial_weights():
    a, b = build_cnn1(seed=13), build_cnn1(seed=13)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_deeper_model_has_more_conv_blocks_and_outputs_class_probabilities():
    model = build_cnn_deeper()
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 64]
    assert tuple(model.layers[-1].output.shape) == (None, 10)
    probs = model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert build_cnn_deeper().count_params() == 421_642
    assert build_cnn_deeper(filters=(32, 64, 128)).layers[-3].output.shape[1] == 3 * 3 * 128


def test_one_valid_block_without_dropout_is_cnn1_without_its_dropout_layer():
    model = build_cnn_deeper(filters=(32,), padding="valid", dropout=0.0)
    assert model.count_params() == 693_962
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)


def test_prepare_csv_data_splits_80_20_like_sklearn_with_random_state_13(synthetic_csv):
    train_csv, test_csv, labels, pixels, test_pixels = synthetic_csv
    data = recap.prepare_csv_data(train_csv, test_csv)
    assert data.x_train.shape == (80, 28, 28, 1) and data.x_val.shape == (20, 28, 28, 1)
    assert data.x_test.shape == (20, 28, 28, 1)
    x_tr, x_va, y_tr, y_va = train_test_split(pixels, labels, test_size=0.2, random_state=13)
    np.testing.assert_array_equal(data.x_train.reshape(80, 784) * 255, x_tr)
    np.testing.assert_array_equal(data.x_val.reshape(20, 784) * 255, x_va)
    np.testing.assert_array_equal(data.y_train.argmax(axis=1), y_tr)
    np.testing.assert_array_equal(data.y_val.argmax(axis=1), y_va)
    np.testing.assert_array_equal(data.x_test.reshape(20, 784) * 255, test_pixels)


def test_prepare_csv_data_scales_to_float32_unit_range_and_one_hot(synthetic_csv):
    data = recap.prepare_csv_data(*synthetic_csv[:2])
    for x in (data.x_train, data.x_val, data.x_test):
        assert x.dtype == np.float32 and x.min() >= 0.0 and x.max() <= 1.0
    assert data.x_train[:, 0, 0, 0].max() == 0.0 and data.x_train[:, 0, 1, 0].min() == 1.0
    for y in (data.y_train, data.y_val, data.y_test):
        assert y.shape[1] == 10 and set(np.unique(y)) == {0.0, 1.0}
        np.testing.assert_array_equal(y.sum(axis=1), 1.0)


def test_prepare_csv_data_on_the_real_csvs_gives_48000_12000_10000_images():
    data = recap.prepare_csv_data(*fashion_mnist_csv())
    assert data.x_train.shape == (48000, 28, 28, 1) and data.y_train.shape == (48000, 10)
    assert data.x_val.shape == (12000, 28, 28, 1) and data.y_val.shape == (12000, 10)
    assert data.x_test.shape == (10000, 28, 28, 1) and data.y_test.shape == (10000, 10)
    assert data.x_train.dtype == np.float32 and float(data.x_train.max()) == 1.0
    assert data.y_test.sum(axis=0).tolist() == [1000.0] * 10
    assert data.y_test[0].argmax() == 9  # the first test image is an ankle boot


def test_train_in_fast_mode_runs_one_epoch_on_at_most_4000_images():
    data = _random_data(4500, n_val=2500)
    result = recap.train(build_cnn1(), data, epochs=10, mode=FAST)
    assert result.epochs == 1 and result.n_train == 4000
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 1 for v in result.history.values())
    assert result.seconds > 0


def test_train_reads_the_fast_switch_from_the_environment(monkeypatch):
    monkeypatch.setenv(FAST_ENV_VAR, "1")
    result = recap.train(build_cnn1(), _random_data(4100), epochs=3)
    assert result.epochs == 1 and result.n_train == 4000


def test_train_in_full_mode_uses_all_epochs_and_images():
    result = recap.train(build_cnn1(), _random_data(300), epochs=2, batch_size=128,
                         mode=FULL)
    assert result.epochs == 2 and result.n_train == 300
    assert len(result.history["val_accuracy"]) == 2


def test_evaluate_returns_accuracy_consistent_with_its_predictions():
    data = _random_data(100, n_test=2300)
    model = build_cnn1()
    recap.train(model, data, epochs=1, mode=FAST)
    res = recap.evaluate(model, data.x_test, data.y_test, mode=FAST)
    assert len(res.y_true) == len(res.y_pred) == len(res.x) == 2000
    assert res.accuracy == pytest.approx(np.mean(res.y_true == res.y_pred), abs=1e-6)
    assert res.loss > 0


def test_plot_history_shows_accuracy_and_loss_against_epoch():
    hist = {"accuracy": [0.8, 0.9], "val_accuracy": [0.79, 0.85],
            "loss": [0.5, 0.3], "val_loss": [0.55, 0.4]}
    fig = recap.plot_history(hist, title="cnn1")
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"]
    assert [ax.get_ylabel() for ax in fig.axes] == ["accuracy", "cross-entropy loss"]
    assert all(ax.get_title() and len(ax.get_lines()) == 2 for ax in fig.axes)
    np.testing.assert_array_equal(fig.axes[0].get_lines()[1].get_ydata(), [0.79, 0.85])


def test_plot_confusion_matrix_shows_sklearns_counts_with_labelled_axes():
    y_true = np.array([0, 0, 1, 2, 2, 2, 9])
    y_pred = np.array([0, 1, 1, 2, 2, 0, 9])
    fig = recap.plot_confusion_matrix(keras.utils.to_categorical(y_true, 10), y_pred, CLASS_NAMES)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    expected = confusion_matrix(y_true, y_pred, labels=range(10))
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), expected)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(CLASS_NAMES)


def test_show_misclassified_shows_only_wrong_predictions_with_true_and_predicted_class():
    x = np.random.default_rng(0).random((30, 28, 28, 1))
    y_true = np.arange(30) % 10
    y_pred = y_true.copy()
    y_pred[[3, 7, 20]] = (y_pred[[3, 7, 20]] + 1) % 10
    fig = recap.show_misclassified(x, y_true, y_pred, CLASS_NAMES, n=16)
    shown = [ax for ax in fig.axes if ax.get_images()]
    assert len(shown) == 3
    assert shown[0].get_title() == f"true: {CLASS_NAMES[3]}\npred: {CLASS_NAMES[4]}"
    np.testing.assert_array_equal(shown[1].get_images()[0].get_array(), x[7, :, :, 0])
    assert "3 misclassified" in fig._suptitle.get_text()
    assert len([ax for ax in recap.show_misclassified(x, y_true, y_pred, CLASS_NAMES, n=2).axes
                if ax.get_images()]) == 2


def test_show_class_examples_shows_one_image_of_each_class_in_order():
    labels = np.array([3, 1, 0, 2, 4, 5, 6, 7, 8, 9, 1])
    x = np.random.default_rng(1).random((11, 28, 28, 1))
    fig = recap.show_class_examples(x, labels, CLASS_NAMES)
    shown = [ax for ax in fig.axes if ax.get_images()]
    assert [ax.get_title() for ax in shown] == [f"{i}: {n}" for i, n in enumerate(CLASS_NAMES)]
    np.testing.assert_array_equal(shown[0].get_images()[0].get_array(), x[2, :, :, 0])
