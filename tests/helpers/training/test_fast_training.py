"""The fast FashionMNIST recipe (helpers/training/fast.py), on tiny random data."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers.architectures.small import build_cnn1
from helpers.mode import RunMode
from helpers.training import fast as ft
from helpers.training.schedules import BudgetClock

FULL = RunMode(fast=False)

# benchmarks/common.py: the benchmark scripts' shared plumbing (a script folder, not a package).
_spec = importlib.util.spec_from_file_location(
    "benchmarks_common", Path(__file__).resolve().parents[3] / "benchmarks" / "common.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.fixture(scope="module")
def tiny():
    """96 training and 40 test images (28, 28, 1) in [0, 1] with integer labels 0..9."""
    rng = np.random.default_rng(0)
    x = rng.random((136, 28, 28, 1), dtype=np.float32)
    y = (np.arange(136) % 10).astype("int32")
    return x[:96], y[:96], x[96:], y[96:]


def test_model_shapes_and_parameters():
    model = ft.build_fast_cnn(ft.FAST.with_(augment="none"))
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    # conv -> pool -> BN -> ReLU: BN and ReLU see the 14x14 maps
    assert shapes[:4] == [(28, 28, 16), (14, 14, 16), (14, 14, 16), (14, 14, 16)]
    textbook = ft.build_fast_cnn(ft.FAST.with_(augment="none", pool_before_bn=False))
    shapes = [tuple(layer.output.shape[1:]) for layer in textbook.layers]
    assert shapes[:4] == [(28, 28, 16), (28, 28, 16), (28, 28, 16), (14, 14, 16)]
    assert textbook.count_params() == model.count_params()
    assert (7, 7, 32) in shapes and (1568,) in shapes
    assert model.compute_output_shape((5, 28, 28, 1)) == (5, 10)
    bn = ft.build_fast_cnn(ft.FAST.with_(batch_norm=False, augment="none"))
    # 3x3x1x16+16, 3x3x16x32+32, 1568x128+128, 128x10+10: the docstring's count
    assert bn.count_params() == 160 + 4_640 + 200_832 + 1_290 == 206_922
    assert not any("batch_normalization" in layer.name for layer in bn.layers)


def test_pool_before_bn_is_the_same_function_until_bn_learns_statistics():
    # BN with its initial statistics is an increasing map per channel and max-pooling
    # commutes with increasing maps, so both orders give the same logits with equal weights;
    # only the batch statistics (and so training) differ.
    pooled_first = ft.build_fast_cnn(ft.FAST.with_(augment="none"))
    textbook = ft.build_fast_cnn(ft.FAST.with_(augment="none", pool_before_bn=False))
    textbook.set_weights(pooled_first.get_weights())
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype="float32")
    np.testing.assert_allclose(pooled_first.predict(x, verbose=0),
                               textbook.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    # with a negative BN scale the max would pick other positions: the orders differ
    for model in (pooled_first, textbook):
        bn = next(layer for layer in model.layers if "batch_normalization" in layer.name)
        bn.gamma.assign(-np.ones(bn.gamma.shape, dtype="float32"))
    assert not np.allclose(pooled_first.predict(x, verbose=0), textbook.predict(x, verbose=0),
                           atol=1e-3)


def test_augmentation_in_model_only_when_asked():
    with_aug = ft.build_fast_cnn(ft.FAST.with_(augment="model"))
    without = ft.build_fast_cnn(ft.FAST.with_(augment="pipeline"))
    assert with_aug.layers[0].name == "augmentation"
    assert "augmentation" not in [layer.name for layer in without.layers]


def test_schedule_values_at_warmup_peak_and_end():
    lr = ft.WarmupCosine(peak=0.01, total_steps=100, warmup_steps=10)
    value = lambda step: float(lr(step))  # noqa: E731
    assert value(0) == 0.0
    assert value(5) == pytest.approx(0.005)
    assert value(10) == pytest.approx(0.01)
    assert value(55) == pytest.approx(0.005, rel=1e-5)  # half way down the cosine
    assert value(100) == pytest.approx(0.0, abs=1e-9)
    assert value(500) == pytest.approx(0.0, abs=1e-9)
    steps = [value(s) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(steps, steps[1:], strict=False))
    lr.set_total_steps(20)
    assert float(lr(20)) == pytest.approx(0.0, abs=1e-9)
    assert float(lr(15)) == pytest.approx(0.005, rel=1e-5)


def test_pipeline_batches_and_augmentation_keeps_labels(tiny):
    x, y, _, _ = tiny
    ds = ft.fast_dataset(x, y, batch_size=32, training=False)
    batches = list(ds.as_numpy_iterator())
    assert [b[0].shape for b in batches] == [(32, 28, 28, 1)] * 3
    assert batches[0][1].shape == (32, 10)
    np.testing.assert_array_equal(batches[0][1].argmax(axis=1), y[:32])
    aug = ft.augmentation(ft.FAST.with_(shift=0.1, flip=True, erasing=1.0))
    xa, ya = next(ft.fast_dataset(x, y, 96, training=False, augment=aug).as_numpy_iterator())
    assert xa.shape == x.shape and not np.allclose(xa, x)
    np.testing.assert_array_equal(ya.argmax(axis=1), y)
    shuffled = next(ft.fast_dataset(x, y, 96, training=True).as_numpy_iterator())
    # shuffled: images and labels move together
    rows = [int(np.flatnonzero((x == image).all(axis=(1, 2, 3)))[0]) for image in shuffled[0]]
    np.testing.assert_array_equal(shuffled[1].argmax(axis=1), y[rows])
    assert rows != list(range(96))


def test_train_recipe_history_and_target(tiny):
    result = ft.train_recipe(*tiny, ft.FAST.with_(epochs=2, batch_size=32), target=1.0,
                             mode=FULL)
    assert result.epochs == 2 and result.n_train == 96
    assert len(result.history["test_accuracy"]) == 2
    assert result.history["train_seconds"][0] < result.history["train_seconds"][1]
    assert result.wall_seconds >= result.seconds > 0
    assert result.time_to_target is None  # random labels: 100 % is not reached
    easy = ft.train_recipe(*tiny, ft.FAST.with_(epochs=1, batch_size=32), target=0.01,
                           mode=FULL)
    assert easy.time_to_target == pytest.approx(easy.history["train_seconds"][0])


def test_seed_recipe_with_cnn1_and_numpy_input(tiny):
    result = ft.train_recipe(*tiny, ft.SEED.with_(epochs=1), model=build_cnn1(),
                             target=None, mode=FULL)
    assert result.epochs == 1 and result.time_to_target is None
    assert 0 <= result.test_accuracy <= 1


def test_budget_stops_training(tiny):
    x, y, xt, yt = tiny
    big = np.concatenate([x] * 20), np.concatenate([y] * 20)
    result = ft.train_recipe(*big, xt, yt, ft.FAST.with_(epochs=200, batch_size=32),
                             budget_s=1.0, target=None, mode=FULL)
    assert result.epochs < 200
    assert result.stopped_by_budget or result.epochs == 1
    assert result.wall_seconds < 30


def test_fast_mode_caps_epochs_and_data(tiny):
    mode = RunMode(fast=True, max_train=50, max_eval=20)
    result = ft.train_recipe(*tiny, ft.FAST.with_(epochs=5, batch_size=25), target=None,
                             mode=mode)
    assert result.epochs == 1 and result.n_train == 50


@pytest.mark.parametrize("changes, message", [
    ({"epochs": 0}, "epochs must be >= 1"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
    ({"schedule": "onecycle"}, "schedule must be one of"),
    ({"augment": "gpu"}, "augment must be one of"),
    ({"input": "csv"}, "input must be one of"),
    ({"erasing": 1.5}, "erasing must be a probability"),
    ({"filters": ()}, "filters must be a non-empty tuple"),
    ({"input": "numpy", "augment": "pipeline"}, "needs input='tf.data'"),
])
def test_bad_recipe_is_a_clear_value_error(changes, message):
    with pytest.raises(ValueError, match=message):
        ft.FAST.with_(**changes)


def test_bad_arguments_are_clear_value_errors(tiny):
    with pytest.raises(ValueError, match="budget_s must be > 0"):
        ft.train_recipe(*tiny, budget_s=0, mode=FULL)
    with pytest.raises(ValueError, match="target must be an accuracy"):
        ft.train_recipe(*tiny, target=91, mode=FULL)
    with pytest.raises(ValueError, match="warmup_steps < total_steps"):
        ft.WarmupCosine(0.01, total_steps=10, warmup_steps=10)
    with pytest.raises(ValueError, match="differ in length"):
        ft.fast_dataset(tiny[0], tiny[1][:5], 8, training=True)


def test_one_hot_accepts_labels_and_one_hot():
    np.testing.assert_array_equal(ft.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    onehot = np.eye(4, dtype="float32")
    assert ft.one_hot(onehot) is not None and ft.one_hot(onehot).shape == (4, 4)


def test_machine_info_names_the_machine():
    info = bench.machine_info()
    assert info["cores"] >= 1 and info["tensorflow"] and isinstance(info["gpus"], list)


class _FakeClock(BudgetClock):
    """A clock whose wall time is set by the test, to check the planning alone."""

    def __init__(self, budget_s, max_epochs, epoch_walls):
        schedule = ft.WarmupCosine(1e-3, total_steps=100 * max_epochs, warmup_steps=10)
        super().__init__(None, budget_s, max_epochs, 100, schedule)
        self.log["wall_seconds"] = list(epoch_walls)
        self.now = epoch_walls[-1]

    def _wall(self):
        return self.now


def test_budget_plan_follows_the_recent_epochs():
    # first epoch 30 s (tracing), then 10 s epochs: 70 s left / (10 s * 1.05) -> 6 more
    clock = _FakeClock(budget_s=140, max_epochs=60, epoch_walls=[30, 40, 50, 60, 70])
    clock.plan(epoch=4)
    assert clock.planned_epochs == 5 + 6
    assert float(clock.schedule.total_steps.numpy()) == 11 * 100
    # epochs slow down (10, 20, 20 s): 50 s left / (16.7 s * 1.05) -> 2 more, cosine shortened
    clock = _FakeClock(budget_s=140, max_epochs=60, epoch_walls=[30, 40, 50, 70, 90])
    clock.plan(epoch=4)
    assert clock.planned_epochs == 5 + 2
    assert float(clock.schedule.total_steps.numpy()) == 7 * 100
    # after the first epoch only its time (tracing included) is known
    clock = _FakeClock(budget_s=100, max_epochs=60, epoch_walls=[20])
    clock.plan(epoch=0)
    assert clock.planned_epochs == 1 + int(80 // 21)


def test_budget_plan_keeps_the_reserve_and_never_plans_past_max_or_before_now():
    clock = _FakeClock(budget_s=100, max_epochs=60, epoch_walls=[10, 20])
    clock.reserve_s = 40
    clock.plan(epoch=1)
    assert clock.planned_epochs == 2 + int(40 // 10.5)
    clock = _FakeClock(budget_s=10_000, max_epochs=6, epoch_walls=[10, 20])
    clock.plan(epoch=1)
    assert clock.planned_epochs == 6
    clock = _FakeClock(budget_s=50, max_epochs=60, epoch_walls=[30, 60])
    clock.plan(epoch=1)  # already past the budget: stop after this epoch
    assert clock.planned_epochs == 2


class HalfMirror(keras.Model):
    """Logits from the left half of the image only: flipping changes the answer."""

    def call(self, x):
        left = keras.ops.mean(x[:, :, :14, 0], axis=(1, 2))
        right = keras.ops.mean(x[:, :, 14:, 0], axis=(1, 2))
        return keras.ops.stack([10 * left, 10 * right], axis=1)


def test_flip_tta_averages_image_and_mirror():
    """The mirror swaps the halves, so with TTA every image's two classes tie (argmax 0)."""
    x = np.zeros((4, 28, 28, 1), "float32")
    x[0, :, :3] = 1.0    # left: class 0
    x[1, :, 20:] = 0.5   # right: class 1
    x[2, :, :14] = 0.3   # a little more on the left: class 0
    x[2, :, 14:] = 0.2
    y = np.array([0, 1, 0, 1])  # image 3 is blank: a tie, argmax says 0, wrong
    model = HalfMirror()
    assert ft.test_accuracy(model, x, y) == 0.75
    assert ft.test_accuracy(model, x, y, tta_flip=True) == 0.5


def test_flip_tta_accepts_probabilities_and_is_reported(tiny):
    result = ft.train_recipe(*tiny, ft.FAST.with_(epochs=1, tta_flip=True), target=None,
                             mode=FULL)
    assert result.test_accuracy_tta is not None and 0 <= result.test_accuracy_tta <= 1
    assert ft.train_recipe(*tiny, ft.FAST.with_(epochs=1), target=None,
                           mode=FULL).test_accuracy_tta is None
    softmax = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                keras.layers.Dense(10, activation="softmax")])
    x, y = tiny[2], tiny[3]
    assert 0 <= ft.test_accuracy(softmax, x, y, tta_flip=True) <= 1


def test_write_results_creates_folders_and_skips_none(tmp_path, capsys):
    bench.write_results(None, {"a": 1})
    out = tmp_path / "deep" / "r.json"
    bench.write_results(out, {"a": 1, "b": [0.5]})
    assert json.loads(out.read_text()) == {"a": 1, "b": [0.5]}
    assert "wrote" in capsys.readouterr().out
    assert "2 cores" in bench.machine_line({"cores": 2, "cpu": "x", "tensorflow": "2",
                                             "gpus": [], "TF_ENABLE_ONEDNN_OPTS": "1",
                                             "load_average": [1.0]})


def test_budget_reserve_grows_with_the_evaluation_time_and_counts_from_start():
    started = time.perf_counter() - 5.0  # a run whose set-up took 5 s already
    clock = BudgetClock(lambda model: (time.sleep(0.05), 0.5)[1], budget_s=100, max_epochs=3,
                        steps_per_epoch=10, schedule=None, start=started)
    clock.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    clock.final_passes = 2
    clock.on_train_begin()
    clock.on_epoch_end(0)
    assert clock.reserve_s >= 1.5 * 2 * 0.05  # two final passes, each like this evaluation
    assert clock.log["wall_seconds"][0] >= 5.0 and clock.log["test_accuracy"] == [0.5]
    assert clock.log["train_seconds"][0] >= 5.0 - 1e-6  # the set-up counts as training time
