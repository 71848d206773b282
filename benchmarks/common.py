"""What every benchmark in ``benchmarks/`` shares: thread settings, the machine, JSON results.

A figure without its machine is not a figure: :func:`machine_info` records cores, CPU, versions,
GPUs, the oneDNN switch, thread pools and the load average, and :func:`write_results` stores it
with the figures in ``benchmarks/results/`` (the lectures read them from there).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import tensorflow as tf

#: where the benchmarks' JSON results are committed (``benchmarks/results/``)
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def configure_cpu_threads(intra_op: int | None = None, inter_op: int = 1) -> bool:
    """Set TensorFlow's thread pools; returns False if TensorFlow has already started.

    One inter-op thread runs a small model's ops one after another, each on all cores
    (``intra_op``, default: all).  On the busy 2-core CPU it halved cnn1's epoch time in one
    probe and made no clear difference in ``benchmarks/input_pipeline.py``: the benchmarks
    use it, the notebooks do not.  Call it before anything runs on TensorFlow.
    """
    try:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
        if intra_op is not None:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    except RuntimeError:
        return False
    return True


def machine_info() -> dict:
    """Cores, CPU model, load average, TensorFlow/Keras versions, GPUs, oneDNN switch, threads."""
    import keras

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
    }


def machine_line(info: dict) -> str:
    """One printable line of :func:`machine_info`."""
    return (f"machine: {info['cores']} cores, {info['cpu']}, TF {info['tensorflow']}, GPUs "
            f"{info['gpus'] or 'none'}, oneDNN {info['TF_ENABLE_ONEDNN_OPTS']}, "
            f"load average {info['load_average']}")


def utc_stamp() -> str:
    """The current time as ``YYYY-MM-DD HH:MM UTC``."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def write_results(path: Path | None, result: dict) -> None:
    """Write ``result`` as indented JSON to ``path`` (folders created); nothing if None."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path}")
