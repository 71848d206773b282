"""Selective search (Uijlings et al., IJCV 2013): class-independent region proposals.

The hierarchical grouping of the paper's Algorithm 1:

1. initial regions from Felzenszwalb & Huttenlocher's graph segmentation
   (:func:`skimage.segmentation.felzenszwalb`, parameters ``scale`` = k,
   ``sigma``, ``min_size``);
2. the similarity of every pair of touching regions (4-connectivity);
3. repeatedly merge the most similar neighbouring pair into a new region,
   drop the two old regions' similarities and compute the new region's
   similarities to its neighbours, until one region (the whole image) is left;
4. the bounding boxes of all regions, initial and merged.

Similarities, each in [0, 1], are summed over the chosen subset:

* ``colour``: histogram intersection of per-channel colour histograms, 25
  bins per channel, L1-normalised (a grey image has one intensity channel).
* ``texture``: histogram intersection of Gaussian-derivative histograms.
  Variant used here (documented simplification, close to OpenCV's): per
  channel, the directional derivative ``cos(t) d/dx + sin(t) d/dy`` of the
  image smoothed with sigma = 1 for 8 directions ``t = 0, 45, ..., 315``
  degrees, half-wave rectified (so opposite directions differ), scaled by
  its maximum over the image, 10 bins per direction, L1-normalised.
* ``size``: ``1 - (size_i + size_j) / size(image)`` (small regions merge first).
* ``fill``: ``1 - (size(BB_ij) - size_i - size_j) / size(image)`` with
  ``BB_ij`` the box around both regions (regions that fit into each other
  merge first).

Histograms of a merged region are the size-weighted means of its parts, as
in the paper, so nothing is recomputed from pixels while merging.

Diversification: one hierarchy per (Felzenszwalb scale, similarity
combination).  Boxes are ranked as in the paper: within a hierarchy the
region created last (the whole image) has position 1, the one before it 2,
and so on; each box gets the value ``position * U(0, 1)`` (seeded) and all
boxes of all hierarchies are sorted by that value, lowest first.  Lower-
ranked duplicates are removed afterwards, so a box found by several
strategies has a better chance of a high rank.  Taking the first N boxes
gives the N-proposal set.

Boxes use the course convention ``(x1, y1, x2, y2)`` in continuous pixel
coordinates (:mod:`helpers.detection.boxes`).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.segmentation import felzenszwalb

SIMILARITIES = ("colour", "texture", "size", "fill")
DEFAULT_STRATEGIES = (("colour", "texture", "size", "fill"), ("texture", "size", "fill"))
COLOUR_BINS, TEXTURE_BINS, TEXTURE_DIRECTIONS = 25, 10, 8


@dataclass
class Hierarchy:
    """One run of hierarchical grouping.

    Attributes:
        segments: (H, W) int initial region label of every pixel (0 .. n_initial - 1).
        boxes: (R, 4) float box of every region in creation order: the
            ``n_initial`` initial regions, then one per merge.
        sizes: (R,) int pixel count of every region.
        merges: (R - n_initial, 2) int ids of the two regions merged into
            region ``n_initial + m``.
        n_initial: number of initial regions.
    """

    segments: np.ndarray
    boxes: np.ndarray
    sizes: np.ndarray
    merges: np.ndarray
    n_initial: int


def _as_image(image: np.ndarray) -> np.ndarray:
    """Any (H, W), (H, W, C) grey/colour image -> (H, W, C) float64 in [0, 1]."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[0] < 2 or img.shape[1] < 2 or img.shape[2] not in (1, 3):
        raise ValueError(
            f"image must be (H, W), (H, W, 1) or (H, W, 3) with H, W >= 2, got shape {img.shape}"
        )
    if img.dtype == np.uint8:
        return img.astype(np.float64) / 255.0
    img = img.astype(np.float64)
    if not np.all(np.isfinite(img)):
        raise ValueError("image contains NaN or infinite values")
    if img.min() < 0 or img.max() > 1:
        raise ValueError("a float image must have values in [0, 1]; pass uint8 for 0-255 images")
    return img


def _region_histograms(labels: np.ndarray, values: np.ndarray, bins: int, n: int) -> np.ndarray:
    """L1-normalised per-region histograms of ``values`` (H, W, F) in [0, 1] -> (n, F * bins)."""
    f = values.shape[-1]
    b = np.minimum((values * bins).astype(np.int64), bins - 1)  # (H, W, F)
    index = (labels[..., None] * f + np.arange(f)) * bins + b
    hist = np.bincount(index.ravel(), minlength=n * f * bins).astype(np.float64)
    hist = hist.reshape(n, f * bins)
    return hist / np.maximum(hist.sum(axis=1, keepdims=True), 1e-12)


def _texture_values(img: np.ndarray) -> np.ndarray:
    """(H, W, C) -> (H, W, C * 8) rectified directional Gaussian derivatives in [0, 1]."""
    out = []
    angles = np.arange(TEXTURE_DIRECTIONS) * 2 * np.pi / TEXTURE_DIRECTIONS
    for c in range(img.shape[2]):
        gy = ndimage.gaussian_filter(img[..., c], 1.0, order=(1, 0))
        gx = ndimage.gaussian_filter(img[..., c], 1.0, order=(0, 1))
        resp = np.maximum(np.cos(angles) * gx[..., None] + np.sin(angles) * gy[..., None], 0)
        out.append(resp / np.maximum(resp.max(axis=(0, 1)), 1e-12))
    return np.concatenate(out, axis=-1)


def _adjacent_pairs(labels: np.ndarray) -> np.ndarray:
    """(P, 2) unique pairs ``i < j`` of 4-connected touching regions."""
    pairs = [
        np.stack([labels[:, :-1].ravel(), labels[:, 1:].ravel()], axis=1),
        np.stack([labels[:-1].ravel(), labels[1:].ravel()], axis=1),
    ]
    p = np.concatenate(pairs)
    p = np.sort(p[p[:, 0] != p[:, 1]], axis=1)
    n = int(labels.max()) + 1
    code = np.unique(p[:, 0] * n + p[:, 1])
    return np.stack([code // n, code % n], axis=1)


def _check_similarities(similarities: Sequence[str]) -> tuple[str, ...]:
    sims = tuple(similarities)
    unknown = [s for s in sims if s not in SIMILARITIES]
    if not sims or unknown or len(set(sims)) != len(sims):
        raise ValueError(
            f"similarities must be a non-empty subset of {SIMILARITIES} without repeats, "
            f"got {similarities!r}"
        )
    return sims


@dataclass
class _Initial:
    """Per-segmentation data shared by all similarity combinations."""

    labels: np.ndarray  # (H, W) int64
    boxes: np.ndarray  # (n, 4)
    sizes: np.ndarray  # (n,)
    colour: np.ndarray  # (n, C * 25)
    texture: np.ndarray  # (n, C * 80)
    pairs: np.ndarray  # (P, 2)


def _segment(img: np.ndarray, scale: float, sigma: float, min_size: int) -> np.ndarray:
    if scale <= 0 or sigma < 0 or min_size < 1:
        raise ValueError(
            f"need scale > 0, sigma >= 0, min_size >= 1; got {scale}, {sigma}, {min_size}"
        )
    if img.shape[2] == 1:
        return felzenszwalb(img[..., 0], scale=scale, sigma=sigma, min_size=min_size,
                            channel_axis=None)
    return felzenszwalb(img, scale=scale, sigma=sigma, min_size=min_size, channel_axis=-1)


def _initial_regions(img: np.ndarray, segments: np.ndarray, texture: np.ndarray) -> _Initial:
    h, w, _ = img.shape
    labels = np.asarray(segments, dtype=np.int64)
    if labels.shape != (h, w):
        raise ValueError(f"segments must have shape {(h, w)}, got {labels.shape}")
    if labels.min() < 0:
        raise ValueError("segments must be labels 0 .. n-1")
    n = int(labels.max()) + 1
    sizes = np.bincount(labels.ravel(), minlength=n)
    if np.any(sizes == 0):
        raise ValueError("segments must use every label 0 .. max without gaps")
    slices = ndimage.find_objects(labels + 1)
    boxes = np.array([[s[1].start, s[0].start, s[1].stop, s[0].stop] for s in slices], np.float64)
    return _Initial(labels, boxes, sizes, _region_histograms(labels, img, COLOUR_BINS, n),
                    _region_histograms(labels, texture, TEXTURE_BINS, n), _adjacent_pairs(labels))


def _group(init: _Initial, sims: tuple[str, ...], image_size: float) -> Hierarchy:
    """Greedy merging of the most similar neighbouring pair until one region is left."""
    n = len(init.sizes)
    total = 2 * n - 1  # the region graph of a segmentation of the pixel grid is connected
    sizes = np.zeros(total, np.int64)
    sizes[:n] = init.sizes
    boxes = np.zeros((total, 4), np.float64)
    boxes[:n] = init.boxes
    hists = [x for name, x in (("colour", init.colour), ("texture", init.texture)) if name in sims]
    edges = np.cumsum([0] + [x.shape[1] for x in hists])
    feats = np.zeros((total, edges[-1]), np.float64)
    if hists:
        feats[:n] = np.concatenate(hists, axis=1)
    use_size, use_fill = "size" in sims, "fill" in sims

    def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Summed similarities of region pairs (a[k], b[k]) -> (P,)."""
        s = np.zeros(len(a))
        if hists:
            mins = np.minimum(feats[a], feats[b])
            for k in range(len(hists)):  # each histogram sums to 1: each term is in [0, 1]
                s += mins[:, edges[k]:edges[k + 1]].sum(axis=1)
        if use_size:
            s += 1 - (sizes[a] + sizes[b]) / image_size
        if use_fill:
            lt = np.minimum(boxes[a, :2], boxes[b, :2])
            rb = np.maximum(boxes[a, 2:], boxes[b, 2:])
            s += 1 - (np.prod(rb - lt, axis=1) - sizes[a] - sizes[b]) / image_size
        return s

    pairs = init.pairs
    neighbours: list[set[int]] = [set() for _ in range(total)]
    for i, j in pairs.tolist():
        neighbours[i].add(j)
        neighbours[j].add(i)
    alive = np.zeros(total, bool)
    alive[:n] = True
    # max-heap by negated similarity; ties broken by the pair ids, so runs are deterministic
    heap = list(zip((-similarity(pairs[:, 0], pairs[:, 1])).tolist(),
                    pairs[:, 0].tolist(), pairs[:, 1].tolist(), strict=True))
    heapq.heapify(heap)
    merges = []
    t = n
    while heap:
        _, i, j = heapq.heappop(heap)
        if not (alive[i] and alive[j]):
            continue  # a stale similarity of an already merged region
        sizes[t] = sizes[i] + sizes[j]
        boxes[t, :2] = np.minimum(boxes[i, :2], boxes[j, :2])
        boxes[t, 2:] = np.maximum(boxes[i, 2:], boxes[j, 2:])
        feats[t] = (sizes[i] * feats[i] + sizes[j] * feats[j]) / sizes[t]
        alive[i] = alive[j] = False
        alive[t] = True
        nb = (neighbours[i] | neighbours[j]) - {i, j}
        for k in nb:
            neighbours[k].difference_update((i, j))
            neighbours[k].add(t)
        neighbours[t] = nb
        neighbours[i] = neighbours[j] = set()
        merges.append((i, j))
        if nb:
            ks = np.fromiter(nb, np.int64, len(nb))
            sim = similarity(np.full(len(ks), t), ks)
            for s, k in zip(sim.tolist(), ks.tolist(), strict=True):
                heapq.heappush(heap, (-s, k, t))
        t += 1
    merged = np.array(merges, np.int64).reshape(-1, 2)
    return Hierarchy(init.labels, boxes[:t], sizes[:t], merged, n)


def hierarchical_grouping(
    image: np.ndarray,
    scale: float = 100,
    sigma: float = 0.8,
    min_size: int = 20,
    similarities: Sequence[str] = SIMILARITIES,
    segments: np.ndarray | None = None,
) -> Hierarchy:
    """Algorithm 1 of Uijlings et al. on one image, for one similarity combination.

    Args:
        image: (H, W), (H, W, 1) or (H, W, 3), float in [0, 1] or uint8.
        scale: Felzenszwalb's k (larger -> fewer, larger initial regions).
        sigma: Gaussian smoothing (pixels) before Felzenszwalb's segmentation.
        min_size: smallest initial region in pixels.
        similarities: subset of ``("colour", "texture", "size", "fill")``, summed.
        segments: optional precomputed (H, W) initial labels 0 .. n-1 (skips Felzenszwalb).

    Returns:
        :class:`Hierarchy`; its last region covers the whole image.
    """
    sims = _check_similarities(similarities)
    img = _as_image(image)
    if segments is None:
        segments = _segment(img, scale, sigma, min_size)
    init = _initial_regions(img, segments, _texture_values(img))
    return _group(init, sims, float(img.shape[0] * img.shape[1]))


def _strategies(similarities: Sequence[str] | Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    if isinstance(similarities, str):
        raise ValueError("similarities must be a tuple of names, e.g. ('colour', 'size')")
    items = list(similarities)
    if items and all(isinstance(s, str) for s in items):
        return [_check_similarities(items)]
    return [_check_similarities(s) for s in items] if items else [_check_similarities(())]


def selective_search(
    image: np.ndarray,
    scales: Sequence[float] = (50, 100, 200),
    sigma: float = 0.8,
    min_size: int = 20,
    similarities: Sequence[str] | Sequence[Sequence[str]] = DEFAULT_STRATEGIES,
    min_box_size: float = 4,
    seed: int = 0,
) -> np.ndarray:
    """Ranked selective-search proposals for one image.

    Args:
        image: (H, W), (H, W, 1) or (H, W, 3), float in [0, 1] or uint8.
        scales: Felzenszwalb k values, one set of initial regions each.
        sigma: Felzenszwalb smoothing in pixels.
        min_size: smallest initial region in pixels.
        similarities: one combination such as ``("colour", "size")`` or several
            combinations ``(("colour", "texture", "size", "fill"), ("texture", "size", "fill"))``
            (the default, like the paper's "fast" mode); one hierarchy per
            (scale, combination).
        min_box_size: drop boxes narrower or lower than this (pixels).
        seed: seed of the random ranking.

    Returns:
        (N, 4) float64 unique boxes ``(x1, y1, x2, y2)`` inside the image, best-ranked first.
    """
    strategies = _strategies(similarities)
    img = _as_image(image)
    if len(scales) == 0:
        raise ValueError("scales must name at least one Felzenszwalb k value")
    rng = np.random.default_rng(seed)
    all_boxes, all_values = [], []
    texture = _texture_values(img)
    for scale in scales:
        init = _initial_regions(img, _segment(img, scale, sigma, min_size), texture)
        for sims in strategies:
            hier = _group(init, sims, float(img.shape[0] * img.shape[1]))
            position = np.arange(len(hier.boxes), 0, -1)  # last created region -> 1
            all_boxes.append(hier.boxes)
            all_values.append(position * rng.random(len(position)))
    boxes = np.concatenate(all_boxes)[np.argsort(np.concatenate(all_values), kind="stable")]
    wh = boxes[:, 2:] - boxes[:, :2]
    boxes = boxes[np.all(wh >= min_box_size, axis=1)]
    _, first = np.unique(boxes, axis=0, return_index=True)
    return boxes[np.sort(first)]


def selective_search_batch(
    images: np.ndarray, max_proposals: int | None = None, **kwargs
) -> list[np.ndarray]:
    """:func:`selective_search` on each image of (N, H, W[, C]); keeps the first ``max_proposals``.

    Args:
        images: ``(N, H, W)`` or ``(N, H, W, C)`` float images in ``[0, 1]``.
        max_proposals: keep the first this many proposals per image (None: all), ``>= 1``.
        **kwargs: passed to :func:`selective_search`.

    Returns:
        N arrays of shape (n_i, 4), boxes ``(x1, y1, x2, y2)`` in pixels, best ranked first.

    Raises:
        ValueError: ``max_proposals < 1``.
    """
    if max_proposals is not None and max_proposals < 1:
        raise ValueError(f"max_proposals must be >= 1 or None, got {max_proposals}")
    return [selective_search(im, **kwargs)[:max_proposals] for im in images]
