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
from helpers.lectures.object_detection import class_agnostic_ap, ground_truth_accuracy

SETTINGS = ("lr=1e-3,bn=batch", "lr=3e-4,bn=batch", "lr=1e-4,bn=batch", "lr=3e-4",
            "lr=1e-3", "lr=3e-4,trunk=0.3", "lr=1e-3,trunk=0", "lr=3e-4,warm=3")
DEFAULTS = {"lr": 3e-4, "bn": "frozen", "trunk": 1.0, "warm": 0, "warm_lr": 1e-3}


def parse_setting(text: str) -> dict:
    """``"lr=1e-3,bn=batch"`` -> the fine-tuning setting, unnamed keys from ``DEFAULTS``.

    Keys: ``lr`` (Adam's rate of the end-to-end epochs), ``bn`` (``frozen`` or ``batch``),
    ``trunk`` (``DetectorConfig.trunk_lr_scale``), ``warm`` and ``warm_lr`` (epochs and
    rate of the warm-up in which only the new layers train).
    """
    setting = dict(DEFAULTS)
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key not in DEFAULTS or not value:
            raise SystemExit(f"setting {text!r}: write key=value pairs separated by commas, "
                             f"keys {sorted(DEFAULTS)}, e.g. lr=3e-4,bn=frozen,warm=3")
        setting[key] = value if key == "bn" else type(DEFAULTS[key])(float(value))
    if setting["bn"] not in ("frozen", "batch"):
        raise SystemExit(f"setting {text!r}: bn is 'frozen' or 'batch'")
    return setting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pretrain-canvases", type=int, default=40000)
    parser.add_argument("--pretrain-epochs", type=int, default=4)
    parser.add_argument("--scenes", type=int, default=2000)
    parser.add_argument("--test-scenes", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3,
                        help="epochs of detection training, warm-up included")
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
    for setting in settings:
        frozen = setting["bn"] == "frozen"
        detector = TwoStageDetector(DetectorConfig(seed=0, freeze_bn=frozen,
                                                   trunk_lr_scale=setting["trunk"]))
        detector.init_backbone_from(pre.model)
        start = time.perf_counter()
        detector.fit(train.images, train.boxes, train.labels, epochs=args.epochs - setting["warm"],
                     learning_rate=setting["lr"], warmup_epochs=setting["warm"],
                     warmup_learning_rate=setting["warm_lr"], verbose=False)
        seconds = time.perf_counter() - start
        found = detector.detect(test.images)
        ev = evaluate_detections(found, list(zip(test.boxes, test.labels, strict=True)), 10)
        row = setting | {"train_seconds": round(seconds, 1),
                         "gt_box_accuracy": round(ground_truth_accuracy(detector, test), 4),
                         "class_agnostic_ap50": round(class_agnostic_ap(found, test), 4),
                         "map50": round(ev.mean_ap, 4)}
        rows.append(row)
        print(", ".join(f"{k} {v}" for k, v in setting.items())
              + f": ground-truth boxes {row['gt_box_accuracy']:.3f}, class-agnostic AP "
              f"{row['class_agnostic_ap50']:.3f}, mAP@0.5 {row['map50']:.3f} ({seconds:.0f} s)")
    write_results(args.json, {"date": utc_stamp(), "machine": info, "args": vars(args)
                              | {"json": str(args.json)}, "pretrained_gt_box_accuracy": before,
                              "pretrain_test_accuracy": pre.test_accuracy, "runs": rows})


if __name__ == "__main__":
    main()
