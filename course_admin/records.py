"""The one real gradebook and the results journal.

Every finished job is first written into the gradebook (scores *set*, never added, so a
student graded twice still counts once) and into ``autograded/<student>/<assignment>/``,
then appended to the journal ``autograded/.course-journal.jsonl`` as one line written with a
single ``write`` and ``fsync``. A batch killed at any point and started again regrades only
the students without a journal line for their current submission.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from course_admin.layout import gradebook_url
from course_admin.runner import run_nbgrader

JOURNAL_NAME = ".course-journal.jsonl"


class Journal:
    """Append-only JSON-lines log of finished grading jobs (one line per student and run)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self, assignment: str | None = None) -> list[dict]:
        """Every complete line (a torn last line of a killed run is skipped)."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if assignment is None or entry.get("assignment") == assignment:
                out.append(entry)
        return out

    def done(self, assignment: str) -> dict[str, str]:
        """student -> digest of the submission last graded for ``assignment``."""
        return {e["student"]: e["digest"] for e in self.entries(assignment)}

    def append(self, entry: dict) -> None:
        """Add one line atomically (a single O_APPEND write, then fsync)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = (json.dumps(entry, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # a torn line from a killed run must not swallow this one
            if os.fstat(fd).st_size and not self.path.read_bytes().endswith(b"\n"):
                data = b"\n" + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def drop(self, assignment: str, students: set[str] | None = None) -> None:
        """Forget ``assignment`` (or only ``students``' entries): rewritten atomically."""
        if not self.path.exists():
            return
        keep = [e for e in self.entries() if not (
            e.get("assignment") == assignment and (students is None or e["student"] in students))]
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".journal-")
        with os.fdopen(fd, "w") as fh:
            fh.writelines(json.dumps(e, sort_keys=True) + "\n" for e in keep)
        os.replace(tmp, self.path)


def journal_for(course_root: Path) -> Journal:
    """The course's journal, ``autograded/.course-journal.jsonl``."""
    return Journal(course_root / "autograded" / JOURNAL_NAME)


def has_assignment(course_root: Path, assignment: str) -> bool:
    """Whether the real gradebook knows ``assignment`` and its notebooks."""
    from nbgrader.api import Gradebook, MissingEntry

    if not (course_root / "gradebook.db").exists():
        return False
    with Gradebook(gradebook_url(course_root)) as gb:
        try:
            return bool(gb.find_assignment(assignment).notebooks)
        except MissingEntry:
            return False


def register_assignment(course_root: Path, template: Path, assignment: str,
                        duedate: str | None = None) -> None:
    """Put ``assignment``'s cells into the real gradebook, when it lacks them, by running
    ``nbgrader generate_assignment`` in the template with the real gradebook's URL (the
    template's own release is thrown away); set the due date when given."""
    from nbgrader.api import Gradebook

    real, fresh = course_root / "gradebook.db", template / "gradebook.db"
    if not real.exists() and fresh.exists() and fresh.resolve() != real.resolve():
        shutil.copy2(fresh, real)  # a new course: the template's gradebook is exactly this
    if not has_assignment(course_root, assignment):
        scratch = Path(tempfile.mkdtemp(prefix="course-register-"))
        try:
            shutil.copy2(template / "nbgrader_config.py", scratch / "nbgrader_config.py")
            shutil.copytree(course_root / "source" / assignment, scratch / "source" / assignment)
            status, log = run_nbgrader(
                scratch, ["generate_assignment", assignment, "--force",
                          f"--CourseDirectory.db_url={gradebook_url(course_root)}"], 600)
            if status != 0:
                raise RuntimeError(f"registering {assignment} failed:\n{log[-4000:]}")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if duedate:
        with Gradebook(gradebook_url(course_root)) as gb:
            gb.update_or_create_assignment(assignment, duedate=duedate)


def _write_files(course_root: Path, student: str, assignment: str,
                 files: dict[str, bytes]) -> None:
    """Replace ``autograded/<student>/<assignment>/`` with ``files`` (written beside it,
    then swapped in)."""
    target = course_root / "autograded" / student / assignment
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{assignment}-"))
    for rel, data in files.items():
        path = staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if target.exists():
        old = target.with_name(f".{assignment}-old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)


def record(course_root: Path, result: dict) -> None:
    """Write one job's result into the gradebook and ``autograded/`` (scores are set, and
    clamped to each cell's maximum from the real gradebook)."""
    from nbgrader import utils
    from nbgrader.api import Gradebook

    student, assignment = result["student"], result["assignment"]
    with Gradebook(gradebook_url(course_root)) as gb, warnings.catch_warnings():
        # nbgrader's own update_or_create_submission trips SQLAlchemy's autoflush notices
        warnings.filterwarnings("ignore", message=".*not in session.*")
        gb.update_or_create_student(student)
        kwargs = {}
        try:
            if result.get("timestamp"):
                kwargs["timestamp"] = utils.parse_utc(result["timestamp"])
        except (ValueError, TypeError, OverflowError):
            pass  # an unreadable timestamp.txt: recorded without a submission time
        submission = gb.update_or_create_submission(assignment, student, **kwargs)
        for nb in submission.notebooks:
            scores = result["cells"].get(nb.name, {})
            for grade in nb.grades:
                score = scores.get(grade.name, 0.0)
                if score is None:
                    grade.auto_score = None
                    grade.needs_manual_grade = True
                else:
                    grade.auto_score = min(max(float(score), 0.0), float(grade.max_score))
                    grade.needs_manual_grade = False
            nb.flagged = bool(result.get("flags") or result.get("error"))
        gb.db.commit()
    _write_files(course_root, student, assignment, result.get("files", {}))


def journal_entry(result: dict) -> dict:
    """The journal line of a result (everything but the file contents)."""
    return {k: v for k, v in result.items() if k != "files"}
