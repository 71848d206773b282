"""Lecture 09's target tasks, as pools to draw ``n`` labelled images per class from.

* **regrouped** (:func:`regrouped_target`): the source's own five classes grouped by the part
  of the body a garment covers (upper body, whole body, legs), on FashionMNIST test images the
  source network was never trained on: new labels for the source's kind of image, as "dogs
  against cats" is a grouping of ImageNet's classes.
* **new classes** (:func:`fashion_target`): FashionMNIST classes 5-9 (Sandal, Shirt, Sneaker, Bag,
  Ankle boot) relabelled 0-4: the source's domain (28x28 grey photos of clothing on black),
  classes the source network never saw.
* **new domain** (:func:`digits_target`): scikit-learn's bundled handwritten digits (1,797
  images of 8x8 pixels, 10 classes), upsampled to 20x20 and centred on a 28x28 canvas the way
  MNIST centres its digits: strokes, not garments.

Both are offline.  Images are float32 ``(N, 28, 28, 1)`` in ``[0, 1]``, labels int32 ``(N,)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits

from helpers.data import FashionMNIST, Splits
from helpers.lectures.transfer import TARGET_CLASSES, select_classes

#: The regrouped target's classes: group name -> source classes (0 T-shirt/top, 1 Trouser,
#: 2 Pullover, 3 Dress, 4 Coat).
GROUPS: dict[str, tuple[int, ...]] = {"upper body": (0, 2, 4), "whole body": (3,), "legs": (1,)}
#: Side of the upsampled digit inside the 28x28 canvas (MNIST: 20x20 in 28x28).
DIGIT_SIDE = 20


@dataclass(frozen=True)
class TargetPool:
    """A target task: a pool of labelled training images and a fixed test set.

    Attributes:
        name: what the lecture calls the target.
        x_pool: float32 ``(N, 28, 28, 1)`` images labels can be drawn from.
        y_pool: int32 ``(N,)`` labels ``0..num_classes-1``.
        x_test: float32 ``(M, 28, 28, 1)`` test images (never drawn from).
        y_test: int32 ``(M,)`` test labels.
    """

    name: str
    x_pool: np.ndarray
    y_pool: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def num_classes(self) -> int:
        """Number of classes (labels run ``0..num_classes-1``)."""
        return int(self.y_pool.max()) + 1

    def max_per_class(self) -> int:
        """The most labels per class :meth:`draw` can give (the rarest class's pool size)."""
        return int(np.bincount(self.y_pool, minlength=self.num_classes).min())

    def draw(self, per_class: int, seed: int) -> Splits:
        """``per_class`` labelled training images of every class, drawn with ``seed``.

        Args:
            per_class: images per class, ``1 <= per_class <= max_per_class()``.
            seed: seed of the draw (other seeds give other images).

        Returns:
            :class:`~helpers.data.Splits` with the drawn training images (rows shuffled),
            an empty validation set (with one label per class there is none to spare) and
            the pool's test set.

        Raises:
            ValueError: if ``per_class`` is out of range.
        """
        most = self.max_per_class()
        if not 1 <= per_class <= most:
            raise ValueError(f"per_class must be in 1..{most} for the {self.name} target "
                             f"(its rarest class has {most} images), got {per_class}")
        x, y, _, _ = select_classes(self.x_pool, self.y_pool, tuple(range(self.num_classes)),
                                    per_class, 0, seed)
        empty = np.zeros((0, *x.shape[1:]), "float32")
        return Splits(x, y, empty, np.zeros(0, "int32"), self.x_test, self.y_test)


def fashion_target(data: FashionMNIST, n_test: int | None = None, seed: int = 13
                   ) -> TargetPool:
    """The new-classes target: FashionMNIST classes 5-9 relabelled 0-4.

    Args:
        data: the loaded FashionMNIST.
        n_test: keep only this many test images (shuffled with ``seed``); None: all 5,000.
        seed: seed of the test shuffle.

    Returns:
        A :class:`TargetPool` whose pool is every training image of classes 5-9 (30,000).
    """
    x_pool, y_pool, _, _ = select_classes(data.x_train, data.y_train, TARGET_CLASSES, None, 0,
                                          seed)
    x_test, y_test, _, _ = select_classes(data.x_test, data.y_test, TARGET_CLASSES, None, 0,
                                          seed)
    if n_test is not None:
        x_test, y_test = x_test[:n_test], y_test[:n_test]
    return TargetPool("new classes: FashionMNIST 5-9", x_pool, y_pool, x_test, y_test)


def regrouped_target(data: FashionMNIST, groups: dict[str, tuple[int, ...]] | None = None,
                     test_per_class: int = 200, n_test: int | None = None, seed: int = 13
                     ) -> TargetPool:
    """The regrouped target: source classes relabelled by group, on unseen images.

    The images are FashionMNIST's *test* images of the grouped classes (the source network
    trains on the training images only); ``test_per_class`` of every original class are held
    out as the target's test set, the rest are the pool.

    Args:
        data: the loaded FashionMNIST.
        groups: group name -> original classes (default :data:`GROUPS`); group ``i`` is
            label ``i``.
        test_per_class: held-out test images per original class.
        n_test: keep only this many test images (already shuffled); None: all.
        seed: seed of the split.

    Returns:
        A :class:`TargetPool` with ``len(groups)`` classes.

    Raises:
        ValueError: if a class is in two groups.
    """
    groups = GROUPS if groups is None else groups
    classes = tuple(c for members in groups.values() for c in members)
    if len(set(classes)) != len(classes):
        raise ValueError(f"every class may be in one group only, got {groups}")
    group_of = {c: g for g, members in enumerate(groups.values()) for c in members}
    x_pool, y_pool, x_test, y_test = select_classes(data.x_test, data.y_test, classes, None,
                                                    test_per_class, seed)
    regroup = np.array([group_of[c] for c in classes], dtype="int32")
    if n_test is not None:
        x_test, y_test = x_test[:n_test], y_test[:n_test]
    return TargetPool("regrouped: source classes by body part", x_pool, regroup[y_pool],
                      x_test, regroup[y_test])


def digit_canvas(images: np.ndarray) -> np.ndarray:
    """scikit-learn's 8x8 digits (values 0-16) as 28x28 images in ``[0, 1]``.

    Each digit is upsampled to ``DIGIT_SIDE`` x ``DIGIT_SIDE`` by bilinear interpolation and
    centred on a black 28x28 canvas.

    Args:
        images: ``(N, 8, 8)`` or ``(N, 64)`` array of grey levels 0-16.

    Returns:
        float32 ``(N, 28, 28, 1)`` in ``[0, 1]``.

    Raises:
        ValueError: if ``images`` is not ``(N, 8, 8)`` or ``(N, 64)``.
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim == 2 and images.shape[1] == 64:
        images = images.reshape(-1, 8, 8)
    if images.ndim != 3 or images.shape[1:] != (8, 8):
        raise ValueError(f"expected 8x8 digits as (N, 8, 8) or (N, 64), got {images.shape}")
    big = ndimage.zoom(images / 16.0, (1, DIGIT_SIDE / 8, DIGIT_SIDE / 8), order=1)
    canvas = np.zeros((len(images), 28, 28, 1), "float32")
    border = (28 - DIGIT_SIDE) // 2
    canvas[:, border:border + DIGIT_SIDE, border:border + DIGIT_SIDE, 0] = np.clip(big, 0, 1)
    return canvas


def digits_target(test_per_class: int = 50, seed: int = 13) -> TargetPool:
    """The new-domain target: scikit-learn's handwritten digits on a 28x28 canvas.

    Args:
        test_per_class: test images per class, held out of the pool (seeded).
        seed: seed of the split.

    Returns:
        A :class:`TargetPool` with 10 classes; the pool holds the other 1,797 - 10 x
        ``test_per_class`` images (124 of the rarest class with the default).
    """
    digits = load_digits()
    # every class: test_per_class images held out (the "validation" part), the rest pooled
    x_pool, y_pool, x_test, y_test = select_classes(
        digit_canvas(digits.images), digits.target, tuple(range(10)), None, test_per_class,
        seed)
    return TargetPool("new domain: digits", x_pool, y_pool, x_test, y_test)
