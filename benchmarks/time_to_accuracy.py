"""Wall time to 0.91 test accuracy: lecture 01's seed recipe vs the course's fast recipe.

Both run in this one process, one after the other, on the lecture's split (48,000 training
images from the Kaggle CSV, ``random_state=13``; the 10,000 test images).  The seed recipe is
``cnn1`` + Adam 1e-3, batch 256, 10 epochs; the fast recipe is ``helpers.training.fast.FAST``.
Test accuracy is measured after every epoch; times are training seconds (the per-epoch test
evaluation is not counted).  ``--ablation`` adds the fast recipe with one ingredient removed
at a time.

    .venv/bin/python benchmarks/time_to_accuracy.py [--pairs 3] [--ablation] [--json out.json]

Epoch times on a shared or throttled machine jump (``benchmarks/README.md``), so ``--pairs N``
runs the two recipes alternately N times and reports the median of the N ratios.

TensorFlow runs with oneDNN on and one inter-op thread unless ``--onednn 0`` /
``--inter-op 0`` (0 = TensorFlow's default); see ``benchmarks/input_pipeline.py``.
``CNN_COURSE_FAST=1`` shrinks everything to a smoke test.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from pathlib import Path

#: name -> (what is removed, changes to the fast recipe)
ABLATION: dict[str, tuple[str, dict]] = {
    "no batch norm": ("BatchNormalization layers", {"batch_norm": False}),
    "pool last": ("pooling before BN: conv -> BN -> ReLU -> pool (textbook order)",
                  {"pool_before_bn": False}),
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


def pair_figures(seed_row: dict, fast_row: dict) -> dict:
    """The fast recipe's time to the target over the seed's, for one pair run side by side.

    If the seed never reached the target, its whole run stands in for its time to the target
    (so the ratio is an upper bound, ``exact`` False); None if the fast recipe missed it."""
    fast_s, seed_s = fast_row["time_to_target_s"], seed_row["time_to_target_s"]
    exact = seed_s is not None
    seed_s = seed_s if exact else seed_row["train_seconds"]
    ratio = None if fast_s is None else fast_s / seed_s
    if ratio is None:
        explained = "the fast recipe did not reach the target"
    elif exact:
        explained = f"fast / seed time to the target: {ratio:.3f}"
    else:
        explained = (f"the seed never reached the target; fast time to it / seed's whole run: "
                     f"{ratio:.3f} (the true ratio is smaller)")
    return {"seed_seconds": seed_s, "seed_reached": exact, "fast_to_target_s": fast_s,
            "ratio": None if ratio is None else round(ratio, 3), "explained": explained}


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
    parser.add_argument("--pairs", type=int, default=1,
                        help="run seed and fast alternately this many times; the ratio "
                             "reported is the median over the pairs")
    parser.add_argument("--target", type=float, default=0.91)
    parser.add_argument("--onednn", choices=("0", "1"), default="1")
    parser.add_argument("--inter-op", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error(f"--pairs must be at least 1, got {args.pairs}")
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = args.onednn  # read when TensorFlow is imported

    import common as bench

    from helpers.architectures.small import build_cnn1
    from helpers.data import fashion_mnist_csv
    from helpers.lectures import recap
    from helpers.mode import run_mode
    from helpers.training import fast as ft

    if args.inter_op:
        bench.configure_cpu_threads(inter_op=args.inter_op)
    mode = run_mode()
    print(mode.banner())
    data = recap.prepare_csv_data(*fashion_mnist_csv(), val_size=0.2, random_state=13)
    split = (data.x_train, data.y_train, data.x_test, data.y_test)
    info = bench.machine_info()
    print(bench.machine_line(info))
    rows, pairs = [], []
    start = time.perf_counter()
    for repeat in range(args.pairs):  # seed, fast, seed, fast, ...: each pair side by side
        if args.skip_seed:
            fast = ft.train_recipe(*split, ft.FAST, target=args.target, mode=mode)
            rows.append(run_summary("fast", fast))
            print(line(rows[-1]), flush=True)
            break
        seed = ft.train_recipe(*split, ft.SEED, target=args.target, model=build_cnn1(),
                               mode=mode)
        seed_row = run_summary("seed (cnn1)", seed)
        fast_row = run_summary("fast", ft.train_recipe(*split, ft.FAST, target=args.target,
                                                       mode=mode))
        pairs.append(pair_figures(seed_row, fast_row))
        if repeat == 0:
            rows += [seed_row, fast_row]
        print(f"pair {repeat + 1}:\n  {line(seed_row)}\n  {line(fast_row)}\n  "
              f"{pairs[-1]['explained']}", flush=True)
    if args.ablation:
        for name, (removed, changes) in ABLATION.items():
            result = ft.train_recipe(*split, ft.FAST.with_(**changes), target=args.target,
                                     mode=mode)
            rows.append(run_summary(name, result, removed))
            print(line(rows[-1]), flush=True)
    # a pair whose fast run missed the target counts as an infinite ratio
    ratios = [math.inf if p["ratio"] is None else p["ratio"] for p in pairs]
    ratio = statistics.median(ratios) if ratios else None
    ratio = None if ratio is None or math.isinf(ratio) else ratio
    if pairs:
        print(f"fast / seed, median of {len(pairs)} pair(s): "
              f"{'not reached' if ratio is None else f'{ratio:.3f}'} "
              f"(each: {', '.join(f'{r:.3f}' for r in ratios)})")
    info_end = bench.machine_info()
    result = {"machine": info, "load_average_end": info_end["load_average"],
              "mode": mode.name, "target": args.target, "runs": rows,
              "fast_over_seed": None if ratio is None else round(ratio, 3),
              "pairs": pairs,
              "seed_reached_target": (None if args.skip_seed
                                      else rows[0]["time_to_target_s"] is not None),
              "total_seconds": round(time.perf_counter() - start, 1),
              "date": bench.utc_stamp()}
    print(f"load average at the end: {info_end['load_average']}; "
          f"total {result['total_seconds']:.0f} s")
    bench.write_results(args.json, result)


if __name__ == "__main__":
    main()
