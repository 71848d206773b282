"""The fast switch CNN_COURSE_FAST."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.mode import FAST_ENV_VAR, RunMode, fast_mode_enabled, run_mode


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_true_values_switch_fast_mode_on(value):
    assert fast_mode_enabled({FAST_ENV_VAR: value})


@pytest.mark.parametrize("value", ["", "0", "false", "off"])
def test_false_or_missing_values_mean_full_mode(value):
    assert not fast_mode_enabled({FAST_ENV_VAR: value})
    assert not fast_mode_enabled({})


def test_a_typo_is_an_error_not_an_hour_of_training():
    with pytest.raises(ValueError, match="CNN_COURSE_FAST=1"):
        fast_mode_enabled({FAST_ENV_VAR: "fats"})


def test_fast_mode_caps_epochs_and_data_full_mode_keeps_them():
    fast, full = RunMode(fast=True), RunMode(fast=False)
    assert fast.epochs(10) == 1 and full.epochs(10) == 10
    assert fast.n_train(48000) == 4000 and full.n_train(48000) == 48000
    assert fast.n_eval(10000) == 2000 and fast.n_eval(500) == 500


def test_subset_keeps_images_and_labels_paired_and_is_seeded():
    x = np.arange(10000)
    y = np.arange(10000) * 2
    xs, ys = RunMode(fast=True).subset(x, y)
    assert len(xs) == 4000 and np.array_equal(ys, xs * 2)
    again, _ = RunMode(fast=True).subset(x, y)
    assert np.array_equal(xs, again)
    assert RunMode(fast=False).subset(x) is x


def test_subset_rejects_arrays_of_different_length():
    with pytest.raises(ValueError, match="differ in length"):
        RunMode(fast=True).subset(np.zeros(3), np.zeros(4))


def test_banner_names_the_mode_and_the_switch(monkeypatch):
    monkeypatch.setenv(FAST_ENV_VAR, "1")
    assert run_mode().banner().startswith("FAST") and FAST_ENV_VAR in run_mode().banner()
    monkeypatch.delenv(FAST_ENV_VAR)
    assert run_mode().banner().startswith("FULL")


def test_every_experiment_takes_its_fast_sizes_from_the_one_table():
    """helpers.mode.FAST_SIZES is where fast mode's sizes live; each config reads it."""
    from helpers.lectures import augmentation_study as study
    from helpers.lectures.bn_experiment import BNConfig
    from helpers.lectures.degradation import DegradationConfig
    from helpers.lectures.object_detection import DetectionSettings, detection_settings
    from helpers.lectures.transfer import TransferConfig
    from helpers.mode import FAST_SIZES

    fast = RunMode(fast=True)
    assert (fast.max_epochs, fast.max_train, fast.max_eval) == tuple(
        FAST_SIZES["default"][k] for k in ("epochs", "train", "eval"))
    assert (study.FAST_SPLIT_TRAIN, study.FAST_SPLIT_EVAL) == (
        FAST_SIZES["lecture01_split"]["train"], FAST_SIZES["lecture01_split"]["eval"])
    assert DegradationConfig().for_mode(fast).n_train == FAST_SIZES["degradation"]["train"]
    assert BNConfig().for_mode(fast).n_train == FAST_SIZES["bn_experiment"]["train"]
    transfer = TransferConfig().for_mode(fast)
    assert (transfer.n_source, transfer.n_test, transfer.transfer_labels_per_class,
            transfer.labels_per_class) == (
        FAST_SIZES["transfer"]["n_source"], FAST_SIZES["transfer"]["n_test"],
        FAST_SIZES["transfer"]["labels_per_class"],
        (FAST_SIZES["transfer"]["sweep_labels_per_class"],))
    assert detection_settings(fast) == DetectionSettings(**FAST_SIZES["detection"])
    full = RunMode(fast=False)
    assert DegradationConfig().for_mode(full) == DegradationConfig()
    assert detection_settings(full) != detection_settings(fast)
