"""``course``: the instructor's command line (installed with the project).

    course release [ASSIGNMENT ...]          # source/ -> release/, gradebook, exchange
    course publish [ASSIGNMENT ...]          # due dates into the gradebook, release/ -> exchange
    course collect PATH [--assignment A]     # a folder or .zip of submissions -> submitted/
    course autograde ASSIGNMENT [--workers N] [--executor process|thread|dask]
    course feedback ASSIGNMENT               # feedback/<student>/<assignment>/*.html
    course report ASSIGNMENT [--out DIR]     # grades CSV, per-question CSV, PNG plots
    course bundle OUT                        # the student edition: lectures, release/, helpers

Every subcommand takes ``--course DIR`` (default: the current directory when it holds an
``nbgrader_config.py``, else this repository).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from course_admin.layout import REPO_ROOT


def _course_root(value: str | None) -> Path:
    if value:
        return Path(value).resolve()
    cwd = Path.cwd()
    return cwd if (cwd / "nbgrader_config.py").exists() else REPO_ROOT


def cmd_release(args: argparse.Namespace) -> int:
    """Generate the release, register each assignment (cells, points, due date) and release
    it to the course's exchange (the Assignment List panel)."""
    from course_admin import records
    from course_admin.nbgrader_pipeline import write_release
    from course_admin.publish import due_dates, publish

    root = _course_root(args.course)
    written = write_release(args.assignments or None, root)
    dues = {} if args.no_register else due_dates(root)
    for path in written:
        print(f"wrote {path}")
        if not args.no_register:
            records.register_assignment(root, root, path.name, dues.get(path.name))
            print(f"registered {path.name} in the gradebook"
                  + (f" (due {dues[path.name]})" if path.name in dues else ""))
    if not args.no_register:
        for line in publish(root, [p.name for p in written]):
            print(line)
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Due dates into the gradebook and release/ into the exchange (what ``make lab`` runs)."""
    from course_admin.publish import publish

    for line in publish(_course_root(args.course), args.assignments or None):
        print(line)
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    """Copy submissions into submitted/ and print the report."""
    from course_admin.collect import DEFAULT_PATTERN, collect

    if not Path(args.path).exists():
        raise ValueError(f"{args.path} does not exist: give the folder or .zip of submissions")
    report = collect(Path(args.path), _course_root(args.course), args.assignment,
                     args.pattern or DEFAULT_PATTERN)
    print("\n".join(report.lines()))
    return 0 if report.copied else 1


def cmd_autograde(args: argparse.Namespace) -> int:
    """Grade in parallel; print one line per student."""
    from course_admin.batch import BatchOptions, grade_all

    options = BatchOptions(
        workers=args.workers, executor=args.executor, scheduler=args.scheduler,
        cell_timeout=args.timeout_cell, notebook_timeout=args.timeout_notebook,
        memory_mb=args.memory_mb, students=args.student, force=args.force,
        progress=not args.no_progress, sandbox=not args.no_sandbox,
        engine=args.engine)
    if args.no_sandbox:
        print("course autograde: --no-sandbox: the students' code runs with your rights and "
              "can read and change the course (trusted submissions only)", file=sys.stderr)
    summary = grade_all(_course_root(args.course), args.assignment, options)
    for result in sorted(summary.graded, key=lambda r: r["student"]):
        notes = "; ".join(([result["error"]] if result["error"] else []) + result["flags"])
        print(f"{result['student']}\t{result['score']:g}/{result['max_score']:g}\t"
              f"{result['seconds']:.1f}s\t{notes}")
    if summary.skipped:
        print(f"already graded (journal): {len(summary.skipped)}: {', '.join(summary.skipped)}")
    for student, why in sorted(summary.failed.items()):
        print(f"{student}\tNOT GRADED (run again to retry): {why}", file=sys.stderr)
    return 1 if summary.failed else 0


def cmd_feedback(args: argparse.Namespace) -> int:
    """HTML feedback without hidden tests."""
    from course_admin.report import feedback

    pages = feedback(_course_root(args.course), args.assignment, args.student)
    for student, paths in sorted(pages.items()):
        for path in paths:
            print(f"{student}\t{path}")
    if not pages:
        who = f" of {', '.join(args.student)}" if args.student else ""
        print(f"course feedback: no autograded submission{who} of {args.assignment} in "
              f"autograded/: run `course autograde {args.assignment}` first", file=sys.stderr)
    return 0 if pages else 1


def cmd_report(args: argparse.Namespace) -> int:
    """CSV files and PNG plots."""
    from course_admin.report import report

    root = _course_root(args.course)
    out = Path(args.out) if args.out else root / "autograded" / "reports"
    for path in report(root, args.assignment, out):
        print(f"wrote {path}")
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    """The student distribution (no solutions, hidden tests, gradebook or instructor code)."""
    from course_admin.bundle import build_bundle

    bundle = build_bundle(Path(args.out), _course_root(args.course))
    print("\n".join(bundle.lines()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``course`` argument parser."""
    parser = argparse.ArgumentParser(prog="course",
                                     description=__doc__.split("\n\n")[0].replace("``", ""))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course", metavar="DIR",
                        help="course directory (default: . if it has nbgrader_config.py)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", parents=[common], help="generate release/ from source/")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--no-register", action="store_true",
                   help="do not register the assignments in the gradebook")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("publish", parents=[common],
                       help="due dates into the gradebook, release/ into the exchange")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                   help="the ones to release to the exchange (default: all of release/)")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("collect", parents=[common], help="submissions (folder/zip) -> submitted/")
    p.add_argument("path", help="a directory or a .zip")
    p.add_argument("--assignment", help="for folders of files without an assignment folder, "
                   "and for flat zip_collect-style file names")
    p.add_argument("--pattern", help="regex with groups student_id, file_id [, timestamp]")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("autograde", parents=[common], help="grade all submissions in parallel")
    p.add_argument("assignment")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="parallel jobs (default: the number of cores)")
    p.add_argument("--executor", choices=["process", "thread", "dask"], default="process")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler to use with --executor dask (default: a local cluster)")
    p.add_argument("--timeout-cell", type=float, default=120.0, metavar="S",
                   help="seconds per cell before it is interrupted (default 120)")
    p.add_argument("--timeout-notebook", type=float, default=900.0, metavar="S",
                   help="seconds per submission before it is killed (default 900)")
    p.add_argument("--memory-mb", type=int, default=4096,
                   help="address-space limit of each kernel in MiB, 0 for none (default 4096)")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="regrade students already graded")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--engine", choices=["split", "nbgrader"], default="split",
                   help="split (default): the tests run in the trusted grader, the student's "
                        "code in the sandbox; nbgrader: plain nbgrader autograde in the "
                        "sandbox (the tests run beside the student's code)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run the students' code without bubblewrap (trusted submissions only)")
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("feedback", parents=[common], help="HTML feedback without hidden tests")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("report", parents=[common], help="grades CSV, statistics, plots")
    p.add_argument("assignment")
    p.add_argument("--out", metavar="DIR",
                   help="output folder (default: <course>/autograded/reports, git-ignored)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("bundle", parents=[common],
                       help="the student edition to hand out (no source/, no gradebook)")
    p.add_argument("out", help="a new (or empty) folder outside the course")
    p.set_defaults(func=cmd_bundle)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``course``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, RuntimeError) as exc:
        print(f"course {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
