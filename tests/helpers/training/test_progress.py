"""helpers.training.progress: one line per epoch on stdout in full mode, silence in fast mode."""

from __future__ import annotations

import keras
import numpy as np

from helpers.mode import RunMode
from helpers.training.progress import fit_verbose, progress

FULL, FAST = RunMode(fast=False), RunMode(fast=True)


def test_fit_verbose_is_one_line_per_epoch_in_full_mode_and_silent_in_fast_mode():
    assert fit_verbose(FULL) == 2
    assert fit_verbose(FAST) == 0


def test_fit_verbose_reads_the_switch_when_no_mode_is_given(monkeypatch):
    monkeypatch.setenv("CNN_COURSE_FAST", "0")
    assert fit_verbose() == 2
    monkeypatch.setenv("CNN_COURSE_FAST", "1")
    assert fit_verbose() == 0


def test_a_full_mode_fit_prints_each_epoch_on_stdout_and_nothing_on_stderr(capsys):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.random.default_rng(0).random((32, 3)), np.arange(32) % 2
    model.fit(x, y, epochs=3, batch_size=8, verbose=fit_verbose(FULL))
    out, err = capsys.readouterr()
    assert [line.startswith("Epoch ") for line in out.splitlines()].count(True) == 3
    assert out.count("4/4 - ") == 3 and "accuracy: " in out  # one summary line per epoch
    assert err == ""


def test_progress_in_full_mode_draws_a_bar_on_stdout_and_yields_every_item(capsys):
    items = list(progress(range(5), "scenes", mode=FULL))
    out, err = capsys.readouterr()
    assert items == [0, 1, 2, 3, 4]
    assert "scenes" in out and "5/5" in out
    assert err == ""


def test_progress_in_fast_mode_yields_the_items_silently(capsys):
    assert list(progress(iter("abc"), "letters", total=3, mode=FAST)) == ["a", "b", "c"]
    assert capsys.readouterr() == ("", "")
