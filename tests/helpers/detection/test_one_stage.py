"""One-stage detectors' box counts (helpers/detection/one_stage.py) against the papers."""

from __future__ import annotations

import pytest

from helpers.detection import one_stage as os1


def test_yolo_v1_predicts_98_boxes_in_a_7_by_7_by_30_tensor():
    assert os1.yolo_v1_outputs() == {"boxes": 98, "values per cell": 30, "output values": 1470}
    assert os1.yolo_v1_outputs(grid=13, boxes_per_cell=5, classes=80)["boxes"] == 845


def test_ssd_default_boxes_match_the_counts_the_paper_publishes():
    assert os1.dense_box_count(os1.SSD300_MAPS) == 8732
    assert os1.dense_box_count(os1.SSD512_MAPS) == 24564
    assert os1.PUBLISHED["SSD300"]["boxes"] == os1.dense_box_count(os1.SSD300_MAPS)
    assert os1.PUBLISHED["SSD512"]["boxes"] == os1.dense_box_count(os1.SSD512_MAPS)


def test_the_rpn_of_a_1000_by_600_image_has_about_20000_anchors_and_ours_2304():
    assert os1.rpn_anchor_count(1000, 600) == 63 * 38 * 9
    assert os1.rpn_anchor_count(128, 128, stride=8) == 2304


def test_the_published_table_converts_frames_per_second_to_milliseconds():
    table = os1.published_table()
    assert table.loc["SSD300", "ms/image"] == pytest.approx(1000 / 46)
    assert table["mAP (%)"].idxmax() == "SSD512" and table["fps"].idxmax() == "Fast YOLO"
