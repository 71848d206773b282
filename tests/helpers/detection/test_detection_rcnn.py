"""Tests of helpers.detection.rcnn: warping, SVM mining, box regression, a tiny end-to-end run."""


import numpy as np
import pytest

from helpers.detection import rcnn, rcnn_heads
from helpers.detection.boxes import decode_boxes
from helpers.detection.scenes import make_scenes
from helpers.detection.selective_search import selective_search_batch

FAST_SEARCH = {"scales": (100,), "similarities": ("colour", "texture", "size", "fill")}


def test_warp_shapes():
    img = np.random.default_rng(0).random((40, 50)).astype(np.float32)
    boxes = [[0, 0, 10, 20], [5, 5, 45, 38], [30, 2, 50, 40]]
    assert rcnn.warp_regions(img, boxes, 32).shape == (3, 32, 32, 1)
    assert rcnn.warp_regions(img[..., None], boxes, 24, padding=0).shape == (3, 24, 24, 1)
    assert rcnn.warp_regions(np.stack([img] * 3, -1), boxes, 16).shape == (3, 16, 16, 3)
    assert rcnn.warp_regions(img, np.zeros((0, 4)), 32).shape == (0, 32, 32, 1)


def test_warp_copies_the_right_pixels():
    img = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
    # a 28 px box warped to 32 with 2 px of context: scale 1, the crop itself
    out = rcnn.warp_regions(img, [[10, 12, 38, 40]], size=32, padding=2)[0, ..., 0]
    np.testing.assert_allclose(out, img[10:42, 8:40])
    # without context the box fills the output; half-size box -> 2x upsampling
    out = rcnn.warp_regions(img, [[10, 12, 38, 40]], size=28, padding=0)[0, ..., 0]
    np.testing.assert_allclose(out, img[12:40, 10:38])
    # 14 px box -> 28 px: samples at array coordinates 19.75 + 0.5 k; bilinear is exact
    # on this image, which is linear in x and y (value = 64 y + x)
    up = rcnn.warp_regions(img, [[20, 20, 34, 34]], size=28, padding=0)[0, ..., 0]
    coord = 19.75 + 0.5 * np.arange(28)
    np.testing.assert_allclose(up, 64 * coord[:, None] + coord[None, :], rtol=1e-6)
    # a box at the corner: context outside the image is the fill value
    edge = rcnn.warp_regions(img + 1, [[0, 0, 28, 28]], size=32, padding=2, fill_value=-1)[0]
    edge = edge[..., 0]
    assert np.all(edge[:2] == -1) and np.all(edge[:, :2] == -1)
    np.testing.assert_allclose(edge[2:, 2:], img[:30, :30] + 1)


def test_warp_rejects_bad_input():
    with pytest.raises(ValueError, match="positive width"):
        rcnn.warp_regions(np.zeros((10, 10)), [[2, 2, 2, 5]])
    with pytest.raises(ValueError, match="padding"):
        rcnn.warp_regions(np.zeros((10, 10)), [[2, 2, 5, 5]], size=8, padding=4)


def _toy_svm_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    pos = rng.normal(0, 0.3, (40, 5)) + [2, 0, 0, 0, 0]
    easy = rng.normal(0, 0.3, (900, 5)) + [-4, 0, 0, 0, 0]
    hard = rng.normal(0, 0.3, (100, 5)) + [0.5, 0, 0, 0, 0]
    return pos, np.concatenate([easy, hard])


def test_hard_negative_mining_adds_negatives_keeps_positives():
    pos, neg = _toy_svm_data()
    svm, cache, hist = rcnn_heads.train_svm_hard_negatives(pos, neg, rounds=4, initial_negatives=50,
                                                     C=1.0, seed=0)
    assert hist[0]["negatives"] == 50 and hist[0]["added"] > 0
    assert all(h["positives"] == len(pos) for h in hist)
    sizes = [h["negatives"] for h in hist]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    assert len(cache) == len(np.unique(cache)) == sizes[-1]
    # rounds=1 gives the initial cache: everything added later is a hard (margin) negative
    _, initial, _ = rcnn_heads.train_svm_hard_negatives(pos, neg, rounds=1, initial_negatives=50,
                                                  C=1.0, seed=0)
    assert np.all(np.isin(initial, cache))
    added = np.setdiff1d(cache, initial)
    assert len(added) == hist[0]["added"] and np.mean(added >= 900) > 0.9
    assert (svm.decision_function(pos) > 0).mean() > 0.9
    assert (svm.decision_function(neg) < 0).mean() > 0.9
    _, cache2, hist2 = rcnn_heads.train_svm_hard_negatives(pos, neg, rounds=4, initial_negatives=50,
                                                     C=1.0, seed=0)
    np.testing.assert_array_equal(cache, cache2)
    assert hist == hist2
    with pytest.raises(ValueError, match="positives"):
        rcnn_heads.train_svm_hard_negatives(pos[:0], neg)


def test_ridge_recovers_a_known_shift():
    rng = np.random.default_rng(1)
    n, d = 400, 6
    feats = rng.normal(size=(n, d))
    xy = rng.uniform(0, 80, (n, 2))
    props = np.concatenate([xy, xy + rng.uniform(10, 40, (n, 2))], axis=1)
    w_true = np.zeros((d, 4))
    w_true[0, 0], w_true[1, 3] = 0.1, -0.2
    shift = np.array([0.05, -0.1, np.log(1.2), 0.0])
    gts = decode_boxes(props, feats @ w_true + shift)
    w, b = rcnn_heads.fit_box_regressor(feats, props, gts, alpha=1e-3)
    np.testing.assert_allclose(w, w_true, atol=1e-3)
    np.testing.assert_allclose(b, shift, atol=1e-3)
    np.testing.assert_allclose(decode_boxes(props, feats @ w + b), gts, atol=1e-2)


@pytest.fixture(scope="module")
def tiny():
    train = make_scenes(50, "train", seed=0)
    test = make_scenes(4, "test", seed=1)
    p_train = selective_search_batch(train.images, max_proposals=60, **FAST_SEARCH)
    p_test, seconds = rcnn.timed_proposals(test.images, max_proposals=60, **FAST_SEARCH)
    bundle = rcnn.train_rcnn(train, p_train, epochs=1, width=8, fg_per_scene=8, seed=0)
    return bundle, test, p_test, seconds


def test_tiny_end_to_end(tiny):
    bundle, test, proposals, proposal_seconds = tiny
    assert proposal_seconds > 0
    assert {"pretrain", "finetune", "features", "svm", "bbox_regression", "total"} <= set(
        bundle.timings)
    assert bundle.counts["finetune_foreground"] > 0
    assert bundle.counts["finetune_windows"] >= 3 * bundle.counts["finetune_foreground"]
    assert bundle.svm_weights.shape == (10, 128) and bundle.reg_weights.shape == (10, 128, 4)
    assert bundle.model.output_shape == (None, 11)
    for image, props in zip(test.images, proposals, strict=True):
        boxes, scores, labels = rcnn.rcnn_detect(bundle, image, props, max_detections=20)
        assert boxes.shape == (len(scores), 4) and labels.shape == scores.shape
        assert 0 < len(scores) <= 20
        assert np.all(np.isfinite(boxes)) and np.all(np.isfinite(scores))
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2:] <= 128)
        assert np.all(boxes[:, 2:] > boxes[:, :2])
        assert np.all(np.diff(scores) <= 0)
        assert labels.dtype.kind == "i" and np.all((labels >= 0) & (labels < 10))
    ev = rcnn.evaluate_rcnn(bundle, test, proposals)
    assert 0 <= ev.mean_ap <= 1 and ev.seconds_per_image > 0 and len(ev.detections) == 4
    soft = rcnn.rcnn_detect(bundle, test.images[0], proposals[0], scoring="softmax")
    assert np.all((soft[1] >= 0) & (soft[1] <= 1))
    empty = rcnn.rcnn_detect(bundle, test.images[0], np.zeros((0, 4)))
    assert empty[0].shape == (0, 4)


def test_train_rejects_bad_input(tiny):
    _, test, proposals, _ = tiny
    with pytest.raises(ValueError, match="one proposal array per scene"):
        rcnn.train_rcnn(test, proposals[:2])
    with pytest.raises(ValueError, match="scoring"):
        rcnn.rcnn_detect(tiny[0], test.images[0], proposals[0], scoring="vote")
