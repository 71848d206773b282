"""Fixed-size features for boxes of any size: RoI max pooling (Fast R-CNN),
crop-and-resize (the TensorFlow way, close to RoIAlign) and spatial pyramid
pooling (SPP-net).

All functions take RoIs as ``(x1, y1, x2, y2)`` in continuous **image** pixel
coordinates (see :mod:`helpers.detection.boxes`) and a ``spatial_scale``
(feature cells per image pixel, 1/16 for VGG16's conv5_3): the RoI on the
feature map is ``roi * spatial_scale``, where feature cell ``(i, j)`` covers
``[j, j + 1) x [i, i + 1)``.  Feature maps are channels-last, as in Keras.

Quantisation versus sampling
----------------------------
:func:`roi_max_pool` follows Fast R-CNN: the RoI is rounded to whole feature
cells and cut into bins whose edges are rounded again (floor / ceil), then each
bin is max-pooled.  Both roundings move the pooled window by up to a cell,
i.e. up to 16 image pixels on conv5_3: harmless for classification, harmful
for precise localisation.  :func:`roi_crop_and_resize` does not round at all:
it samples the feature map *bilinearly* at evenly spaced points inside the
exact RoI (``tf.image.crop_and_resize``) and max-pools 2 x 2 samples per bin.
That is the idea of RoIAlign (Mask R-CNN), which averages a few bilinear
samples per bin; with ``pool=False`` one sample sits at each bin centre.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from helpers.detection.boxes import as_boxes

__all__ = [
    "roi_max_pool",
    "roi_crop_and_resize",
    "spatial_pyramid_pool",
    "crop_and_resize_tf",
    "roi_max_pool_tf",
]


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    oh, ow = (size, size) if np.ndim(size) == 0 else tuple(size)
    if int(oh) < 1 or int(ow) < 1:
        raise ValueError(f"output_size must be positive, got {size}")
    return int(oh), int(ow)


def _check(feature_map: object, rois: object, spatial_scale: float) -> tuple[np.ndarray, ...]:
    fm = np.asarray(feature_map)
    if fm.ndim != 3:
        raise ValueError(f"feature_map must be (H, W, C), got shape {fm.shape}")
    r = np.zeros((0, 4)) if np.size(rois) == 0 else as_boxes(rois, "rois")
    if not spatial_scale > 0:
        raise ValueError(f"spatial_scale must be positive, got {spatial_scale}")
    return fm, r


def _round_half_up(v: np.ndarray) -> np.ndarray:
    return np.floor(v + 0.5).astype(np.int64)


def _bin_edges(start: int, length: int, bins: int, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Cells ``[lo[k], hi[k])`` of bin k of a RoI covering ``length`` cells from ``start``."""
    k = np.arange(bins)
    lo = np.floor(k * length / bins).astype(np.int64) + start
    hi = np.ceil((k + 1) * length / bins).astype(np.int64) + start
    return np.clip(lo, 0, limit), np.clip(hi, 0, limit)


def roi_max_pool(
    feature_map: object,
    rois: object,
    output_size: int | Sequence[int] = (7, 7),
    spatial_scale: float = 1.0,
) -> np.ndarray:
    """Fast R-CNN RoI max pooling, in numpy.

    The rule, for the x axis (y is the same with heights):

    1. ``xa = round(x1 * spatial_scale)``, ``xb = round(x2 * spatial_scale)``
       (round half up): the RoI covers the feature columns ``xa .. xb - 1``,
       ``roi_w = max(xb - xa, 1)`` of them (at least one).
    2. Bin ``j`` of ``ow`` covers the columns
       ``[xa + floor(j * roi_w / ow), xa + ceil((j + 1) * roi_w / ow))``,
       clipped to ``[0, W]``: neighbouring bins may share a column, and a bin
       is never narrower than one column unless clipping empties it.
    3. Output = the maximum over the bin's cells, per channel; an empty bin
       (entirely outside the map) gives 0.

    This is Caffe's ``ROIPoolingLayer`` written for continuous coordinates:
    Caffe's RoIs are inclusive, so it takes ``roi_w = xb - xa + 1``; for
    integer RoIs at ``spatial_scale=1`` both select the same cells.

    Args:
        feature_map: (H, W, C).
        rois: (R, 4) ``(x1, y1, x2, y2)`` in image pixels.
        output_size: ``(oh, ow)`` or one int (7 for VGG16's fc6).
        spatial_scale: feature cells per image pixel.

    Returns:
        (R, oh, ow, C), the dtype of ``feature_map`` (float).
    """
    fm, r = _check(feature_map, rois, spatial_scale)
    oh, ow = _pair(output_size)
    height, width, channels = fm.shape
    out = np.zeros((len(r), oh, ow, channels), dtype=np.result_type(fm.dtype, np.float32))
    q = _round_half_up(r * spatial_scale)  # (R, 4) integer feature cells
    for n, (xa, ya, xb, yb) in enumerate(q):
        hs, he = _bin_edges(ya, max(yb - ya, 1), oh, height)
        ws, we = _bin_edges(xa, max(xb - xa, 1), ow, width)
        for i in range(oh):
            for j in range(ow):
                if he[i] > hs[i] and we[j] > ws[j]:
                    out[n, i, j] = fm[hs[i] : he[i], ws[j] : we[j]].max(axis=(0, 1))
    return out


def spatial_pyramid_pool(
    feature_map: object,
    rois: object | None = None,
    levels: Sequence[int] = (4, 2, 1),
    spatial_scale: float = 1.0,
) -> np.ndarray:
    """SPP-net: max-pool each RoI into ``l x l`` bins for every level and
    concatenate, a vector whose length does not depend on the RoI size.

    Bins follow :func:`roi_max_pool`'s rule (floor / ceil edges).  SPP-net
    itself used pooling windows of ``ceil(a / l)`` cells at stride
    ``floor(a / l)``, which can miss the last cells of a side; the floor /
    ceil edges always cover the whole RoI.  SPP-net's detection pyramid was
    ``(6, 3, 2, 1)``: 50 bins.

    Args:
        feature_map: (H, W, C).
        rois: (R, 4) in image pixels; ``None``: the whole feature map (R = 1).
        levels: bins per side of each pyramid level.
        spatial_scale: feature cells per image pixel.

    Returns:
        (R, sum(l * l for l in levels) * C): level by level, each level's
        (l, l, C) block flattened row-major (channels fastest).
    """
    fm = np.asarray(feature_map)
    if fm.ndim != 3:
        raise ValueError(f"feature_map must be (H, W, C), got shape {fm.shape}")
    if rois is None:
        rois = [[0.0, 0.0, fm.shape[1] / spatial_scale, fm.shape[0] / spatial_scale]]
    if not levels or any(int(level) < 1 for level in levels):
        raise ValueError(f"levels must be positive bin counts, got {levels}")
    parts = [
        roi_max_pool(fm, rois, (int(level), int(level)), spatial_scale) for level in levels
    ]
    return np.concatenate([p.reshape(len(p), -1) for p in parts], axis=1)


# ----------------------------------------------------------------------------- TensorFlow
def crop_and_resize_tf(
    feature_maps: object,
    rois: object,
    box_indices: object,
    output_size: int | Sequence[int] = (7, 7),
    spatial_scale: float = 1.0,
    pool: bool = True,
):
    """Bilinear RoI features with ``tf.image.crop_and_resize``; differentiable
    with respect to ``feature_maps`` (usable inside a Keras model).

    Each RoI is cut into ``n = 2 * oh`` rows (``pool=True``) or ``n = oh``
    rows of equal height; the feature map is sampled bilinearly at the centre
    of each (same for columns), then ``pool=True`` max-pools 2 x 2 samples
    into each of the ``oh x ow`` bins.  In continuous feature coordinates the
    sample ``k`` lies at ``x1 * s + (k + 0.5) * (x2 - x1) * s / n``; cell
    centres sit at ``j + 0.5``, so a RoI aligned with the cells and
    ``n`` equal to its width reads the cells exactly.  At the border the
    rule is RoIAlign's (torchvision): a sample up to one cell beyond the
    outermost cell centres reads the border cell (the map is padded by one
    replicated cell), a sample further out reads 0.

    Args:
        feature_maps: (B, H, W, C) tensor or array.
        rois: (R, 4) ``(x1, y1, x2, y2)`` in image pixels.
        box_indices: (R,) int, the image of ``feature_maps`` each RoI belongs to.
        output_size: ``(oh, ow)`` or one int.
        spatial_scale: feature cells per image pixel.
        pool: sample 2x more finely and max-pool 2 x 2 (tf-faster-rcnn's
            ``crop_pool_layer``), or one bilinear sample per bin.

    Returns:
        (R, oh, ow, C) ``tf.Tensor`` with the (floating) dtype of ``feature_maps``.
    """
    import tensorflow as tf

    oh, ow = _pair(output_size)
    fm = tf.convert_to_tensor(feature_maps)
    if not fm.dtype.is_floating:
        fm = tf.cast(fm, tf.float32)
    rois = tf.reshape(tf.cast(rois, tf.float32), (-1, 4)) * float(spatial_scale)
    box_indices = tf.reshape(tf.cast(box_indices, tf.int32), (-1,))
    factor = 2 if pool else 1
    nh, nw = oh * factor, ow * factor
    # one replicated cell around the map: samples within a cell of the border clamp to it
    padded = tf.pad(fm, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    height = tf.cast(tf.shape(padded)[1], tf.float32)
    width = tf.cast(tf.shape(padded)[2], tf.float32)

    def normalised(lo, hi, samples, size):
        step = (hi - lo) / samples
        first = lo + 0.5 * step + 0.5  # padded index coordinates: cell j's centre is j + 1
        last = lo + (samples - 0.5) * step + 0.5
        return first / (size - 1.0), last / (size - 1.0)

    x1, y1, x2, y2 = tf.unstack(rois, axis=1)
    ny1, ny2 = normalised(y1, y2, nh, height)
    nx1, nx2 = normalised(x1, x2, nw, width)
    boxes = tf.stack([ny1, nx1, ny2, nx2], axis=1)
    crops = tf.image.crop_and_resize(
        padded, boxes, box_indices, (nh, nw), method="bilinear", extrapolation_value=0.0
    )
    crops = tf.cast(crops, fm.dtype)
    if pool:
        crops = tf.nn.max_pool2d(crops, ksize=2, strides=2, padding="VALID")
    return crops


def roi_crop_and_resize(
    feature_map: object,
    rois: object,
    output_size: int | Sequence[int] = (7, 7),
    spatial_scale: float = 1.0,
    pool: bool = True,
) -> np.ndarray:
    """:func:`crop_and_resize_tf` for one (H, W, C) numpy feature map.

    Differences from :func:`roi_max_pool`: no rounding of the RoI or of the
    bin edges (sub-cell shifts of the RoI change the output smoothly, which
    is what box regression needs), values are bilinear interpolations of
    neighbouring cells rather than cells, and only ``2 x 2`` (``pool=True``)
    or ``1`` sample(s) per bin are looked at, so a large bin's maximum may be
    missed.  RoIAlign averages such samples instead of taking their maximum.

    Args:
        feature_map: (H, W, C).
        rois: (R, 4) ``(x1, y1, x2, y2)`` in image pixels (R may be 0).
        output_size: ``(oh, ow)`` or one int.
        spatial_scale: feature cells per image pixel, ``> 0``.
        pool: sample 2x more finely and max-pool 2 x 2, or one bilinear sample per bin.

    Returns:
        (R, oh, ow, C) float32 numpy array.

    Raises:
        ValueError: if ``feature_map`` is not 3-D, ``rois`` are not valid boxes,
            ``spatial_scale <= 0`` or ``output_size`` is not positive.
    """
    fm, r = _check(feature_map, rois, spatial_scale)
    oh, ow = _pair(output_size)
    if len(r) == 0:
        return np.zeros((0, oh, ow, fm.shape[2]), dtype=np.float32)
    out = crop_and_resize_tf(
        fm[None].astype(np.float32), r, np.zeros(len(r), np.int32), (oh, ow), spatial_scale, pool
    )
    return out.numpy()


def roi_max_pool_tf(
    feature_maps: object,
    rois: object,
    box_indices: object,
    output_size: int | Sequence[int] = (7, 7),
    spatial_scale: float = 1.0,
):
    """:func:`roi_max_pool` in TensorFlow, for batched feature maps;
    differentiable with respect to ``feature_maps`` (the gradient of a bin
    goes to its maximum).

    Per RoI (``tf.map_fn``), the maximum over a rectangular bin is taken as
    a maximum over its columns, then over its rows, using masks built from
    the same integer bin edges as the numpy version.

    Args:
        feature_maps: (B, H, W, C) float tensor or array.
        rois: (R, 4) in image pixels.
        box_indices: (R,) int, the image of each RoI.

    Returns:
        (R, oh, ow, C) ``tf.Tensor`` with the dtype of ``feature_maps``.
    """
    import tensorflow as tf

    oh, ow = _pair(output_size)
    fm = tf.convert_to_tensor(feature_maps)
    if not fm.dtype.is_floating:
        fm = tf.cast(fm, tf.float32)
    q = tf.floor(tf.reshape(tf.cast(rois, tf.float32), (-1, 4)) * float(spatial_scale) + 0.5)
    box_indices = tf.reshape(tf.cast(box_indices, tf.int32), (-1,))
    height, width = tf.shape(fm)[1], tf.shape(fm)[2]

    def masks(start, end, bins, size):
        length = tf.maximum(end - start, 1.0)[:, None]  # (R, 1)
        k = tf.range(bins, dtype=tf.float32)[None, :]
        lo = tf.floor(k * length / bins) + start[:, None]
        hi = tf.math.ceil((k + 1) * length / bins) + start[:, None]
        cells = tf.cast(tf.range(size), tf.float32)[None, None, :]
        return (cells >= lo[..., None]) & (cells < hi[..., None])  # (R, bins, size)

    row_masks = masks(q[:, 1], q[:, 3], oh, height)
    col_masks = masks(q[:, 0], q[:, 2], ow, width)
    lowest = tf.constant(-np.inf, dtype=fm.dtype)

    def pool_one(args):
        index, rows, cols = args
        f = fm[index]  # (H, W, C)
        by_cols = tf.reduce_max(tf.where(cols[None, :, :, None], f[:, None], lowest), axis=2)
        by_bins = tf.reduce_max(tf.where(rows[:, :, None, None], by_cols[None], lowest), axis=1)
        return tf.where(by_bins == lowest, tf.zeros_like(by_bins), by_bins)  # empty bins

    channels = fm.shape[-1]
    return tf.map_fn(
        pool_one,
        (box_indices, row_masks, col_masks),
        fn_output_signature=tf.TensorSpec((oh, ow, channels), fm.dtype),
    )
