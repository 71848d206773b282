"""Sizes of lecture 10's experiments in fast and full mode, and its comparison table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.mode import FAST_SIZES, RunMode


@dataclass(frozen=True)
class DetectionSettings:
    """How many scenes and epochs each experiment of lecture 10 uses.

    R-CNN, Fast R-CNN and Faster R-CNN train on the same ``n_train`` scenes. Fast and
    Faster R-CNN are one network and take the same steps (``two_stage_epochs``); R-CNN's
    ``rcnn_epochs`` are sized so that its region CNN sees about as many regions per scene
    (about 62 windows an epoch) as the two-stage head (32 RoIs an epoch).  In full mode the
    lecture took 1,009 s of own work on a 2-core CPU (``notebook_suite_full.json``), over the
    course's 900 s: the same scenes for all three detectors are the lesson.
    """

    n_pretrain: int  # one-item 40 x 40 canvases per pre-training epoch (fresh every epoch)
    pretrain_epochs: int
    n_pretrain_test: int  # one-item canvases from the test split the pre-training is tested on
    n_localise_train: int  # single-object 64 x 64 scenes
    n_localise_test: int
    localise_epochs: int
    n_train: int  # training scenes of every detector
    n_test: int
    two_stage_epochs: int  # Fast R-CNN and Faster R-CNN
    rcnn_epochs: int
    max_proposals: int  # selective-search proposals kept per image
    rcnn_pretrain_items: int  # FashionMNIST items R-CNN's region CNN is pre-trained on


def detection_settings(mode: RunMode) -> DetectionSettings:
    """The experiment sizes for ``mode`` (see :func:`helpers.mode.run_mode`).

    Args:
        mode: the :class:`~helpers.mode.RunMode`; fast mode runs every experiment end to end
            on a few scenes.

    Returns:
        A :class:`DetectionSettings` (scene counts and epochs of each experiment).
    """
    if mode.fast:
        # Every experiment runs end to end on a few scenes; most of what remains is building
        # each network's training graph (benchmarks/notebook_suite.py times the cells).
        # n_train is a multiple of TwoStageDetector.fit's batch of 8 (no short last batch to
        # trace); 16 training scenes still hold every class, the 12 test scenes all but one.
        return DetectionSettings(**FAST_SIZES["detection"])
    return DetectionSettings(
        n_pretrain=40000, pretrain_epochs=4, n_pretrain_test=2000,
        n_localise_train=6000, n_localise_test=1000, localise_epochs=2,
        n_train=2000, n_test=300, two_stage_epochs=6, rcnn_epochs=3, max_proposals=1000,
        rcnn_pretrain_items=20000,
    )


def comparison_table(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    """The seed's R-CNN / Fast / Faster table measured here.

    Args:
        rows: method -> {"proposals per image", "proposal s/image", "network s/image",
            "mAP@0.5", "train s"} (missing entries shown as NaN).

    Returns:
        DataFrame, one row per method, with "total s/image" and the speed-up of the
        network time relative to the first row.
    """
    if not rows:
        raise ValueError("comparison_table needs at least one method")
    table = pd.DataFrame(rows).T
    table["total s/image"] = table["proposal s/image"].fillna(0) + table["network s/image"]
    first = table["network s/image"].iloc[0]
    table["network speed-up"] = first / table["network s/image"]
    return table


def ground_truth_accuracy(detector, scenes) -> float:
    """How often a detector's head names the right class for the ground-truth boxes.

    This separates classification from localisation: the boxes are given, so a low
    figure means the head confuses the classes, not that the proposals miss the objects.

    Args:
        detector: a :class:`~helpers.detection.two_stage.TwoStageDetector` (its
            ``classify_boxes`` is called; the background score is ignored).
        scenes: :class:`~helpers.detection.scenes.DetectionScenes` with their boxes and labels.

    Returns:
        The fraction of ground-truth objects whose most probable object class is theirs.

    Raises:
        ValueError: the scenes hold no object.
    """
    truth = np.concatenate(scenes.labels)
    if truth.size == 0:
        raise ValueError("these scenes hold no object; make them with make_scenes(n >= 1)")
    probs = detector.classify_boxes(scenes.images, scenes.boxes)
    pred = np.concatenate([p[:, 1:].argmax(axis=1) for p in probs])
    return float(np.mean(pred == truth))


def class_agnostic_ap(detections, scenes, iou_threshold: float = 0.5) -> float:
    """Average precision when every class is called "object": how good the boxes are alone.

    Args:
        detections: per scene ``(boxes (K, 4), scores (K,), labels (K,))``, as
            ``TwoStageDetector.detect`` returns them.
        scenes: the :class:`~helpers.detection.scenes.DetectionScenes` they were found in.
        iou_threshold: IoU at which a detection finds an object.

    Returns:
        The AP of the one class "object", in [0, 1].
    """
    from helpers.detection.evaluation import evaluate_detections

    if len(detections) != len(scenes):
        raise ValueError(f"need one detection triple per scene: {len(detections)} vs "
                         f"{len(scenes)}")
    found = [(b, s, np.zeros(len(s), np.int64)) for b, s, _ in detections]
    truth = [(b, np.zeros(len(y), np.int64)) for b, y in zip(scenes.boxes, scenes.labels,
                                                            strict=True)]
    return float(evaluate_detections(found, truth, 1, iou_threshold).mean_ap)
