"""Epoch time of the fast recipe's model under different input pipelines and TensorFlow settings.

Also the recipe's block order (pool, then BN and ReLU) against the textbook order.

In this process (oneDNN on, one inter-op thread): NumPy arrays vs ``tf.data`` (cache,
shuffle, batch, prefetch), augmentation inside the model vs in the pipeline, with and without
``jit_compile=True`` (XLA).  In child processes, because TensorFlow reads them when it starts:
``TF_ENABLE_ONEDNN_OPTS=0`` vs ``1`` (TensorFlow's default, which the notebooks use) and
TensorFlow's default inter-op thread pool vs one inter-op thread.  Every configuration trains
the same model on the same subset; the first epoch (tracing) is reported apart, the figure
is the median of the later epochs, and ratios are against the first configuration.

    .venv/bin/python benchmarks/input_pipeline.py [--n-train 12000] [--epochs 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

#: name -> changes to the fast recipe (in this process)
CONFIGS: dict[str, dict] = {
    "tf.data, no aug, 16 steps per call (fast recipe)": {},
    "tf.data, no aug, 1 step per call": {"steps_per_execution": 1},
    "tf.data, no aug, pool last (conv, BN, ReLU, pool)": {"pool_before_bn": False},
    "numpy, aug in model": {"input": "numpy", "augment": "model"},
    "tf.data, aug in model": {"input": "tf.data", "augment": "model"},
    "tf.data, aug in pipeline": {"input": "tf.data", "augment": "pipeline"},
    "numpy, aug in model, XLA": {"input": "numpy", "augment": "model", "jit_compile": True},
    "tf.data, aug in model, XLA": {"input": "tf.data", "augment": "model", "jit_compile": True},
    "tf.data, aug in pipeline, XLA": {"input": "tf.data", "augment": "pipeline",
                                      "jit_compile": True},
}
#: name -> (TF_ENABLE_ONEDNN_OPTS, inter-op threads; 0 = TensorFlow's default), child processes
PROCESS_CONFIGS: dict[str, tuple[str, int]] = {
    "oneDNN 1, 1 inter-op thread": ("1", 1),
    "oneDNN 0, 1 inter-op thread": ("0", 1),
    "oneDNN 1, default inter-op threads": ("1", 0),
    "oneDNN 0, default inter-op threads (course default)": ("0", 0),
}


def time_config(changes: dict, n_train: int, epochs: int) -> dict:
    """Train the fast recipe with ``changes`` for ``epochs`` on ``n_train`` images."""
    from helpers.mode import RunMode
    from helpers.training import fast as ft

    x, y, xt, yt = ft.full_training_data()
    recipe = ft.FAST.with_(epochs=epochs, **changes)
    try:
        result = ft.train_recipe(x[:n_train], y[:n_train], xt[:500], yt[:500], recipe,
                                 target=None, mode=RunMode(fast=False))
    except Exception as error:  # XLA can refuse an op; report it instead of stopping
        return {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"}
    cumulative = result.history["train_seconds"]
    per_epoch = [b - a for a, b in zip([0.0] + cumulative[:-1], cumulative, strict=True)]
    return {"first_epoch_s": round(per_epoch[0], 2),
            "epoch_s": round(statistics.median(per_epoch[1:]), 2),
            "later_epochs_s": [round(s, 2) for s in per_epoch[1:]]}


def child(args: argparse.Namespace) -> None:
    """One configuration in a fresh process; TensorFlow settings from the command line."""
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = args.onednn
    import common as bench

    if args.inter_op:
        bench.configure_cpu_threads(inter_op=args.inter_op)
    row = time_config({}, args.n_train, args.epochs)
    args.json.write_text(json.dumps(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=12000, help="training images")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per configuration (>= 2)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--onednn", default="1", help=argparse.SUPPRESS)
    parser.add_argument("--inter-op", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch includes tracing)")
    if args.child:
        child(args)
        return
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
    import common as bench

    from helpers.training import fast as ft

    bench.configure_cpu_threads(inter_op=1)
    info = bench.machine_info()
    print(bench.machine_line(info))
    print(f"{args.n_train} training images, {args.epochs} epochs per configuration, "
          f"batch {ft.FAST.batch_size}")
    rows = []

    def report(name: str, row: dict) -> None:
        row = {"name": name, **row}
        if "error" not in row:
            row["ratio"] = round(row["epoch_s"] / rows[0]["epoch_s"], 3) if rows else 1.0
            print(f"{name:52s} epoch {row['epoch_s']:6.2f} s (first {row['first_epoch_s']:6.2f}"
                  f" s)  x{row['ratio']:.2f}", flush=True)
        else:
            print(f"{name:52s} failed: {row['error']}", flush=True)
        rows.append(row)

    for name, changes in CONFIGS.items():
        report(name, time_config(changes, args.n_train, args.epochs))
    process_rows_start = len(rows)
    for name, (onednn, inter_op) in PROCESS_CONFIGS.items():
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "row.json"
            subprocess.run([sys.executable, __file__, "--child", "--onednn", onednn,
                            "--inter-op", str(inter_op), "--n-train", str(args.n_train),
                            "--epochs", str(args.epochs), "--json", str(out)],
                           check=True, stderr=subprocess.DEVNULL)
            report(f"[process] {name}", json.loads(out.read_text()))
    result = {"machine": info, "load_average_end": bench.machine_info()["load_average"],
              "n_train": args.n_train, "epochs": args.epochs, "configs": rows,
              "process_configs_from": process_rows_start,
              "date": bench.utc_stamp()}
    print(f"load average at the end: {result['load_average_end']}")
    bench.write_results(args.json, result)


if __name__ == "__main__":
    main()
