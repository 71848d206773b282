"""One-stage detectors (YOLO, SSD) against two-stage ones: how many boxes each predicts.

A two-stage detector proposes regions and then runs a head on every proposal; a one-stage
detector predicts class scores and box offsets for a fixed, dense set of boxes straight from
its feature maps, in one pass of convolutions.  The functions count those boxes from the
papers' settings:

* YOLO v1 (Redmon et al., 2016): an ``S x S`` grid, ``B`` boxes per cell, one class
  distribution per cell: an output tensor ``S x S x (5B + C)``;
* SSD (Liu et al., 2016): default boxes at every position of several feature maps, ``k`` per
  position on each map;
* Faster R-CNN's RPN (Ren et al., 2015): ``A`` anchors at every position of a stride-16 map.

:data:`PUBLISHED` is the SSD paper's speed/accuracy comparison on PASCAL VOC 2007 test
(Table 7 of Liu et al.; all trained on VOC 2007+2012, timed on a Titan X, batch 1).
"""

from __future__ import annotations

import math

import pandas as pd

#: SSD300's feature maps: (side in cells, default boxes per position), from conv4_3 to conv11_2.
SSD300_MAPS: tuple[tuple[int, int], ...] = ((38, 4), (19, 6), (10, 6), (5, 6), (3, 4), (1, 4))
#: SSD512's feature maps.
SSD512_MAPS: tuple[tuple[int, int], ...] = ((64, 4), (32, 6), (16, 6), (8, 6), (4, 6), (2, 4),
                                            (1, 4))

#: Liu et al. (2016), Table 7: method -> mAP on VOC 2007 test (%), frames per second, boxes.
PUBLISHED: dict[str, dict[str, float]] = {
    "Faster R-CNN (VGG16)": {"mAP (%)": 73.2, "fps": 7, "boxes": 6000},
    "Fast YOLO": {"mAP (%)": 52.7, "fps": 155, "boxes": 98},
    "YOLO (VGG16)": {"mAP (%)": 66.4, "fps": 21, "boxes": 98},
    "SSD300": {"mAP (%)": 74.3, "fps": 46, "boxes": 8732},
    "SSD512": {"mAP (%)": 76.8, "fps": 19, "boxes": 24564},
}


def yolo_v1_outputs(grid: int = 7, boxes_per_cell: int = 2, classes: int = 20) -> dict[str, int]:
    """Boxes and output values of YOLO v1.

    Every cell predicts ``boxes_per_cell`` boxes (x, y, w, h, confidence: 5 values each) and
    one distribution over ``classes``, shared by its boxes.

    Args:
        grid: ``S``, cells per side.
        boxes_per_cell: ``B``.
        classes: ``C``.

    Returns:
        ``{"boxes": S*S*B, "values per cell": 5B + C, "output values": S*S*(5B + C)}``.
    """
    per_cell = 5 * boxes_per_cell + classes
    return {"boxes": grid * grid * boxes_per_cell, "values per cell": per_cell,
            "output values": grid * grid * per_cell}


def dense_box_count(maps: tuple[tuple[int, int], ...]) -> int:
    """Default boxes of an SSD-style detector: ``sum(side**2 * k)`` over its feature maps.

    Args:
        maps: ``(side in cells, boxes per position)`` per feature map.

    Returns:
        The number of boxes scored per image.
    """
    return sum(side * side * k for side, k in maps)


def rpn_anchor_count(width: int, height: int, stride: int = 16, anchors: int = 9) -> int:
    """Anchors of a region proposal network on a ``width x height`` image.

    Args:
        width: image width in pixels.
        height: image height in pixels.
        stride: pixels per feature-map cell.
        anchors: anchors per position.

    Returns:
        ``ceil(width / stride) * ceil(height / stride) * anchors``.
    """
    return math.ceil(width / stride) * math.ceil(height / stride) * anchors


def published_table() -> pd.DataFrame:
    """:data:`PUBLISHED` as a table, with each method's milliseconds per image.

    Returns:
        A DataFrame indexed by method with ``mAP (%)``, ``fps``, ``boxes`` and ``ms/image``.
    """
    table = pd.DataFrame(PUBLISHED).T
    return table.assign(**{"ms/image": 1000 / table["fps"]})
