"""Detection scenes built from real FashionMNIST items."""

import numpy as np
import pytest

from helpers.detection.boxes import iou_matrix
from helpers.detection.scenes import SPLITS, make_scenes, single_object_scenes


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(40, "train", seed=7)


def test_same_seed_gives_identical_scenes(scenes):
    again = make_scenes(40, "train", seed=7)
    np.testing.assert_array_equal(scenes.images, again.images)
    for a, b in zip(scenes.boxes, again.boxes, strict=True):
        np.testing.assert_array_equal(a, b)


def test_images_are_float_canvases_in_unit_range(scenes):
    assert scenes.images.shape == (40, 128, 128, 1)
    assert scenes.images.dtype == np.float32
    assert 0.0 <= scenes.images.min() and scenes.images.max() <= 1.0


def test_boxes_lie_inside_the_canvas_and_counts_are_in_range(scenes):
    for boxes, labels in zip(scenes.boxes, scenes.labels, strict=True):
        assert 1 <= len(boxes) <= 4 and len(boxes) == len(labels)
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2:] <= 128)
        assert np.all(boxes[:, 2:] > boxes[:, :2])
        assert set(labels.tolist()) <= set(range(10))


def test_objects_overlap_little(scenes):
    for boxes in scenes.boxes:
        ious = iou_matrix(boxes, boxes)
        np.fill_diagonal(ious, 0)
        assert ious.max() < 0.2


def test_box_is_tight_around_the_item_pixels():
    one = make_scenes(5, "train", objects=(1, 1), noise=0.0, clutter=0, seed=3)
    for img, (box,) in zip(one.images[..., 0], one.boxes, strict=True):
        x1, y1, x2, y2 = box.astype(int)
        assert img[y1:y2, x1:x2].max() > 0.1
        outside = img.copy()
        outside[y1:y2, x1:x2] = 0
        assert outside.max() <= 0.1


def test_splits_draw_from_disjoint_fashion_mnist_items():
    test = make_scenes(30, "test", seed=1)
    val = make_scenes(30, "val", seed=1)
    train = make_scenes(30, "train", seed=1)
    assert all(ids.max() < SPLITS["train"][2] for ids in train.item_ids)
    assert all(ids.min() >= SPLITS["val"][1] for ids in val.item_ids)
    assert all(ids.max() < 10_000 for ids in test.item_ids)


def test_padded_arrays_mark_empty_slots():
    s = make_scenes(6, "val", seed=2)
    boxes, labels, counts = s.padded(4)
    assert boxes.shape == (6, 4, 4) and labels.shape == (6, 4)
    for i, k in enumerate(counts):
        assert np.all(labels[i, k:] == -1) and np.all(labels[i, :k] >= 0)
    with pytest.raises(ValueError, match="max_objects"):
        make_scenes(6, "val", objects=(3, 3), seed=2).padded(2)


def test_single_object_scenes_hold_one_item_each():
    s = single_object_scenes(8, "test", seed=0, canvas=64)
    assert s.images.shape == (8, 64, 64, 1)
    assert [len(b) for b in s.boxes] == [1] * 8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be"),
        ({"n": 2, "split": "dev"}, "split must be"),
        ({"n": 2, "objects": (3, 1)}, "objects must be"),
        ({"n": 2, "item_size": (28, 200)}, "item_size"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_scenes(**kwargs)
