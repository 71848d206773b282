"""Tests of helpers.detection.selective_search: grouping, proposals, recall, plot."""


import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.detection import evaluation, plots  # noqa: E402
from helpers.detection import selective_search as ss  # noqa: E402
from helpers.detection.boxes import iou_matrix  # noqa: E402
from helpers.detection.scenes import make_scenes  # noqa: E402


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(4, "test", seed=7)


def _two_rectangles() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(0.05, 0.02, (64, 80)), 0, 1)
    gt = np.array([[6, 8, 26, 30], [44, 30, 72, 56]], float)
    for x1, y1, x2, y2 in gt.astype(int):
        img[y1:y2, x1:x2] = 0.9
    return img.astype(np.float32), gt


def test_hierarchy_ends_in_whole_image(scenes):
    img = scenes.images[0]
    h = ss.hierarchical_grouping(img, scale=100)
    assert h.n_initial >= 2
    assert len(h.boxes) == 2 * h.n_initial - 1 == len(h.sizes)
    assert h.merges.shape == (h.n_initial - 1, 2)
    np.testing.assert_array_equal(h.boxes[-1], [0, 0, 128, 128])
    assert h.sizes[-1] == 128 * 128
    # each merge uses two earlier regions, each region is merged at most once
    ids = np.arange(h.n_initial, len(h.boxes))
    assert np.all(h.merges < ids[:, None])
    assert len(np.unique(h.merges)) == h.merges.size
    np.testing.assert_array_equal(h.sizes[ids], h.sizes[h.merges].sum(axis=1))
    # initial boxes are the tight boxes of the Felzenszwalb segments
    rows, cols = np.nonzero(h.segments == 0)
    tight = [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]
    np.testing.assert_array_equal(h.boxes[0], tight)


@pytest.mark.parametrize("sims", [("colour",), ("texture",), ("size",), ("fill",),
                                  ("colour", "texture", "size", "fill")])
def test_every_similarity_runs(sims):
    img, _ = _two_rectangles()
    h = ss.hierarchical_grouping(img, scale=50, similarities=sims)
    assert h.sizes[-1] == img.size


def test_proposals_valid_and_inside(scenes):
    for img in scenes.images:
        p = ss.selective_search(img, min_box_size=4)
        assert p.ndim == 2 and p.shape[1] == 4 and len(p) > 10
        assert np.all(p[:, :2] >= 0) and np.all(p[:, 2] <= 128) and np.all(p[:, 3] <= 128)
        assert np.all(p[:, 2:] - p[:, :2] >= 4)
        assert len(np.unique(p, axis=0)) == len(p)


def test_deterministic_with_seed(scenes):
    img = scenes.images[1]
    a, b = ss.selective_search(img, seed=3), ss.selective_search(img, seed=3)
    np.testing.assert_array_equal(a, b)
    c = ss.selective_search(img, seed=4)
    assert not np.array_equal(a, c)  # another ranking ...
    assert {tuple(r) for r in a} == {tuple(r) for r in c}  # ... of the same boxes


def test_two_rectangles_are_proposed():
    img, gt = _two_rectangles()
    for sims in (ss.DEFAULT_STRATEGIES, ("colour", "size")):
        p = ss.selective_search(img, similarities=sims)
        assert np.all(iou_matrix(p, gt).max(axis=0) >= 0.7)


def test_recall_hand_case():
    proposals = [np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([[0, 0, 10, 11]])]
    gts = [np.array([[20, 20, 30, 30]]), np.array([[0, 0, 10, 10], [50, 50, 60, 60]])]
    r = evaluation.proposal_recall(proposals, gts, counts=(1, 2, 5))
    assert r == pytest.approx({1: 1 / 3, 2: 2 / 3, 5: 2 / 3})
    # IoU 10/11 covers at 0.5 but not at 0.95
    strict = evaluation.proposal_recall(proposals, gts, counts=(5,), iou_threshold=0.95)
    assert strict[5] == pytest.approx(1 / 3)
    empty = [np.zeros((0, 4))]
    assert evaluation.proposal_recall(empty, empty, counts=(1,)) == {1: 0.0}


def test_recall_on_scenes_is_high(scenes):
    props = ss.selective_search_batch(scenes.images, max_proposals=100)
    assert all(len(p) <= 100 for p in props)
    assert evaluation.proposal_recall(props, scenes.boxes, counts=(100,))[100] >= 0.9


def test_plot_has_labels():
    ax = plots.plot_recall_vs_proposals({"a": {1: 0.1, 10: 0.5}, "b": {1: 0.2, 10: 0.9}})
    assert "proposals" in ax.get_xlabel() and "recall" in ax.get_ylabel()
    assert len(ax.lines) == 2
    plt.close(ax.figure)


def test_bad_input():
    img, _ = _two_rectangles()
    with pytest.raises(ValueError, match="similarities"):
        ss.selective_search(img, similarities=("colour", "shape"))
    with pytest.raises(ValueError, match="image"):
        ss.selective_search(np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ss.selective_search(img * 255)
    with pytest.raises(ValueError, match="scale"):
        ss.selective_search(img, scales=(0,))
    with pytest.raises(ValueError, match="one proposal array per image"):
        evaluation.proposal_recall([np.zeros((0, 4))], [])
