"""The shared training recipe: splits, fit, evaluate, timing."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.data import Splits, fashion_mnist_splits
from helpers.mode import RunMode
from helpers.training.recipe import FitResult, fit_and_evaluate


@pytest.fixture(scope="module")
def fast_splits():
    return fashion_mnist_splits(mode=RunMode(fast=True))


def _tiny_model():
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, strides=2),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])


def test_full_mode_splits_keep_every_training_image_and_the_official_test_set():
    splits = fashion_mnist_splits(mode=RunMode(fast=False))
    assert splits.sizes() == {"train": 55000, "val": 5000, "test": 10000}
    assert splits.x_train.dtype == np.float32 and splits.x_train.shape[1:] == (28, 28, 1)
    assert 0.0 <= splits.x_train.min() and splits.x_train.max() <= 1.0
    assert np.bincount(splits.y_val).tolist() == [500] * 10  # stratified


def test_fast_mode_splits_are_small_and_seeded(fast_splits):
    assert fast_splits.sizes() == {"train": 4000, "val": 2000, "test": 2000}
    again = fashion_mnist_splits(mode=RunMode(fast=True))
    assert np.array_equal(again.y_train, fast_splits.y_train)


def test_fit_and_evaluate_records_history_timing_and_test_accuracy(fast_splits):
    result = fit_and_evaluate(_tiny_model(), fast_splits, epochs=2, batch_size=128,
                              learning_rate=1e-2)
    assert isinstance(result, FitResult)
    assert len(result.history["val_accuracy"]) == 2 and len(result.epoch_seconds) == 2
    assert result.test_accuracy > 0.5  # far above the 0.1 of guessing, even after 2 epochs
    assert result.seconds > 0 and result.params == 1 * 9 * 4 + 4 + 13 * 13 * 4 * 10 + 10
    assert result.final_train_error == pytest.approx(1 - result.history["accuracy"][-1])


def test_fit_and_evaluate_can_run_eagerly_with_the_same_recipe(fast_splits):
    small = Splits(fast_splits.x_train[:256], fast_splits.y_train[:256],
                   fast_splits.x_val[:128], fast_splits.y_val[:128],
                   fast_splits.x_test[:128], fast_splits.y_test[:128])
    keras.utils.set_random_seed(0)
    graph = fit_and_evaluate(_tiny_model(), small, epochs=1, batch_size=128)
    keras.utils.set_random_seed(0)
    model = _tiny_model()
    eager = fit_and_evaluate(model, small, epochs=1, batch_size=128, run_eagerly=True)
    assert model.run_eagerly and len(eager.history["val_accuracy"]) == 1
    assert eager.test_loss == pytest.approx(graph.test_loss, rel=1e-4)


def test_fit_rejects_zero_epochs(fast_splits):
    with pytest.raises(ValueError, match="epochs"):
        fit_and_evaluate(_tiny_model(), fast_splits, epochs=0)


def test_splits_report_their_sizes():
    z = np.zeros((3, 28, 28, 1))
    assert Splits(z, z[:, 0, 0, 0], z[:2], z[:2, 0, 0, 0], z[:1], z[:1, 0, 0, 0]).sizes() == {
        "train": 3, "val": 2, "test": 1}


def test_the_prefix_of_a_long_constant_rate_run_is_the_short_run(fast_splits):
    small = Splits(fast_splits.x_train[:512], fast_splits.y_train[:512],
                   fast_splits.x_val[:128], fast_splits.y_val[:128],
                   fast_splits.x_test[:256], fast_splits.y_test[:256])
    keras.utils.set_random_seed(0)
    short = fit_and_evaluate(_tiny_model(), small, epochs=2, batch_size=128, cosine_decay=False)
    keras.utils.set_random_seed(0)
    long = fit_and_evaluate(_tiny_model(), small, epochs=3, batch_size=128, cosine_decay=False,
                            snapshot_epochs=(2,))
    two = long.prefix(2)
    assert len(two.epoch_seconds) == 2 and len(two.history["val_loss"]) == 2
    assert two.test_loss == pytest.approx(short.test_loss, rel=1e-4)
    assert two.test_accuracy == pytest.approx(short.test_accuracy, abs=1e-6)
    assert two.history["loss"] == pytest.approx(short.history["loss"], rel=1e-4)
    assert long.prefix(3) is long and long.test_loss != two.test_loss


def test_a_prefix_without_its_snapshot_says_which_argument_to_pass(fast_splits):
    small = Splits(fast_splits.x_train[:128], fast_splits.y_train[:128],
                   fast_splits.x_val[:64], fast_splits.y_val[:64],
                   fast_splits.x_test[:64], fast_splits.y_test[:64])
    result = fit_and_evaluate(_tiny_model(), small, epochs=2, batch_size=128)
    with pytest.raises(ValueError, match=r"snapshot_epochs=\(1,\)"):
        result.prefix(1)
