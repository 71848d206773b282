"""Label smoothing: the target formula against Keras' loss, calibration metrics, the study."""

import keras
import numpy as np
import pytest
from sklearn.metrics import log_loss

from helpers.lectures import label_smoothing as ls
from helpers.mode import RunMode


def test_smoothed_targets_put_one_minus_eps_plus_eps_over_k_on_the_true_class():
    t = ls.smoothed_targets(np.array([2, 0]), 4, 0.1)
    np.testing.assert_allclose(t.sum(axis=1), 1.0)
    np.testing.assert_allclose(t[0], [0.025, 0.025, 0.925, 0.025])


def test_cross_entropy_on_smoothed_targets_equals_keras_label_smoothing():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(16, 10)).astype("float32")
    y = rng.integers(0, 10, 16)
    ours = keras.losses.CategoricalCrossentropy(from_logits=True)(
        ls.smoothed_targets(y, 10, 0.1).astype("float32"), logits)
    theirs = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(
        keras.utils.to_categorical(y, 10), logits)
    assert float(ours) == pytest.approx(float(theirs), rel=1e-6)


def test_smoothed_targets_refuse_bad_epsilon_and_labels():
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\)"):
        ls.smoothed_targets(np.array([0]), 3, 1.0)
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        ls.smoothed_targets(np.array([3]), 3, 0.1)


def test_calibration_error_is_zero_when_confidence_equals_accuracy_and_large_when_not():
    # 10 predictions at confidence 0.8, 8 of them right: calibrated
    probs = np.tile([0.8, 0.2], (10, 1))
    y = np.array([0] * 8 + [1] * 2)
    assert ls.expected_calibration_error(probs, y) == pytest.approx(0.0)
    # certain and right half of the time: ECE 0.5
    sure = np.tile([1.0, 0.0], (10, 1))
    assert ls.expected_calibration_error(sure, np.array([0, 1] * 5)) == pytest.approx(0.5)


def test_prediction_report_takes_float32_softmax_rows_without_warning():
    import warnings

    logits = np.random.default_rng(3).normal(size=(50, 10)).astype("float32")
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = ls.prediction_report(probs, np.zeros(50, int))
    assert report["test NLL"] > 0


def test_prediction_report_nll_matches_sklearn_log_loss():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(5), size=40)
    y = rng.integers(0, 5, 40)
    report = ls.prediction_report(probs, y)
    assert report["test NLL"] == pytest.approx(log_loss(y, probs, labels=range(5)))
    assert report["mean confidence"] == pytest.approx(probs.max(axis=1).mean())


def test_study_trains_every_epsilon_on_the_same_seed_and_summarises_pair_by_pair():
    rng = np.random.default_rng(2)
    x = rng.random((96, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, 96)
    runs = ls.label_smoothing_study(x[:64], y[:64], x[64:], y[64:], epsilons=(0.0, 0.2),
                                    seeds=(3, 4), mode=RunMode(fast=True))
    assert list(runs["epsilon"]) == [0.0, 0.2] and set(runs["seed"]) == {3}  # fast: one seed
    assert runs["test accuracy"].between(0, 1).all() and (runs["ECE"] >= 0).all()
    assert runs["train accuracy"].between(0, 1).all()
    summary = ls.study_summary(runs)
    assert summary.loc[0.0, "accuracy change (points)"] == 0.0
    expected = 100 * (runs["test accuracy"].iloc[1] - runs["test accuracy"].iloc[0])
    assert summary.loc[0.2, "accuracy change (points)"] == pytest.approx(expected)
