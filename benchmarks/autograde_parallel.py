"""Plain sequential ``nbgrader autograde`` against ``course autograde``, side by side.

The same N submissions (the reference, an alternative correct answer and a one-wrong-answer
submission, in turn) are graded twice, each in its own fresh course copy: once by
``nbgrader autograde ASSIGNMENT --create --force`` (after ``nbgrader generate_assignment``,
which it needs and which is not timed) and once by ``course autograde ASSIGNMENT`` (timed from
start to end, its own template preparation included). Both must give every student the same
score. Also measured: the fixed cost per submission, as a kernel start-up and shutdown, an
``nbgrader --version`` start, and (``--tf``) a TensorFlow import in a fresh interpreter.

    .venv/bin/python benchmarks/autograde_parallel.py [--students 20] [--workers 2]
        [--assignment mini] [--tf] [--json out.json]
    .venv/bin/python benchmarks/autograde_parallel.py --engine-pairs 3 --students 4 \
        --assignment ps01     # course autograde as it is vs --engine nbgrader --no-sandbox

``mini`` is the NumPy-only test assignment in tests/fixtures/mini_course; any other name is
taken from this repository's source/ (its reference solution, submitted N times).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

from course_admin import nbgrader_pipeline as pipe
from course_admin.runner import _env as runner_env

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "submissions"
MINI = ROOT / "tests" / "fixtures" / "mini_course" / "source"


def make_course(dest: Path, assignment: str, students: int) -> Path:
    """A fresh course with ``students`` submissions of ``assignment``."""
    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    if assignment == "mini":
        shutil.copytree(MINI, dest / "source")
        kinds = [CORPUS / k / "mini" for k in ("s01_reference", "s02_alt_correct",
                                                "s03_one_wrong")]
        for i in range(students):
            shutil.copytree(kinds[i % len(kinds)], dest / "submitted" / f"student{i:02d}" / "mini")
        return dest
    shutil.copytree(ROOT / "source" / assignment, dest / "source" / assignment)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = pipe.make_course_copy(Path(tmp) / "c")
        release = pipe.generate_release(scratch, assignment)
        src = {p.name: nbformat.read(p, as_version=4)
               for p in (scratch / "source" / assignment).glob("*.ipynb")}
        answers = {p.name: pipe.fill_answers(nbformat.read(p, as_version=4),
                                             pipe.solution_cells(src[p.name]))
                   for p in release.glob("*.ipynb")}
    for i in range(students):
        pipe.submit(dest, assignment, f"student{i:02d}", answers)
    return dest


def scores(course: Path, assignment: str, students: int) -> dict[str, float]:
    """student -> total score from the gradebook."""
    return {f"student{i:02d}": sum(g.score for g in pipe.read_grades(
        course, assignment, f"student{i:02d}").values()) for i in range(students)}


def kernel_start_s(repeat: int = 3) -> float:
    """Mean seconds to start a python3 kernel, run ``1`` and shut it down."""
    from jupyter_client.manager import start_new_kernel

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        km, kc = start_new_kernel(kernel_name="python3")
        kc.execute_interactive("1", timeout=60, output_hook=lambda msg: None)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        times.append(time.perf_counter() - start)
    return sum(times) / len(times)


def command_s(cmd: list[str], repeat: int = 2) -> float:
    """Mean wall seconds of a command."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=runner_env())
        times.append(time.perf_counter() - start)
    return sum(times) / len(times)


def children_cpu_s() -> float:
    """User + system CPU seconds of every finished child process (and theirs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def engine_pairs(a: str, n: int, workers: int, pairs: int, baseline: list[str]) -> dict:
    """Wall seconds of ``course autograde`` (as it is) and of the same with ``baseline``
    arguments, alternately, on the same N submissions in fresh copies; ratio per pair."""
    course_bin = str(Path(sys.executable).parent / "course")
    ours, theirs, ratios, same = [], [], [], True
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(pairs):
            seconds, grades = [], []
            for label, extra in (("ours", []), ("baseline", baseline)):
                course = make_course(Path(tmp) / f"{label}{k}", a, n)
                start = time.perf_counter()
                subprocess.run([course_bin, "autograde", a, "--course", str(course),
                                "--workers", str(workers), "--no-progress", *extra],
                               check=True, capture_output=True, env=runner_env())
                seconds.append(time.perf_counter() - start)
                grades.append(scores(course, a, n))
            ours.append(round(seconds[0], 2))
            theirs.append(round(seconds[1], 2))
            ratios.append(round(seconds[0] / seconds[1], 3))
            same = same and grades[0] == grades[1]
    return {"assignment": a, "submissions": n, "workers": workers,
            "baseline_args": " ".join(baseline), "ours_s": ours, "baseline_s": theirs,
            "ratio_per_pair": ratios, "median_ratio": float(np.median(ratios)),
            "same_scores": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--assignment", default="mini")
    parser.add_argument("--tf", action="store_true", help="also time a TensorFlow import")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--engine-pairs", type=int, default=0, metavar="K",
                        help="instead: K pairs of `course autograde` as it is against "
                             "--baseline-args, in turn, each in a fresh course copy")
    parser.add_argument("--baseline-args", default="--engine nbgrader --no-sandbox",
                        help="the baseline's extra arguments (default: the engine before "
                             "issue 18)")
    args = parser.parse_args()
    n, a = args.students, args.assignment
    bindir = Path(sys.executable).parent
    if args.engine_pairs:
        row = engine_pairs(a, n, args.workers, args.engine_pairs, args.baseline_args.split())
        for key, value in row.items():
            print(f"{key:28s} {value}")
        if args.json:
            args.json.write_text(json.dumps(row, indent=1) + "\n")
        return
    with tempfile.TemporaryDirectory() as tmp:
        plain = make_course(Path(tmp) / "plain", a, n)
        pipe.nbgrader(plain, "generate_assignment", a, "--force")
        load_before = os.getloadavg()[0]
        start, cpu = time.perf_counter(), children_cpu_s()
        pipe.autograde(plain, a)
        plain_s, plain_cpu = time.perf_counter() - start, children_cpu_s() - cpu

        ours = make_course(Path(tmp) / "ours", a, n)
        start, cpu = time.perf_counter(), children_cpu_s()
        subprocess.run([str(bindir / "course"), "autograde", a, "--course", str(ours),
                        "--workers", str(args.workers), "--no-progress"], check=True,
                       capture_output=True, env=runner_env())
        ours_s, ours_cpu = time.perf_counter() - start, children_cpu_s() - cpu
        load_after = os.getloadavg()[0]
        same = scores(plain, a, n) == scores(ours, a, n)
    row = {
        "assignment": a, "submissions": n, "workers": args.workers,
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "nbgrader_sequential_s": round(plain_s, 2),
        "nbgrader_per_submission_s": round(plain_s / n, 3),
        "course_parallel_s": round(ours_s, 2),
        "course_per_submission_s": round(ours_s / n, 3),
        "speedup": round(plain_s / ours_s, 2),
        "nbgrader_cpu_s": round(plain_cpu, 1),
        "course_cpu_s": round(ours_cpu, 1),
        "load_1min_before_after": [round(load_before, 2), round(load_after, 2)],
        "same_scores": same,
        "kernel_start_stop_s": round(kernel_start_s(), 3),
        "nbgrader_cli_start_s": round(command_s([str(bindir / "nbgrader"), "--version"]), 3),
    }
    if args.tf:
        row["tensorflow_import_s"] = round(command_s(
            [sys.executable, "-c", "import helpers, tensorflow"], repeat=1), 2)
    for key, value in row.items():
        print(f"{key:28s} {value}")
    if args.json:
        args.json.write_text(json.dumps(row, indent=1) + "\n")


if __name__ == "__main__":
    main()
