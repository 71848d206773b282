"""Detection scenes made of real FashionMNIST items.

Each scene is a grey canvas (default 128 x 128) holding 1-4 FashionMNIST
items, each rescaled to a random size and pasted at a random position with
limited overlap, plus optional noise and clutter (small fragments of other
items that are *not* objects).  The ground-truth box of an item is the tight
box around its visible pixels, in the continuous ``(x1, y1, x2, y2)``
convention of :mod:`helpers.detection.boxes`.

Splits come from FashionMNIST's own split, so no test item is ever seen in
training: ``train`` uses training images 0-54,999, ``val`` 55,000-59,999 and
``test`` the 10,000 test images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from helpers.data import CLASS_NAMES, load_fashion_mnist

SPLITS = {
    "train": ("train", 0, 55_000),
    "val": ("train", 55_000, 60_000),
    "test": ("test", 0, 10_000),
}


@dataclass
class DetectionScenes:
    """A set of detection scenes.

    Attributes:
        images: (N, H, W, 1) float32 in [0, 1].
        boxes: N arrays of shape (k_i, 4), float32 corners in pixels.
        labels: N arrays of shape (k_i,), int64 FashionMNIST class ids 0-9.
        item_ids: N arrays of shape (k_i,), the index of each item in its FashionMNIST split.
        class_names: the 10 class names.
        split: ``"train"``, ``"val"`` or ``"test"``.
    """

    images: np.ndarray
    boxes: list[np.ndarray]
    labels: list[np.ndarray]
    item_ids: list[np.ndarray]
    class_names: tuple[str, ...]
    split: str

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: slice) -> DetectionScenes:
        if not isinstance(index, slice):
            raise TypeError("index DetectionScenes with a slice, e.g. scenes[:100]")
        return DetectionScenes(
            self.images[index], self.boxes[index], self.labels[index],
            self.item_ids[index], self.class_names, self.split,
        )

    def padded(self, max_objects: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes and labels as fixed-size arrays for batching.

        Returns:
            boxes (N, max_objects, 4) float32, labels (N, max_objects) int64 with
            -1 in empty slots, and counts (N,) int64.
        """
        n = len(self)
        boxes = np.zeros((n, max_objects, 4), np.float32)
        labels = np.full((n, max_objects), -1, np.int64)
        counts = np.array([len(b) for b in self.boxes], np.int64)
        if counts.size and counts.max() > max_objects:
            raise ValueError(f"a scene has {counts.max()} objects; pass max_objects >= that")
        for i, (b, y) in enumerate(zip(self.boxes, self.labels, strict=True)):
            boxes[i, : len(b)] = b
            labels[i, : len(y)] = y
        return boxes, labels, counts


def _pool(split: str, directory: str | None):
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    part, start, stop = SPLITS[split]
    data = load_fashion_mnist(directory)
    x, y = (data.x_train, data.y_train) if part == "train" else (data.x_test, data.y_test)
    return x[start:stop], y[start:stop], start


def _rescale(item: np.ndarray, size: int) -> np.ndarray:
    """(28, 28) uint8 -> (size, size) float32 in [0, 1], bilinear."""
    out = ndimage.zoom(item.astype(np.float32) / 255.0, size / item.shape[0], order=1)
    return np.clip(out, 0.0, 1.0)


def _tight_box(patch: np.ndarray, threshold: float) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(patch.max(axis=1) > threshold)
    cols = np.flatnonzero(patch.max(axis=0) > threshold)
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _overlap(box: np.ndarray, others: list[np.ndarray]) -> float:
    if not others:
        return 0.0
    o = np.asarray(others, np.float64)
    lt = np.maximum(o[:, :2], box[:2])
    rb = np.minimum(o[:, 2:], box[2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(o[:, 2:] - o[:, :2], axis=1)
    # fraction of the smaller box that is covered: stricter than IoU for small items
    return float(np.max(inter / np.minimum(area, areas)))


def make_scenes(
    n: int,
    split: str = "train",
    canvas: int = 128,
    objects: tuple[int, int] = (1, 4),
    item_size: tuple[int, int] = (28, 56),
    max_overlap: float = 0.15,
    noise: float = 0.05,
    clutter: int = 2,
    seed: int = 0,
    directory: str | None = None,
) -> DetectionScenes:
    """Generate ``n`` seeded detection scenes from one FashionMNIST split.

    Args:
        n: number of scenes.
        split: ``"train"``, ``"val"`` or ``"test"`` (see the module docstring).
        canvas: side of the square canvas in pixels.
        objects: (min, max) items per scene, inclusive.
        item_size: (min, max) side in pixels of a rescaled 28 x 28 item.
        max_overlap: largest fraction of an item's box another item's box may cover.
        noise: standard deviation of additive Gaussian noise (0 for none).
        clutter: at most this many 6-10 px fragments of other items per scene.
        seed: random seed; the same arguments give the same scenes.
        directory: FashionMNIST directory (see :func:`helpers.data.load_fashion_mnist`).

    Returns:
        :class:`DetectionScenes`.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    lo, hi = objects
    if not 1 <= lo <= hi:
        raise ValueError(f"objects must be (min, max) with 1 <= min <= max, got {objects}")
    if not 8 <= item_size[0] <= item_size[1] <= canvas:
        raise ValueError(
            f"item_size must satisfy 8 <= min <= max <= canvas={canvas}, got {item_size}"
        )
    x, y, offset = _pool(split, directory)
    rng = np.random.default_rng(seed)
    images = np.zeros((n, canvas, canvas, 1), np.float32)
    all_boxes, all_labels, all_ids = [], [], []
    for i in range(n):
        img = images[i, :, :, 0]
        boxes: list[np.ndarray] = []
        labels, ids = [], []
        for _ in range(rng.integers(lo, hi + 1)):
            for _attempt in range(30):
                idx = int(rng.integers(len(x)))
                size = int(rng.integers(item_size[0], item_size[1] + 1))
                patch = _rescale(x[idx], size)
                tight = _tight_box(patch, 0.1)
                if tight is None:
                    continue
                top, left = rng.integers(0, canvas - size + 1, size=2)
                box = np.array([left + tight[0], top + tight[1], left + tight[2], top + tight[3]],
                               np.float32)
                if _overlap(box, boxes) > max_overlap:
                    continue
                region = img[top : top + size, left : left + size]
                np.maximum(region, patch, out=region)
                boxes.append(box)
                labels.append(int(y[idx]))
                ids.append(offset + idx)
                break
        for _ in range(rng.integers(0, clutter + 1)):
            frag = int(rng.integers(6, 11))
            src = _rescale(x[int(rng.integers(len(x)))], 28)
            r, c = rng.integers(0, 28 - frag, size=2)
            top, left = rng.integers(0, canvas - frag, size=2)
            region = img[top : top + frag, left : left + frag]
            np.maximum(region, src[r : r + frag, c : c + frag], out=region)
        all_boxes.append(np.array(boxes, np.float32).reshape(-1, 4))
        all_labels.append(np.array(labels, np.int64))
        all_ids.append(np.array(ids, np.int64))
    if noise > 0:
        images += rng.normal(0.0, noise, images.shape).astype(np.float32)
        np.clip(images, 0.0, 1.0, out=images)
    return DetectionScenes(images, all_boxes, all_labels, all_ids, tuple(CLASS_NAMES), split)


def single_object_scenes(n: int, split: str = "train", seed: int = 0, **kwargs) -> DetectionScenes:
    """Localisation scenes: exactly one item per canvas (class + one box).

    Args:
        n: number of scenes.
        split: ``"train"``, ``"val"`` or ``"test"``.
        seed: random seed.
        **kwargs: other arguments of :func:`make_scenes` (``canvas``, ``item_size``, ...).

    Returns:
        :class:`DetectionScenes` with one box and one label per scene.

    Raises:
        ValueError: as :func:`make_scenes`.
    """
    return make_scenes(n, split, objects=(1, 1), seed=seed, **kwargs)
