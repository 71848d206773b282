"""The fast FashionMNIST recipe (helpers/fast_training.py), on tiny random data."""

from __future__ import annotations

import helpers  # noqa: F401  (sets TensorFlow's environment before keras is imported)

# isort: split
import numpy as np
import pytest

from helpers import fast_training as ft
from helpers import recap
from helpers.mode import RunMode

FULL = RunMode(fast=False)


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
    assert shapes[:4] == [(28, 28, 16), (28, 28, 16), (28, 28, 16), (14, 14, 16)]
    assert (7, 7, 32) in shapes and (1568,) in shapes
    assert model.compute_output_shape((5, 28, 28, 1)) == (5, 10)
    bn = ft.build_fast_cnn(ft.FAST.with_(batch_norm=False, augment="none"))
    # 3x3x1x16+16, 3x3x16x32+32, 1568x128+128, 128x10+10: the docstring's count
    assert bn.count_params() == 160 + 4_640 + 200_832 + 1_290 == 206_922
    assert not any("batch_normalization" in layer.name for layer in bn.layers)


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
    ds = ft.make_dataset(x, y, batch_size=32, training=False)
    batches = list(ds.as_numpy_iterator())
    assert [b[0].shape for b in batches] == [(32, 28, 28, 1)] * 3
    assert batches[0][1].shape == (32, 10)
    np.testing.assert_array_equal(batches[0][1].argmax(axis=1), y[:32])
    aug = ft.augmentation(ft.FAST.with_(shift=0.1, flip=True, erasing=1.0))
    xa, ya = next(ft.make_dataset(x, y, 96, training=False, augment=aug).as_numpy_iterator())
    assert xa.shape == x.shape and not np.allclose(xa, x)
    np.testing.assert_array_equal(ya.argmax(axis=1), y)
    shuffled = next(ft.make_dataset(x, y, 96, training=True).as_numpy_iterator())
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
    result = ft.train_recipe(*tiny, ft.SEED.with_(epochs=1), model=recap.build_cnn1(),
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
        ft.make_dataset(tiny[0], tiny[1][:5], 8, training=True)


def test_one_hot_accepts_labels_and_one_hot():
    np.testing.assert_array_equal(ft.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    onehot = np.eye(4, dtype="float32")
    assert ft.one_hot(onehot) is not None and ft.one_hot(onehot).shape == (4, 4)


def test_machine_info_names_the_machine():
    info = ft.machine_info()
    assert info["cores"] >= 1 and info["tensorflow"] and isinstance(info["gpus"], list)
