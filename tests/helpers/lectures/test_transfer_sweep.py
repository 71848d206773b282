"""Tests of lecture 09's targets (helpers.lectures.transfer_targets), measurements
(helpers.lectures.transfer_sweep) and ImageNet path (helpers.lectures.imagenet_path), on tiny
data."""

from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers.data import CLASS_NAMES, FashionMNIST
from helpers.lectures import imagenet_path as ip
from helpers.lectures import transfer as tr
from helpers.lectures import transfer_sweep as sw
from helpers.lectures import transfer_targets as tt

pytestmark = pytest.mark.filterwarnings("ignore:Even though the:UserWarning")

TINY = tr.TransferConfig(filters=(4, 8), head_units=8, labels_per_class=(1, 3),
                         digit_labels_per_class=(1,), seeds=(13, 14),
                         transfer_labels_per_class=4, val_per_class=2, source_val_per_class=3,
                         pretrain_epochs=1, target_image_epochs=1, min_epochs=1, max_epochs=1,
                         batch_size=16)


def _fake_data(per_class: int = 12, test_per_class: int = 4) -> FashionMNIST:
    rng = np.random.default_rng(0)

    def part(n):
        y = rng.permutation(np.repeat(np.arange(10), n)).astype("uint8")
        return rng.integers(0, 256, (len(y), 28, 28), dtype=np.uint8), y

    (x_train, y_train), (x_test, y_test) = part(per_class), part(test_per_class)
    return FashionMNIST(x_train, y_train, x_test, y_test, CLASS_NAMES, Path("."))


@pytest.fixture(scope="module")
def data():
    return _fake_data()


@pytest.fixture(scope="module")
def pretrained(data, eager):
    return tr.pretrain(tr.source_task(TINY, data), TINY)[0]


@pytest.fixture(scope="module")
def pool(data):
    return tt.fashion_target(data)


# ------------------------------------------------------------------ targets --------------------
def test_fashion_target_pools_classes_5_to_9_relabelled_and_keeps_the_test_set_apart(data):
    pool = tt.fashion_target(data, n_test=7)
    assert pool.num_classes == 5 and len(pool.x_pool) == 5 * 12 and len(pool.x_test) == 7
    assert set(np.unique(pool.y_pool)) == set(range(5))
    assert pool.x_pool.shape[1:] == (28, 28, 1) and pool.x_pool.dtype == np.float32


def test_regrouped_target_groups_unseen_source_images_and_holds_out_a_test_set(data):
    pool = tt.regrouped_target(data, test_per_class=1)
    assert pool.num_classes == len(tt.GROUPS) == 3
    assert len(pool.x_pool) + len(pool.x_test) == 5 * 4, "the test images of classes 0-4"
    assert len(pool.x_test) == 5
    # upper body holds three source classes, so three times the images of a one-class group
    assert np.bincount(pool.y_pool).tolist() == [9, 3, 3]
    assert np.bincount(pool.y_test).tolist() == [3, 1, 1]
    pixels = {x.tobytes() for x in (data.x_test[data.y_test <= 4].astype("float32") / 255)}
    assert all(x[..., 0].tobytes() in pixels for x in pool.x_pool)
    with pytest.raises(ValueError, match="one group only"):
        tt.regrouped_target(data, {"a": (0, 1), "b": (1,)})


def test_draw_gives_exactly_n_per_class_no_validation_and_seeds_change_the_images(pool):
    a, b, a2 = pool.draw(3, seed=1), pool.draw(3, seed=2), pool.draw(3, seed=1)
    assert np.bincount(a.y_train).tolist() == [3] * 5 and len(a.x_val) == 0
    assert np.array_equal(a.x_train, a2.x_train) and not np.array_equal(a.x_train, b.x_train)
    assert a.x_test is pool.x_test


def test_draw_out_of_range_says_the_largest_count_the_target_allows(pool):
    with pytest.raises(ValueError, match=r"per_class must be in 1\.\.12"):
        pool.draw(13, seed=0)
    with pytest.raises(ValueError, match="per_class must be in"):
        pool.draw(0, seed=0)


def test_digits_are_centred_20x20_in_28x28_in_unit_range_with_a_held_out_test_set():
    pool = tt.digits_target(test_per_class=5)
    assert pool.num_classes == 10 and len(pool.x_test) == 50
    assert len(pool.x_pool) + len(pool.x_test) == 1797
    assert pool.x_pool.shape[1:] == (28, 28, 1)
    assert 0.0 <= pool.x_pool.min() and pool.x_pool.max() <= 1.0
    border = (28 - tt.DIGIT_SIDE) // 2
    assert pool.x_pool[:, :border].max() == 0 and pool.x_pool[:, -border:].max() == 0
    assert pool.max_per_class() == 174 - 5  # the rarest digit has 174 images


def test_digit_canvas_keeps_a_constant_image_constant_and_rejects_other_shapes():
    canvas = tt.digit_canvas(np.full((2, 64), 16.0))
    border = (28 - tt.DIGIT_SIDE) // 2
    assert np.allclose(canvas[:, border:-border, border:-border], 1.0)
    with pytest.raises(ValueError, match=r"\(N, 8, 8\) or \(N, 64\)"):
        tt.digit_canvas(np.zeros((2, 28, 28)))


# ------------------------------------------------------------------ sweep ----------------------
def test_label_sweep_has_a_row_per_count_seed_and_method_and_a_summary_with_spread(
        pretrained, pool):
    runs = sw.label_sweep(pretrained, pool, TINY.labels_per_class, TINY.seeds, TINY)
    assert len(runs) == 2 * 2 * len(sw.SWEEP_METHODS)
    assert runs["accuracy"].between(0, 1).all() and (runs["seconds"] > 0).all()
    summary = sw.sweep_summary(runs)
    assert list(summary.index) == list(sw.SWEEP_METHODS)
    assert list(summary["mean"].columns) == [1, 3] and (summary["seeds"] == 2).all().all()
    one = runs[runs.method == "scratch"]
    assert summary.loc["scratch", ("mean", 1)] == pytest.approx(
        one[one.labels_per_class == 1]["accuracy"].mean())
    assert summary.loc["scratch", ("std", 1)] == pytest.approx(
        one[one.labels_per_class == 1]["accuracy"].std(ddof=1))
    gains = sw.gain_over_scratch(summary)
    assert list(gains.index) == [1, 3] and set(gains["best"]) <= set(sw.SWEEP_METHODS[1:])
    n = 3
    assert gains.loc[n, "gain_points"] == pytest.approx(
        100 * (gains.loc[n, "best_accuracy"] - summary.loc["scratch", ("mean", n)]))
    fig = sw.plot_sweep(runs)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "per class" in ax.get_xlabel()
    assert "%" in ax.get_ylabel() and ax.get_title() == pool.name
    plt.close(fig)


def test_sweep_cell_rejects_unknown_methods(pretrained, pool):
    with pytest.raises(ValueError, match="unknown methods"):
        sw.run_sweep_cell(pretrained, pool.draw(1, 0), 5, TINY, ("frozen",))


def test_linear_probe_is_scikit_learns_logistic_regression_on_the_features(pretrained, pool):
    splits = pool.draw(3, seed=5)
    acc = sw.run_sweep_cell(pretrained, splits, 5, TINY, ("linear probe",))["linear probe"]
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    f_train = sw.features_of(pretrained, splits.x_train)
    scaler = StandardScaler().fit(f_train)
    clf = LogisticRegression(max_iter=3000, random_state=TINY.seed).fit(
        scaler.transform(f_train), splits.y_train)
    f_test = scaler.transform(sw.features_of(pretrained, splits.x_test))
    assert acc == pytest.approx(clf.score(f_test, splits.y_test))


def test_keras_linear_head_to_convergence_matches_logistic_regression_on_separable_features():
    """Same objective, solved by gradient descent: on features a linear model separates, both
    reach the same training and test accuracy."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, (3, 6))
    y = np.repeat(np.arange(3), 40).astype("int32")
    f = (centres[y] + rng.normal(0, 1, (len(y), 6))).astype("float32")

    import tensorflow as tf

    eager = tf.config.functions_run_eagerly()  # a module fixture may have turned it on
    tf.config.run_functions_eagerly(False)
    try:
        head = sw._dense_head(3, 0, 6, f, l2=1.0 / (2 * len(f)))
        head.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
        head.fit(f, y, batch_size=len(f), epochs=300, verbose=0)
    finally:
        tf.config.run_functions_eagerly(eager)
    clf = sw.logistic_regression(f, y)
    assert sw._accuracy(head, f, y) == pytest.approx(clf.score(f, y), abs=0.02)


def test_head_recipes_reports_every_head_with_train_and_test_accuracy(pretrained, pool):
    table = sw.head_recipes(pretrained, pool.draw(3, seed=0), 5, TINY, converge_epochs=5)
    assert table["head"].tolist() == list(sw.HEADS)
    assert table[["train_accuracy", "test_accuracy"]].apply(lambda c: c.between(0, 1)).all().all()


def test_finetune_rates_start_from_one_head_and_the_higher_rate_moves_weights_further(
        pretrained, pool):
    before = [w.copy() for w in pretrained.get_weights()]
    table = sw.finetune_rates(pretrained, pool.draw(3, seed=0), 5, TINY, factors=(0.1, 1.0))
    assert table["factor"].tolist() == [0.0, 0.1, 1.0]
    change = table.set_index("factor")["weight_change"]
    assert change[0.0] == 0.0 and 0 < change[0.1] < change[1.0]
    assert all(np.array_equal(a, b) for a, b in zip(before, pretrained.get_weights(),
                                                    strict=True)), "pretrained is untouched"


# ------------------------------------------------------------------ ImageNet -------------------
def test_mobilenet_returns_none_with_one_stdout_line_when_weights_are_unavailable(
        monkeypatch, capsys):
    def offline(timeout, alpha, size):
        import sys
        print("noise from a failed download", file=sys.stderr)
        raise OSError("network is unreachable")

    monkeypatch.setattr(ip, "cached_weights", lambda alpha, size: None)
    monkeypatch.setattr(ip, "download_weights", offline)
    assert ip.try_mobilenet_v2(timeout=0.1) is None
    out, err = capsys.readouterr()
    assert err == ""
    assert len(out.strip().splitlines()) == 1
    assert "network is unreachable" in out and "~/.keras/models" in out
    assert ip.weights_file() in out


def test_mobilenet_uses_cached_weights_without_downloading(monkeypatch, capsys):
    sentinel = object()
    monkeypatch.setattr(ip, "cached_weights", lambda alpha, size: "/cache/weights.h5")
    monkeypatch.setattr(ip, "download_weights", lambda *a: pytest.fail("downloaded"))
    monkeypatch.setattr(keras.applications, "MobileNetV2",
                        lambda weights, **kw: sentinel if weights == "imagenet" else None)
    assert ip.try_mobilenet_v2() is sentinel
    assert capsys.readouterr() == ("", "")


def test_a_missing_weights_path_gives_none_and_names_the_path(capsys, tmp_path):
    assert ip.try_mobilenet_v2(weights_path=str(tmp_path / "absent.h5")) is None
    assert "absent.h5" in capsys.readouterr().out


def test_weights_present_branch_loads_the_file_and_probes_the_target(tmp_path, pool):
    """A small MobileNetV2 (alpha 0.35, 96x96) saved by the test stands in for ImageNet's."""
    keras.utils.set_random_seed(0)
    small = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None)
    path = tmp_path / "mobilenet_v2_small.weights.h5"
    small.save_weights(path)
    model = ip.try_mobilenet_v2(weights_path=str(path), alpha=0.35, size=96)
    assert model is not None and model.input_shape == (None, 96, 96, 3)
    assert np.allclose(model.get_layer("Conv1").get_weights()[0],
                       small.get_layer("Conv1").get_weights()[0])
    feats = ip.imagenet_features(model, pool.x_test[:5], batch_size=2)
    assert feats.shape == (5, 1280) and np.isfinite(feats).all()
    rows = ip.imagenet_probe(model, pool, (1,), (13,))
    assert isinstance(rows, pd.DataFrame) and rows["method"].tolist() == [ip.PROBE_METHOD]
    assert rows["accuracy"].between(0, 1).all()


def test_download_fails_fast_with_oserror_when_the_host_is_unreachable(monkeypatch):
    import socket
    import time

    def refuse(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    start = time.perf_counter()
    with pytest.raises(OSError, match="not reachable"):
        ip.download_weights(timeout=1.0)
    assert time.perf_counter() - start < 1.0


# ------------------------------------------------------------------ summaries ------------------
def _summary(scratch, best):
    rows = [{"target": "t", "labels_per_class": n, "seed": 0, "method": m, "accuracy": a}
            for n, s, b in zip((1, 10, 100), scratch, best, strict=True)
            for m, a in (("scratch", s), ("linear probe", b), ("fine-tune all", b - 0.05))]
    return sw.sweep_summary(pd.DataFrame(rows))


def test_crossing_is_where_scratch_catches_up_for_good():
    assert sw.crossing(_summary((0.5, 0.8, 0.95), (0.7, 0.85, 0.955))) == 100
    assert sw.crossing(_summary((0.5, 0.9, 0.95), (0.7, 0.85, 0.94))) == 10
    assert sw.crossing(_summary((0.5, 0.6, 0.7), (0.7, 0.85, 0.9))) is None
    assert sw.crossing(_summary((0.69, 0.6, 0.7), (0.7, 0.85, 0.9))) is None, "not for good"


def test_format_summary_writes_mean_and_spread():
    runs = pd.DataFrame([{"target": "t", "labels_per_class": 1, "seed": s, "method": "scratch",
                          "accuracy": a} for s, a in ((0, 0.5), (1, 0.7))])
    text = sw.format_summary(sw.sweep_summary(runs))
    assert text.loc["scratch", 1] == f"0.600 +- {np.std([0.5, 0.7], ddof=1):.3f}"
