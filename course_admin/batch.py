"""Grade every submission of an assignment through a ``concurrent.futures.Executor``.

:func:`grade_all` builds the assignment's template once, registers the assignment in the
real gradebook if needed, skips the students the journal already holds (for the same
submission), submits one :func:`~course_admin.grading.grade_one` job per remaining
student, and records each result as it arrives (gradebook, ``autograded/``, journal) with a
tqdm progress bar and ETA on stderr.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from course_admin import records
from course_admin.grading import (
    JOB_PREFIX,
    GradeJob,
    find_submissions,
    grade_one,
    make_executor,
    mark_owner,
    prepare_template,
    remove_abandoned,
    submission_digest,
    warm_up,
)
from course_admin.sandbox import check_available


@dataclass
class BatchOptions:
    """Options of one ``course autograde`` run."""

    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    executor: str = "process"
    scheduler: str | None = None
    cell_timeout: float = 120.0
    notebook_timeout: float = 900.0
    memory_mb: int = 4096
    students: list[str] | None = None
    force: bool = False
    progress: bool = True
    #: grade under bubblewrap (:mod:`course_admin.sandbox`)
    sandbox: bool = True
    #: "split" (tests in the trusted process) or "nbgrader" (see GradeJob.engine)
    engine: str = "split"


@dataclass
class BatchSummary:
    """What a batch did: results recorded now, students skipped (journal), failures."""

    graded: list[dict]
    skipped: list[str]
    failed: dict[str, str]


TEMPLATE_PREFIX = ".course-template-"


def grade_all(course_root: Path, assignment: str, options: BatchOptions,
              executor: cf.Executor | None = None) -> BatchSummary:
    """Grade ``assignment`` for every (or the chosen) student; see the module docstring.

    ``executor``, when given, is used as is (and not shut down); otherwise one is made from
    ``options``. Raises ValueError for an unknown assignment or student, and
    :class:`~course_admin.sandbox.SandboxUnavailable` (a RuntimeError) when
    ``options.sandbox`` is set and bubblewrap cannot run.
    """
    from tqdm import tqdm

    if options.sandbox:
        check_available()

    course_root = course_root.resolve()
    submissions = find_submissions(course_root, assignment)
    if not (course_root / "source" / assignment).is_dir():
        raise ValueError(f"unknown assignment {assignment!r} (no source/{assignment}/)")
    if not submissions:
        raise ValueError(f"nothing to grade: no submitted/<student>/{assignment}/ in "
                         f"{course_root}; bring the submissions in with `course collect PATH "
                         f"--assignment {assignment}` first")
    if options.students:
        unknown = sorted(set(options.students) - set(submissions))
        if unknown:
            raise ValueError(f"no submission of {assignment} for student(s) {unknown}")
        submissions = {s: submissions[s] for s in options.students}
    journal = records.journal_for(course_root)
    if options.force:
        journal.drop(assignment, set(submissions) if options.students else None)
    done = journal.done(assignment)
    todo = {s: p for s, p in submissions.items() if done.get(s) != submission_digest(p)}
    skipped = sorted(set(submissions) - set(todo))
    summary = BatchSummary([], skipped, {})
    if not todo:
        return summary

    # under the course (not /tmp), so Dask workers that share the course directory see it
    (course_root / "autograded").mkdir(exist_ok=True)
    # what a run killed with kill -9 left: its template here, its job folders in the temp dir
    remove_abandoned(course_root / "autograded", TEMPLATE_PREFIX)
    remove_abandoned(Path(tempfile.gettempdir()), JOB_PREFIX)
    tmp = Path(tempfile.mkdtemp(prefix=TEMPLATE_PREFIX, dir=course_root / "autograded"))
    mark_owner(tmp)
    closer = None
    own = executor is None
    # The parent needs nbgrader's gradebook API; process-pool workers fork from a fresh
    # forkserver that imported nbgrader once (see make_executor).
    warm_up()
    if executor is None:
        executor, closer = make_executor(options.executor, options.workers, options.scheduler)
    try:
        # The template is built by one worker while the others import nbgrader: both are
        # start-up costs that would otherwise be paid one after the other.
        for _ in range(max(options.workers - 1, 0)):
            executor.submit(warm_up)
        template, expected, locked = executor.submit(
            prepare_template, course_root, assignment, tmp / "template", options.cell_timeout
        ).result()
        records.register_assignment(course_root, template, assignment)
        sources = {p.stem: p.read_text(encoding="utf-8")
                   for p in (course_root / "source" / assignment).glob("*.ipynb")}
        futures = {
            executor.submit(grade_one, GradeJob(
                str(template), str(path), assignment, student, expected,
                options.notebook_timeout, options.memory_mb, locked=locked,
                cell_timeout=options.cell_timeout, course_root=str(course_root),
                sandbox=options.sandbox, engine=options.engine, sources=sources)): student
            for student, path in todo.items()
        }
        bar = tqdm(total=len(futures), file=sys.stderr, unit="submission",
                   desc=f"autograde {assignment}", disable=not options.progress)
        try:
            for future in cf.as_completed(futures):
                student = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001  (a lost worker: retried next run)
                    summary.failed[student] = f"{type(exc).__name__}: {exc}"
                    bar.update(1)
                    continue
                try:
                    records.record(course_root, result)
                except Exception as exc:  # noqa: BLE001  (not journaled: retried next run)
                    summary.failed[student] = f"recording failed: {type(exc).__name__}: {exc}"
                    bar.update(1)
                    continue
                journal.append(records.journal_entry(result))
                summary.graded.append(result)
                bar.set_postfix_str(f"{student}: {result['score']:g}/{result['max_score']:g}")
                bar.update(1)
        finally:
            bar.close()
    finally:
        if own:
            executor.shutdown(wait=True)
            if closer is not None:
                closer.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary
