"""Wall time to 0.91 test accuracy: lecture 01's seed recipe vs the course's fast recipe.

Both run in this one process, one after the other, on the lecture's split (48,000 training
images from the Kaggle CSV, ``random_state=13``; the 10,000 test images).  The seed recipe is
``cnn1`` + Adam 1e-3, batch 256, 10 epochs; the fast recipe is ``helpers.fast_training.FAST``.
Test accuracy is measured after every epoch; times are training seconds (the per-epoch test
evaluation is not counted).  ``--ablation`` adds the fast recipe with one ingredient removed
at a time.

    .venv/bin/python benchmarks/time_to_accuracy.py [--ablation] [--json out.json]

TensorFlow runs with oneDNN on and one inter-op thread unless ``--onednn 0`` /
``--inter-op 0`` (0 = TensorFlow's default); see ``benchmarks/input_pipeline.py``.
``CNN_COURSE_FAST=1`` shrinks everything to a smoke test.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

#: name -> (what is removed, changes to the fast recipe)
ABLATION: dict[str, tuple[str, dict]] = {
    "no batch norm": ("BatchNormalization layers", {"batch_norm": False}),
    "no schedule": ("warm-up + cosine: constant Adam 1e-3", {"schedule": "constant",
                                                             "peak_lr": 1e-3}),
    "+ flip": ("(added) random horizontal flip, in the model", {"augment": "model"}),
    "no label smoothing": ("label smoothing 0.1", {"label_smoothing": 0.0}),
    "numpy arrays": ("tf.data: model.fit on arrays", {"input": "numpy"}),
    "1 step per call": ("16 steps per call into TensorFlow", {"steps_per_execution": 1}),
    "batch 128": ("batch 64 -> 128", {"batch_size": 128}),
    "3 epochs": ("2 epochs -> 3", {"epochs": 3}),
    "wider (32, 64)": ("the small width: 32 and 64 filters", {"filters": (32, 64)}),
}


def run_summary(name: str, result, removed: str = "") -> dict:
    """The figures of one run, as printed and stored."""
    return {
        "name": name, "removed": removed, "epochs": result.epochs, "n_train": result.n_train,
        "time_to_target_s": (None if result.time_to_target is None
                             else round(result.time_to_target, 2)),
        "final_test_accuracy": round(result.test_accuracy, 4),
        "train_seconds": round(result.seconds, 2),
        "curve": {"train_seconds": [round(s, 2) for s in result.history["train_seconds"]],
                  "test_accuracy": [round(a, 4) for a in result.history["test_accuracy"]]},
        "recipe": result.recipe,
    }


def line(row: dict) -> str:
    ttt = row["time_to_target_s"]
    reached = f"{ttt:7.1f} s" if ttt is not None else "not reached"
    return (f"{row['name']:22s} to 0.91: {reached:>11s}   final {row['final_test_accuracy']:.4f}"
            f"   {row['epochs']} epochs in {row['train_seconds']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ablation", action="store_true",
                        help="also run the fast recipe with one ingredient removed at a time")
    parser.add_argument("--skip-seed", action="store_true", help="run only the fast recipe(s)")
    parser.add_argument("--target", type=float, default=0.91)
    parser.add_argument("--onednn", choices=("0", "1"), default="1")
    parser.add_argument("--inter-op", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = args.onednn  # read when TensorFlow is imported

    from helpers import benchmarking as bench
    from helpers import fast_training as ft
    from helpers import recap
    from helpers.data import fashion_mnist_csv
    from helpers.mode import run_mode

    if args.inter_op:
        bench.configure_cpu_threads(inter_op=args.inter_op)
    mode = run_mode()
    print(mode.banner())
    data = recap.prepare_csv_data(*fashion_mnist_csv(), val_size=0.2, random_state=13)
    split = (data.x_train, data.y_train, data.x_test, data.y_test)
    info = bench.machine_info()
    print(bench.machine_line(info))
    rows = []
    start = time.perf_counter()
    if not args.skip_seed:
        seed = ft.train_recipe(*split, ft.SEED, target=args.target, model=recap.build_cnn1(),
                               mode=mode)
        rows.append(run_summary("seed (cnn1)", seed))
        print(line(rows[-1]), flush=True)
    fast = ft.train_recipe(*split, ft.FAST, target=args.target, mode=mode)
    rows.append(run_summary("fast", fast))
    print(line(rows[-1]), flush=True)
    if args.ablation:
        for name, (removed, changes) in ABLATION.items():
            result = ft.train_recipe(*split, ft.FAST.with_(**changes), target=args.target,
                                     mode=mode)
            rows.append(run_summary(name, result, removed))
            print(line(rows[-1]), flush=True)
    ratio = None
    if not args.skip_seed:
        seed_row, fast_row = rows[0], rows[1]
        if fast_row["time_to_target_s"] is not None:
            if seed_row["time_to_target_s"] is not None:
                ratio = fast_row["time_to_target_s"] / seed_row["time_to_target_s"]
                print(f"fast / seed time to {args.target}: {ratio:.3f}")
            else:
                ratio = fast_row["time_to_target_s"] / seed_row["train_seconds"]
                print(f"the seed never reached {args.target}; fast time to it / seed's whole "
                      f"run: {ratio:.3f} (the true ratio is smaller)")
    info_end = bench.machine_info()
    result = {"machine": info, "load_average_end": info_end["load_average"],
              "mode": mode.name, "target": args.target, "runs": rows,
              "fast_over_seed": None if ratio is None else round(ratio, 3),
              "seed_reached_target": (None if args.skip_seed
                                      else rows[0]["time_to_target_s"] is not None),
              "total_seconds": round(time.perf_counter() - start, 1),
              "date": bench.utc_stamp()}
    print(f"load average at the end: {info_end['load_average']}; "
          f"total {result['total_seconds']:.0f} s")
    bench.write_results(args.json, result)


if __name__ == "__main__":
    main()
