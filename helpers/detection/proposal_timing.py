"""Time per image against the number of proposals: R-CNN's network per region against Fast
R-CNN's network shared by all regions.

In the papers both detectors use the same VGG16; R-CNN runs it on every warped proposal, Fast
R-CNN once per image and then pools every proposal from its feature map.  To measure what that
sharing buys, both pipelines here use the **same networks**, the course's detector backbone and
RoI head (:mod:`helpers.detection.detector_models`), so that the per-region network has the
cost it has in the papers relative to the shared one:

* R-CNN: warp each proposal to :data:`WARP_SIZE` x :data:`WARP_SIZE` pixels
  (:func:`helpers.detection.rcnn.warp_regions`), run the backbone on every warped region (its
  stride 8 turns 56 pixels into the head's 7 x 7 input), then the head;
* Fast R-CNN: the backbone once on the whole scene, RoI pooling of every proposal from its
  feature map, then the head.

Time does not depend on the weights, so the networks need no training.  Times are wall-clock
seconds per image, the median of several repeats after one untimed call that builds the graph.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tensorflow as tf
from matplotlib.figure import Figure

from helpers.arithmetic.layer_table import layer_table, layer_table_totals
from helpers.detection.detector_models import BACKBONE_STRIDE, build_backbone, build_roi_head
from helpers.detection.rcnn import warp_regions
from helpers.detection.roi_pooling import crop_and_resize_tf
from helpers.mode import FAST_SIZES, RunMode

#: Side in pixels of a warped region: the backbone's stride 8 gives the RoI head's 7 x 7 input.
WARP_SIZE = 56
#: Proposals per image to time (the papers use about 2,000 from selective search).
PROPOSAL_COUNTS = (50, 200, 500, 2000)


def timing_settings(mode: RunMode) -> tuple[tuple[int, ...], int]:
    """Proposal counts and repeats to time in ``mode``.

    Args:
        mode: the notebook's :class:`~helpers.mode.RunMode`.

    Returns:
        ``(counts, repeats)``: :data:`PROPOSAL_COUNTS` and 3 in full mode; two small counts
        and one repeat (``FAST_SIZES["proposal_timing"]``) in fast mode.
    """
    if not mode.fast:
        return PROPOSAL_COUNTS, 3
    fast = FAST_SIZES["proposal_timing"]
    return (fast["small"], fast["large"]), fast["repeats"]


@dataclass
class TimingNetworks:
    """The networks both pipelines run (one set of weights).

    Attributes:
        scene_backbone: ``(1, S, S, 1) -> (1, S/8, S/8, 128)``, Fast R-CNN's shared pass.
        region_backbone: ``(R, 56, 56, 1) -> (R, 7, 7, 128)``, R-CNN's pass per region; the
            same convolutions (the backbone is fully convolutional), the weights copied.
        head: ``(R, 7, 7, 128) -> [logits (R, 11), deltas (R, 11, 4)]``.
        image_size: ``S``, the scene's side in pixels.
    """

    scene_backbone: keras.Model
    region_backbone: keras.Model
    head: keras.Model
    image_size: int

    def multiply_adds(self) -> dict[str, int]:
        """Multiply-adds of each pass (:func:`layer_table`).

        Returns:
            ``{"scene backbone", "region backbone", "head per region"}`` -> multiply-adds.
        """
        return {name: int(layer_table_totals(layer_table(model))["macs"])
                for name, model in (("scene backbone", self.scene_backbone),
                                    ("region backbone", self.region_backbone),
                                    ("head per region", self.head))}


def build_timing_networks(image_size: int = 128, seed: int = 0) -> TimingNetworks:
    """The backbone at scene size and at region size (shared weights) and the RoI head.

    Args:
        image_size: the scene's side in pixels, a multiple of 8.
        seed: seeds the (untrained) weights.

    Returns:
        A :class:`TimingNetworks`.
    """
    keras.utils.set_random_seed(seed)
    scene = build_backbone((image_size, image_size, 1), name="scene_backbone")
    region = build_backbone((WARP_SIZE, WARP_SIZE, 1), name="region_backbone")
    region.set_weights(scene.get_weights())
    pool = WARP_SIZE // BACKBONE_STRIDE
    return TimingNetworks(scene, region, build_roi_head(pool_size=pool), image_size)


def random_proposals(n: int, image_size: int, seed: int = 0) -> np.ndarray:
    """``n`` random boxes inside the image, sides 8 to 64 pixels.

    Args:
        n: number of boxes.
        image_size: the image's side in pixels (> 64).
        seed: seed of the draw.

    Returns:
        float ``(n, 4)`` corners ``(x1, y1, x2, y2)`` in pixels.
    """
    rng = np.random.default_rng(seed)
    wh = rng.uniform(8, 64, size=(n, 2))
    xy = rng.uniform(0, image_size - wh)
    return np.concatenate([xy, xy + wh], axis=1)


def _run_head(head: keras.Model, pooled: tf.Tensor) -> None:
    """Run the head and copy its outputs to NumPy, so that the timing includes the work."""
    logits, deltas = head(pooled, training=False)
    np.asarray(logits)
    np.asarray(deltas)


def rcnn_seconds(nets: TimingNetworks, image: np.ndarray, boxes: np.ndarray,
                 batch_size: int = 256) -> float:
    """Seconds for R-CNN's network on one image: warp, backbone per region, head.

    Args:
        nets: :func:`build_timing_networks`.
        image: ``(S, S)`` or ``(S, S, 1)`` float image.
        boxes: ``(R, 4)`` proposals in pixels.
        batch_size: warped regions per backbone call.

    Returns:
        Wall-clock seconds.
    """
    start = time.perf_counter()
    windows = warp_regions(image, boxes, size=WARP_SIZE, padding=0)
    for i in range(0, len(windows), batch_size):
        _run_head(nets.head, nets.region_backbone(windows[i:i + batch_size], training=False))
    return time.perf_counter() - start


def fast_rcnn_seconds(nets: TimingNetworks, image: np.ndarray, boxes: np.ndarray) -> float:
    """Seconds for Fast R-CNN's network on one image: backbone once, RoI pooling, head.

    Args:
        nets: :func:`build_timing_networks`.
        image: ``(S, S)`` or ``(S, S, 1)`` float image.
        boxes: ``(R, 4)`` proposals in pixels.

    Returns:
        Wall-clock seconds.
    """
    start = time.perf_counter()
    x = np.asarray(image, np.float32).reshape(1, nets.image_size, nets.image_size, 1)
    fmap = nets.scene_backbone(x, training=False)
    pool = WARP_SIZE // BACKBONE_STRIDE
    pooled = crop_and_resize_tf(fmap, boxes, np.zeros(len(boxes), np.int32), (pool, pool),
                                1.0 / BACKBONE_STRIDE, pool=True)
    _run_head(nets.head, pooled)
    return time.perf_counter() - start


def proposal_timing(nets: TimingNetworks, image: np.ndarray,
                    counts: tuple[int, ...] = PROPOSAL_COUNTS, repeats: int = 3,
                    seed: int = 0) -> pd.DataFrame:
    """Time both pipelines on one image for every number of proposals.

    Args:
        nets: :func:`build_timing_networks`.
        image: ``(S, S)`` or ``(S, S, 1)`` float image.
        counts: proposals per image.
        repeats: timed calls per pipeline and count (the median is reported), after one
            untimed call.
        seed: seed of the random proposals.

    Returns:
        A DataFrame indexed by ``proposals`` with ``R-CNN s``, ``Fast R-CNN s`` (per image)
        and ``speed-up`` (their ratio).

    Raises:
        ValueError: if ``repeats < 1``.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    rows = []
    for n in counts:
        boxes = random_proposals(n, nets.image_size, seed)
        times = {}
        for name, run in (("R-CNN s", rcnn_seconds), ("Fast R-CNN s", fast_rcnn_seconds)):
            run(nets, image, boxes)  # builds the graph for this shape
            times[name] = float(np.median([run(nets, image, boxes) for _ in range(repeats)]))
        rows.append({"proposals": n, **times,
                     "speed-up": times["R-CNN s"] / times["Fast R-CNN s"]})
    return pd.DataFrame(rows).set_index("proposals")


def plot_proposal_timing(table: pd.DataFrame) -> Figure:
    """Seconds per image against proposals per image, one line per pipeline.

    Args:
        table: :func:`proposal_timing`.

    Returns:
        A ``Figure`` with one panel, linear axes, the speed-up written at every point.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4), dpi=90)
    counts = table.index.to_numpy()
    ax.plot(counts, table["R-CNN s"], marker="o", label="R-CNN: the network on every region")
    ax.plot(counts, table["Fast R-CNN s"], marker="s",
            label="Fast R-CNN: one shared pass, RoI pooling")
    for n, row in table.iterrows():
        ax.annotate(f"{row['speed-up']:.0f}x", (n, row["R-CNN s"]), textcoords="offset points",
                    xytext=(-8, 6), fontsize=8)
    ax.set(xlabel="proposals per image", ylabel="network time per image (s, 2-core CPU)",
           title="The same networks, per region or shared")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
