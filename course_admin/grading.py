"""Parallel, isolated autograding.

One *job* grades one student's submission of one assignment in its own temporary course
directory: a copy of the assignment's *template* (the course's nbgrader configuration, a
gradebook that knows only the assignment's cells, the assignment's non-notebook files and a
memory-limited kernelspec) plus a copy of that one submission. The job runs
``nbgrader autograde ASSIGNMENT --student ID`` there, scores the autograded notebooks itself
and returns plain data; it never touches the real course. The parent (:func:`grade_all`)
runs the jobs through any :class:`concurrent.futures.Executor` and writes each result into
the one real gradebook and the results journal (:mod:`course_admin.records`).

Scores are computed from the autograded notebooks, not read from the job's gradebook (which
the student's code could write to), with nbgrader's rule *except* that output on stderr does
not fail a test cell: only an error does (a correct answer that prints a warning gets full
marks).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_admin.crash import find_crashing_cell, neutralise_cell
from course_admin.intake import check_notebooks
from course_admin.layout import gradebook_url
from course_admin.runner import run_nbgrader
from course_admin.sandbox import Sandbox, grading_sandbox

#: nbgrader log lines worth telling the instructor about. (Its "'checksum'/'source' has
#: changed" warnings are not: they fire for every test cell with hidden tests, whose release
#: version differs from the gradebook's; locked cells are compared with the release instead.)
_FLAG_PATTERNS = re.compile(
    r"'cell_type' for cell|Missing grade cell|Skipping unknown notebook|No submitted file|"
    r"does not exist in the database|DeadKernelError|Kernel died",
    re.IGNORECASE,
)
#: files larger than this are not copied back from a job (output is limited anyway)
MAX_RESULT_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class GradeJob:
    """Everything a worker needs to grade one submission (picklable, paths as strings)."""

    template_dir: str
    submission_dir: str
    assignment: str
    student: str
    #: notebook name (without ``.ipynb``) -> grade cell id -> max score
    expected: dict[str, dict[str, float]]
    notebook_timeout: float = 600.0
    memory_mb: int = 0
    env: dict[str, str] = field(default_factory=dict)
    #: notebook name -> grade id -> source of every locked cell in the release
    locked: dict[str, dict[str, str]] = field(default_factory=dict)
    #: per-cell timeout (s) of the crash search; nbgrader's own is in the template's config
    cell_timeout: float = 120.0
    #: the real course, hidden from the student's code (with the checkout of ``helpers``)
    course_root: str = ""
    #: run the student's code under bubblewrap (:mod:`course_admin.sandbox`)
    sandbox: bool = True
    #: "split": tests in the trusted process (:mod:`.split_grading`); "nbgrader": plain
    #: ``nbgrader autograde`` in the job (the tests run in the student's kernel)
    engine: str = "split"
    #: notebook name -> the instructor's source notebook (JSON), for the split engine
    sources: dict[str, str] = field(default_factory=dict)


def submission_digest(folder: Path) -> str:
    """SHA-256 over the relative paths and bytes of every file under ``folder``."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


_CONFIG_TAIL = """

# --- appended by course_admin.grading for an isolated grading job ---
import os as _os
_ROOT = _os.path.dirname(_os.path.abspath(__file__))
c.CourseDirectory.root = _ROOT
c.CourseDirectory.db_url = "sqlite:///" + _os.path.join(_ROOT, "gradebook.db")
c.Execute.timeout = {cell_timeout}
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False
"""


def prepare_template(course_root: Path, assignment: str, dest: Path, cell_timeout: float = 120
                     ) -> tuple[Path, dict[str, dict[str, float]], dict[str, dict[str, str]]]:
    """Build the template every job of ``assignment`` copies; return it, the expected grade
    cells (notebook -> grade id -> max score) and the release's locked cells (notebook ->
    grade id -> source).

    ``nbgrader generate_assignment`` fills the template's gradebook with the assignment's
    cells (checksums of the locked ones included); the source notebooks and the release are
    then removed so no student code can read the solutions.
    """
    from nbgrader.api import Gradebook

    src = course_root / "source" / assignment
    if not src.is_dir():
        raise ValueError(f"unknown assignment {assignment!r}: no folder {src}")
    dest.mkdir(parents=True, exist_ok=True)
    config = (course_root / "nbgrader_config.py").read_text()
    (dest / "nbgrader_config.py").write_text(
        config + _CONFIG_TAIL.format(cell_timeout=int(cell_timeout)))
    shutil.copytree(src, dest / "source" / assignment)
    status, log = run_nbgrader(dest, ["generate_assignment", assignment, "--force"], 600)
    if status != 0:
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{log[-4000:]}")
    locked: dict[str, dict[str, str]] = {}
    for path in (dest / "release" / assignment).glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        locked[path.stem] = {
            c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("locked")
            and "grade_id" in c.metadata["nbgrader"]}
    for nb_path in (dest / "source" / assignment).rglob("*.ipynb"):
        nb_path.unlink()
    shutil.rmtree(dest / "release", ignore_errors=True)
    kernel = dest / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "course_admin.kernel", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python",
    }))
    expected: dict[str, dict[str, float]] = {}
    with Gradebook(gradebook_url(dest)) as gb:
        for nb in gb.find_assignment(assignment).notebooks:
            expected[nb.name] = {c.name: float(c.max_score) for c in nb.grade_cells}
    return dest, expected, locked


def locked_changes(nb: nbformat.NotebookNode, locked: dict[str, str]) -> list[str]:
    """Readable notes on locked cells of a submission that differ from the release or are
    missing (nbgrader restores edited ones from the gradebook)."""
    seen: dict[str, str] = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in locked and grade_id not in seen:
            seen[grade_id] = cell.source
    notes = []
    for grade_id, source in locked.items():
        if grade_id not in seen:
            notes.append(f"locked cell {grade_id!r} deleted (a deleted test cell scores zero)")
        elif seen[grade_id].strip() != source.strip():
            notes.append(f"locked cell {grade_id!r} edited: restored from the gradebook")
    return notes


def score_notebook(nb: nbformat.NotebookNode) -> dict[str, float | None]:
    """grade id -> automatic score of every grade cell (None: needs a human).

    nbgrader's rule (an error output fails a test cell; a single numeric result is partial
    credit; an untouched answer cell scores zero) without its stderr rule.
    """
    from nbgrader import utils

    scores: dict[str, float | None] = {}
    for cell in nb.cells:
        if not utils.is_grade(cell):
            continue
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        max_points = float(cell.metadata["nbgrader"].get("points", 0))
        if utils.is_solution(cell):
            unchanged = cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(cell)
            scores[grade_id] = 0.0 if unchanged else None
        elif cell.cell_type == "code":
            score: float | None = max_points
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    score = 0.0
                    break
                if output.output_type == "execute_result":
                    score = utils.get_partial_grade(output, max_points)
                    break
            scores[grade_id] = score
        else:
            scores[grade_id] = None
    return scores


_KERNEL_DIED = re.compile(r"DeadKernelError|Kernel died")


def _neutralise_crashes(folder: Path, notebooks: list[str], job: GradeJob,
                        env: dict[str, str], flags: list[str],
                        sandbox: Sandbox | None) -> bool:
    """Find and neutralise (see :mod:`course_admin.crash`) the cell that kills the
    kernel in each notebook of ``folder``; return whether any cell was replaced."""
    replaced = False
    for name in notebooks:
        path = folder / f"{name}.ipynb"
        index = find_crashing_cell(path, job.cell_timeout, job.notebook_timeout, env, sandbox)
        if index is None:
            continue
        grade_id = neutralise_cell(path, index)
        if grade_id is None:
            flags.append(f"{name}.ipynb: locked cell {index + 1} stops the kernel")
            continue
        what = f"answer cell {grade_id!r}" if grade_id else f"cell {index + 1}"
        flags.append(f"{name}.ipynb: {what} stopped the kernel (os._exit, a crash): "
                     "replaced by an error, the other cells graded")
        replaced = True
    return replaced


def _grade_nbgrader(job: GradeJob, work: Path, course: Path, dest: Path, present: list[str],
                    cells: dict, files: dict[str, bytes], flags: list[str]) -> str | None:
    """The nbgrader engine: ``nbgrader autograde`` in the job's course (under the sandbox
    unless ``job.sandbox`` is off); fills ``cells`` and ``files``, returns the error."""
    error = None
    env = {"JUPYTER_PATH": str(course / "jupyter"),
           "COURSE_KERNEL_MEMORY_MB": str(job.memory_mb), **job.env}
    sandbox = (grading_sandbox(work, Path(job.course_root) if job.course_root else None)
               if job.sandbox else None)
    args = ["autograde", job.assignment, "--student", job.student, "--create", "--force"]
    status, log = run_nbgrader(course, args, job.notebook_timeout, env, sandbox)
    if status not in (0, None) and _KERNEL_DIED.search(log):
        # grade the rest: the cell that kills the kernel becomes an error, run again
        replaced = _neutralise_crashes(dest, present, job, env, flags, sandbox)
        if replaced:
            status, log = run_nbgrader(course, args, job.notebook_timeout, env,
                                       sandbox)
    flags += sorted({m.strip() for m in log.splitlines()
                     if "WARNING" in m and _FLAG_PATTERNS.search(m)})
    if status is None:
        error = f"notebook timeout: grading took more than {job.notebook_timeout:g} s"
    elif status != 0 and _KERNEL_DIED.search(log):
        error = "the kernel died while running the notebook (os._exit, crash?): zero"
    elif status != 0:
        errors = [line for line in log.splitlines() if "Error" in line]
        error = "nbgrader failed: " + (" | ".join(errors[-3:]) or log[-500:])
    out = course / "autograded" / job.student / job.assignment
    if status == 0 and out.is_dir():
        for name in [n for n in present if (out / f"{n}.ipynb").exists()]:
            nb = nbformat.read(out / f"{name}.ipynb", as_version=4)
            scored = score_notebook(nb)
            cells[name] = {gid: scored.get(gid, 0.0) for gid in job.expected[name]}
        for path in out.rglob("*"):
            if path.is_file() and path.stat().st_size <= MAX_RESULT_FILE_BYTES:
                files[str(path.relative_to(out))] = path.read_bytes()
    return error


JOB_PREFIX = "course-grade-"
OWNER_FILE = ".course-owner-pid"


def mark_owner(folder: Path) -> None:
    """Record the process that made ``folder`` (see :func:`remove_abandoned`)."""
    (folder / OWNER_FILE).write_text(str(os.getpid()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_abandoned(parent: Path, prefix: str) -> list[Path]:
    """Delete the folders ``parent/prefix*`` whose maker is dead (a ``course autograde``
    killed with ``kill -9`` leaves its job folders, each with a copy of the gradebook and
    its hidden tests, and its template behind); return what was removed."""
    removed = []
    for folder in sorted(parent.glob(f"{prefix}*")):
        owner = folder / OWNER_FILE
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue  # not ours, or being made right now
        if not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def grade_one(job: GradeJob) -> dict:
    """Grade one submission in a fresh temporary course; return the result as plain data:
    student, assignment, cells (notebook -> grade id -> score or None), flags, error, seconds,
    digest, timestamp and files (path under autograded/<student>/<assignment> -> bytes)."""
    start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=JOB_PREFIX))
    mark_owner(work)
    flags: list[str] = []
    error = None
    cells: dict[str, dict[str, float | None]] = {
        nb: {gid: 0.0 for gid in grades} for nb, grades in job.expected.items()}
    files: dict[str, bytes] = {}
    submission = Path(job.submission_dir)
    digest = submission_digest(submission)  # of what is graded, before it is copied
    timestamp_file = submission / "timestamp.txt"
    timestamp = None
    try:
        if timestamp_file.is_file():
            timestamp = timestamp_file.read_text(errors="replace").strip()[:64] or None
        course = work / "course"
        shutil.copytree(job.template_dir, course)
        dest = course / "submitted" / job.student / job.assignment
        shutil.copytree(submission, dest, symlinks=True)
        for link in [p for p in dest.rglob("*") if p.is_symlink()]:
            link.unlink()
            flags.append(f"symbolic link {link.name} ignored")
        present = check_notebooks(dest, list(job.expected), flags)
        for name in present if job.engine != "split" else []:  # split: flagged by its plan
            nb = nbformat.read(dest / f"{name}.ipynb", as_version=4)
            flags += locked_changes(nb, job.locked.get(name, {}))
        if not present:
            error = "no readable notebook to grade"
        elif job.engine == "split":
            from course_admin.split_grading import grade_split_job

            error = grade_split_job(job, work, dest, present, cells, files, flags)
        else:
            error = _grade_nbgrader(job, work, course, dest, present, cells, files, flags)
    except Exception as exc:  # noqa: BLE001  (a job reports, it does not crash the batch)
        error = f"grading error: {type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "student": job.student, "assignment": job.assignment, "cells": cells,
        "score": sum(s or 0.0 for nb in cells.values() for s in nb.values()),
        "max_score": sum(m for nb in job.expected.values() for m in nb.values()),
        "flags": flags, "error": error, "seconds": round(time.monotonic() - start, 3),
        "digest": digest, "timestamp": timestamp, "files": files,
    }


def warm_up() -> None:
    """Import nbgrader's application and gradebook API (before a worker's first job, and in
    the parent before a process pool forks: see batch.py)."""
    import nbgrader.api  # noqa: F401
    import nbgrader.apps.nbgraderapp  # noqa: F401


def find_submissions(course_root: Path, assignment: str) -> dict[str, Path]:
    """student id -> ``submitted/<student>/<assignment>`` for every submission on disk."""
    base = course_root / "submitted"
    if not base.is_dir():
        return {}
    return {p.parent.name: p for p in sorted(base.glob(f"*/{assignment}")) if p.is_dir()}


def make_executor(kind: str, workers: int, scheduler: str | None = None
                  ) -> tuple[cf.Executor, object | None]:
    """An executor of the given kind ('process', 'thread' or 'dask') and the object to close
    afterwards (the Dask client and its local cluster), if any."""
    if kind == "process":
        # forkserver, not fork: the parent may have TensorFlow loaded (a test run, a notebook),
        # and a forked TensorFlow deadlocks at its first operation in the child
        if "forkserver" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("forkserver")
            # each worker forks from a server that imported these once (not TensorFlow)
            context.set_forkserver_preload(["course_admin.grading", "nbgrader.api",
                                            "nbgrader.apps.nbgraderapp"])
        else:
            context = multiprocessing.get_context("spawn")
        return cf.ProcessPoolExecutor(max_workers=workers, mp_context=context), None
    if kind == "thread":
        return cf.ThreadPoolExecutor(max_workers=workers), None
    if kind == "dask":
        from distributed import Client, LocalCluster

        if scheduler:
            client = Client(scheduler)
            return client.get_executor(pure=False), client
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)

        class _Closer:
            def close(self) -> None:
                client.close()
                cluster.close()

        return client.get_executor(pure=False), _Closer()
    raise ValueError(f"unknown executor {kind!r}: process, thread or dask")
