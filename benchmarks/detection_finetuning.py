"""How fine-tuning settings keep (or lose) what lecture 10's pre-training taught.

Pre-trains the detectors' backbone and RoI head once (``pretrain_backbone``, fresh canvases
every epoch), then trains Faster R-CNN from it once per setting (learning rate, BatchNorm
frozen or in training mode) on the same scenes, and prints per setting the head's class
accuracy on the test scenes' ground-truth boxes (``ground_truth_accuracy``; the pre-trained
network's comes first) and the mAP@0.5:

    .venv/bin/python benchmarks/detection_finetuning.py \\
        --json benchmarks/results/detection_finetuning.json      # about 25 min on 2 cores
    .venv/bin/python benchmarks/detection_finetuning.py --quick  # a minute: the code runs

The defaults are the settings of the runs quoted in ``DetectorConfig.freeze_bn``'s comment
(4 pre-training epochs of 40,000 canvases, 2,000 training scenes, 300 test scenes, 3 epochs).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import helpers  # noqa: F401  (first: TensorFlow's environment and its quiet import)

# isort: split
from common import machine_info, machine_line, utc_stamp, write_results

from helpers.detection.evaluation import evaluate_detections
from helpers.detection.localisation import pretrain_backbone
from helpers.detection.scenes import make_scenes
from helpers.detection.two_stage import DetectorConfig, TwoStageDetector
from helpers.lectures.object_detection import ground_truth_accuracy

SETTINGS = ("1e-3:batch", "3e-4:batch", "1e-4:batch", "3e-4:frozen", "1e-3:frozen")


def parse_setting(text: str) -> tuple[float, bool]:
    """``"3e-4:frozen"`` -> ``(3e-4, True)``; ``"1e-3:batch"`` -> ``(1e-3, False)``."""
    rate, _, bn = text.partition(":")
    if bn not in ("frozen", "batch"):
        raise SystemExit(f"setting {text!r}: write RATE:frozen or RATE:batch, e.g. 3e-4:frozen")
    return float(rate), bn == "frozen"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pretrain-canvases", type=int, default=40000)
    parser.add_argument("--pretrain-epochs", type=int, default=4)
    parser.add_argument("--scenes", type=int, default=2000)
    parser.add_argument("--test-scenes", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.pretrain_canvases, args.pretrain_epochs = 256, 1
        args.scenes, args.test_scenes, args.epochs = 16, 8, 1
    settings = [parse_setting(s) for s in args.settings]
    info = machine_info()
    print(machine_line(info))

    pre = pretrain_backbone(args.pretrain_canvases, args.pretrain_epochs, verbose=0,
                            n_test=min(2000, 8 * args.pretrain_canvases))
    train = make_scenes(args.scenes, "train", seed=1)
    test = make_scenes(args.test_scenes, "test", seed=2)
    probe = TwoStageDetector(DetectorConfig(seed=0))
    probe.init_backbone_from(pre.model)
    before = ground_truth_accuracy(probe, test)
    print(f"pre-trained ({args.pretrain_epochs} epochs, {pre.seconds:.0f} s, canvas test "
          f"accuracy {pre.accuracy:.3f}): ground-truth boxes named right {before:.3f}")
    rows = []
    for rate, frozen in settings:
        detector = TwoStageDetector(DetectorConfig(seed=0, freeze_bn=frozen))
        detector.init_backbone_from(pre.model)
        start = time.perf_counter()
        detector.fit(train.images, train.boxes, train.labels, epochs=args.epochs,
                     learning_rate=rate, verbose=False)
        seconds = time.perf_counter() - start
        ev = evaluate_detections(detector.detect(test.images),
                                 list(zip(test.boxes, test.labels, strict=True)), 10)
        row = {"learning_rate": rate, "freeze_bn": frozen, "train_seconds": round(seconds, 1),
               "gt_box_accuracy": round(ground_truth_accuracy(detector, test), 4),
               "map50": round(ev.mean_ap, 4)}
        rows.append(row)
        print(f"lr {rate:g}, BatchNorm {'frozen' if frozen else 'batch statistics'}: "
              f"ground-truth boxes {row['gt_box_accuracy']:.3f}, mAP@0.5 {row['map50']:.3f} "
              f"({seconds:.0f} s)")
    write_results(args.json, {"date": utc_stamp(), "machine": info, "args": vars(args)
                              | {"json": str(args.json)}, "pretrained_gt_box_accuracy": before,
                              "pretrain_test_accuracy": pre.test_accuracy, "runs": rows})


if __name__ == "__main__":
    main()
