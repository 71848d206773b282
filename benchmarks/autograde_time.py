"""Time ``nbgrader autograde`` per submission, for every assignment.

For each assignment: a temporary course copy, the release regenerated, ``N`` copies of the
reference solution submitted as ``N`` students, then one timed ``nbgrader autograde`` run.
Prints seconds per submission and writes them as JSON.  Every graded copy must get full
marks, or the figure would time a failing run.

    .venv/bin/python benchmarks/autograde_time.py [--students 3] [--json out.json] [ps01 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import nbformat

from course_admin import nbgrader_pipeline as pipe


def time_assignment(assignment: str, students: int, workdir: Path) -> dict:
    course = pipe.make_course_copy(workdir / assignment)
    release = pipe.generate_release(course, assignment)
    source_nbs = {p.name: nbformat.read(p, as_version=4)
                  for p in sorted((course / "source" / assignment).glob("*.ipynb"))}
    reference = {p.name: pipe.fill_answers(nbformat.read(p, as_version=4),
                                           pipe.solution_cells(source_nbs[p.name]))
                 for p in sorted(release.glob("*.ipynb"))}
    ids = [f"student{i:02d}" for i in range(students)]
    for sid in ids:
        pipe.submit(course, assignment, sid, reference)
    start = time.perf_counter()
    pipe.autograde(course, assignment)
    seconds = time.perf_counter() - start
    for sid in ids:
        for name, grade in pipe.read_grades(course, assignment, sid).items():
            if grade.score != grade.max_score:
                raise RuntimeError(f"{assignment}/{name} of {sid}: {grade.score}/{grade.max_score}")
    return {"assignment": assignment, "submissions": students, "total_s": round(seconds, 2),
            "per_submission_s": round(seconds / students, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every assignment")
    parser.add_argument("--students", type=int, default=3, help="submissions per assignment")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in args.assignments or pipe.assignments():
            row = time_assignment(assignment, args.students, Path(tmp))
            rows.append(row)
            print(f"{row['assignment']}: {row['submissions']} submissions autograded in "
                  f"{row['total_s']:.1f} s, {row['per_submission_s']:.1f} s per submission",
                  flush=True)
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "results": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
