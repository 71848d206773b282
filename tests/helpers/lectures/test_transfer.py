"""Tests of helpers.lectures.transfer and helpers.training.fine_tuning: task splits, freezing,
layer transferability."""


from dataclasses import replace
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.architectures.small import build_transfer_cnn
from helpers.data import CLASS_NAMES, FashionMNIST
from helpers.lectures import transfer as tr
from helpers.mode import RunMode
from helpers.training import fine_tuning

# run_functions_eagerly (fixture `eager`) does not reach tf.data, and TensorFlow says so
pytestmark = pytest.mark.filterwarnings("ignore:Even though the:UserWarning")

TRAIN_PER_CLASS, TEST_PER_CLASS = 30, 8
TINY = tr.TransferConfig(filters=(4, 8), head_units=8, labels_per_class=(2, 4),
                         transfer_labels_per_class=4, val_per_class=2, source_val_per_class=3,
                         pretrain_epochs=1, target_image_epochs=1, min_epochs=1, max_epochs=1,
                         batch_size=16)


def _fake_data(seed: int = 0) -> FashionMNIST:
    """10 classes; pixel (0, 0) and (0, 1) of every image encode its row (an id)."""
    rng = np.random.default_rng(seed)

    def part(per_class: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.permutation(np.repeat(np.arange(10), per_class)).astype("uint8")
        x = rng.integers(0, 256, (len(y), 28, 28), dtype=np.uint8)
        x[:, 0, 0], x[:, 0, 1] = np.arange(len(y)) % 256, np.arange(len(y)) // 256
        return x, y

    (x_train, y_train), (x_test, y_test) = part(TRAIN_PER_CLASS), part(TEST_PER_CLASS)
    return FashionMNIST(x_train, y_train, x_test, y_test, CLASS_NAMES, Path("."))


def _ids(x: np.ndarray) -> np.ndarray:
    pixels = np.rint(x[:, 0, :2, 0] * 255).astype(int)
    return pixels[:, 0] + 256 * pixels[:, 1]


@pytest.fixture(scope="module")
def data():
    return _fake_data()


@pytest.fixture(scope="module")
def pretrained(data, eager):
    model, result = tr.pretrain(tr.source_task(TINY, data), TINY)
    assert result.history["loss"], "pretraining ran"
    return model


# ------------------------------------------------------------------ data -----------------------
def test_target_task_relabels_counts_exactly_and_keeps_train_val_test_disjoint(data):
    target = tr.target_task(5, TINY, data)
    for y in (target.y_train, target.y_val, target.y_test):
        assert y.dtype == np.int32 and set(np.unique(y)) == set(range(5))
    assert np.bincount(target.y_train).tolist() == [5] * 5
    assert np.bincount(target.y_val).tolist() == [TINY.val_per_class] * 5
    # the test set is every official test image of classes 5-9
    assert np.bincount(target.y_test).tolist() == [TEST_PER_CLASS] * 5
    train_ids, val_ids = _ids(target.x_train), _ids(target.x_val)
    assert not set(train_ids) & set(val_ids)
    assert np.array_equal(data.y_train[train_ids], target.y_train + 5)  # class 5+i -> i
    assert np.array_equal(data.y_test[_ids(target.x_test)], target.y_test + 5)
    assert target.x_train.shape == (25, 28, 28, 1) and target.x_train.dtype == np.float32
    assert 0.0 <= target.x_train.min() and target.x_train.max() <= 1.0


def test_source_task_uses_only_classes_0_to_4_and_all_their_images(data):
    source = tr.source_task(TINY, data)
    assert np.bincount(source.y_train).tolist() == [TRAIN_PER_CLASS - 3] * 5
    assert np.array_equal(data.y_train[_ids(source.x_train)], source.y_train)
    assert set(data.y_train[_ids(source.x_val)]) <= set(tr.SOURCE_CLASSES)
    assert not set(_ids(source.x_train)) & set(_ids(source.x_val))


def test_splits_are_deterministic_with_the_seed_and_change_with_it(data):
    a, b = tr.target_task(4, TINY, data), tr.target_task(4, TINY, data)
    assert np.array_equal(_ids(a.x_train), _ids(b.x_train))
    other = tr.target_task(4, tr.TransferConfig(val_per_class=2, seed=99), data)
    assert set(_ids(a.x_train)) != set(_ids(other.x_train))


def test_bad_label_counts_raise_value_errors_that_say_how_to_fix_them(data):
    with pytest.raises(ValueError, match="use at most 28 labels per class"):
        tr.target_task(TRAIN_PER_CLASS, TINY, data)
    with pytest.raises(ValueError, match=">= 1"):
        tr.target_task(0, TINY, data)
    with pytest.raises(ValueError, match="distinct"):
        tr.select_classes(data.x_train, data.y_train, (5, 5))


def test_config_for_mode_shrinks_only_in_fast_mode_and_clips_epochs():
    config = tr.TransferConfig()
    assert config.for_mode(RunMode(fast=False)) == config
    fast = config.for_mode(RunMode(fast=True))
    assert fast.pretrain_epochs == 1 and fast.n_source <= 1000
    assert fast.target_epochs(50) == 1 and fast.filters == config.filters
    assert fast.n_test == 250 and fast.transfer_labels_per_class == 40
    assert fast.labels_per_class == fast.digit_labels_per_class == (2,) and fast.seeds == (13,)
    assert min(config.labels_per_class) == 1 and len(config.seeds) >= 3
    assert config.frozen_blocks is None and fast.frozen_blocks == (0, len(config.filters))
    assert (config.target_epochs(250), config.target_epochs(1000), config.target_epochs(5000)) == (
        40, 15, 5)


# ------------------------------------------------------------------ freezing -------------------
# filters (4, 8, 16), head 8: conv 36 / 288 / 1152, BN gamma+beta 8 / 16 / 32, head 136 + 45
CONV, BN, HEAD = (36, 288, 1152), (8, 16, 32), 136 + 45


def _model() -> keras.Model:
    return build_transfer_cnn(5, (4, 8, 16), head_units=8)


def test_build_cnn_names_blocks_and_features():
    model = _model()
    blocks = fine_tuning.conv_blocks(model)
    assert [[la.name for la in b] for b in blocks][0] == [
        "block1_conv", "block1_bn", "block1_relu", "block1_pool"]
    assert len(blocks) == 3
    assert fine_tuning.feature_extractor(model).output.shape == (None, 16)
    assert fine_tuning.trainable_parameter_count(model) == sum(CONV) + sum(BN) + HEAD


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_freeze_up_to_sets_flags_and_trainable_counts(k):
    model = fine_tuning.freeze_up_to(_model(), k)
    for i, block in enumerate(fine_tuning.conv_blocks(model), 1):
        assert all(layer.trainable == (i > k) for layer in block)
    assert fine_tuning.trainable_parameter_count(model) == sum(CONV[k:]) + sum(BN[k:]) + HEAD
    no_bn = fine_tuning.freeze_up_to(_model(), k, train_bn=False)
    assert fine_tuning.trainable_parameter_count(no_bn) == sum(CONV[k:]) + HEAD


def test_freeze_base_leaves_the_head_and_frozen_bn_runs_in_inference_mode():
    model = fine_tuning.freeze_base(_model())
    assert fine_tuning.trainable_parameter_count(model) == HEAD
    assert model.get_layer("head_out").trainable and not model.get_layer("block3_bn").trainable
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(model(x, training=True), model(x, training=False), atol=1e-6)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_unfreeze_top_trains_convs_of_the_top_blocks_and_keeps_bn_frozen(n):
    model = fine_tuning.unfreeze_top(
        fine_tuning.freeze_base(fine_tuning.unfreeze_top(_model(), 3)), n)
    assert fine_tuning.trainable_parameter_count(model) == sum(CONV[3 - n:]) + HEAD
    assert not any(la.trainable for la in model.layers
                   if isinstance(la, keras.layers.BatchNormalization))


def test_out_of_range_block_counts_raise_value_errors():
    with pytest.raises(ValueError, match="0 <= k <= 3"):
        fine_tuning.freeze_up_to(_model(), 4)
    with pytest.raises(ValueError, match="0 <= n <= 3"):
        fine_tuning.unfreeze_top(_model(), -1)
    with pytest.raises(ValueError, match="copy_blocks"):
        fine_tuning.transfer_model(_model(), copy_blocks=5)
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="block"):
        fine_tuning.conv_blocks(plain)


def test_transfer_model_copies_the_first_blocks_and_leaves_the_pretrained_model_alone():
    source = _model()
    before = [w.copy() for w in source.get_weights()]
    model = fine_tuning.transfer_model(source, num_classes=3, copy_blocks=2, head_units=8, seed=1)
    assert model.output.shape == (None, 3)
    for name in ("block1_conv", "block2_conv", "block2_bn"):
        for a, b in zip(model.get_layer(name).get_weights(),
                        source.get_layer(name).get_weights(), strict=True):
            assert np.array_equal(a, b)
    assert not np.array_equal(model.get_layer("block3_conv").get_weights()[0],
                              source.get_layer("block3_conv").get_weights()[0])
    model.get_layer("block1_conv").set_weights([np.zeros((3, 3, 1, 4), "float32")])
    assert all(np.array_equal(a, b) for a, b in zip(before, source.get_weights(), strict=True))


# ------------------------------------------------------------------ experiments ----------------
def test_layer_transferability_covers_every_k_and_trains_fewer_parameters_as_k_grows(
        pretrained, data):
    target = tr.target_task(TINY.transfer_labels_per_class, TINY, data)
    results = tr.layer_transferability(pretrained, target, TINY, variants=("retrain",))
    assert results["frozen_blocks"].tolist() == [0, 1, 2]
    assert results["trainable_params"].is_monotonic_decreasing
    fig = tr.plot_transferability(results)
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
    plt.close(fig)
    with pytest.raises(ValueError, match="unknown variants"):
        tr.layer_transferability(pretrained, target, TINY, variants=("AnB",))


def test_layer_transferability_tries_only_the_configured_k(pretrained, data):
    target = tr.target_task(TINY.transfer_labels_per_class, TINY, data)
    ends = replace(TINY, frozen_blocks=(0, 2))
    results = tr.layer_transferability(pretrained, target, ends, variants=("fine-tune",))
    assert results[["variant", "frozen_blocks"]].values.tolist() == [
        ["fine-tune", 0], ["fine-tune", 2]]
    with pytest.raises(ValueError, match="out of range"):
        tr.layer_transferability(pretrained, target, replace(TINY, frozen_blocks=(3,)))
