"""Drive nbgrader for this course: release, submit as a student, autograde, read grades.

Used by the instructor's ``make release`` and by the tests that prove every
assignment round-trips: the reference solution gets full marks, the untouched
release gets zero, one wrong answer loses exactly its question's points.

Everything runs nbgrader's own command line in a *course directory* (a folder
with ``nbgrader_config.py``, ``source/`` and ``release/``), so what is tested
is what instructors run.
"""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_admin.layout import REPO_ROOT, gradebook_url
from course_admin.markers import MARKER_LINE
from course_admin.runner import _bin, run_command

#: cell metadata written by execution or by front ends, not by nbgrader
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "jupyter", "tags_volatile")


@dataclass(frozen=True)
class NotebookGrade:
    """One autograded notebook: total and per test cell (grade_id -> (score, max))."""

    score: float
    max_score: float
    cells: dict[str, tuple[float, float]]


def assignments(root: Path = REPO_ROOT) -> list[str]:
    """Assignment names: the folders of ``source/`` (sorted)."""
    return sorted(p.name for p in (root / "source").iterdir() if p.is_dir())


def nbgrader(course_dir: Path, *args: str, timeout: float = 1800) -> str:
    """Run ``nbgrader *args`` in ``course_dir`` through the course's one launcher
    (:func:`course_admin.runner.run_command`, unsandboxed); return its log, raise with the
    log on failure or timeout."""
    status, log = run_command([_bin("nbgrader"), *args], course_dir, timeout)
    if status != 0:
        what = "timed out" if status is None else f"exit {status}"
        raise RuntimeError(f"`nbgrader {' '.join(args)}` failed in {course_dir} ({what}):\n"
                           f"{log[-8000:]}")
    return log


def make_course_copy(dest: Path, root: Path = REPO_ROOT) -> Path:
    """Copy ``nbgrader_config.py`` and ``source/`` into ``dest``: a fresh course
    directory with an empty gradebook (the config computes its root from its
    own location)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(root / "source", dest / "source", dirs_exist_ok=True)
    return dest


def generate_release(course_dir: Path, assignment: str) -> Path:
    """``nbgrader generate_assignment --force``; returns ``release/<assignment>``."""
    nbgrader(course_dir, "generate_assignment", assignment, "--force")
    return course_dir / "release" / assignment


def normalise_notebook(nb: nbformat.NotebookNode) -> dict:
    """A notebook as plain data without volatile metadata (execution times,
    UI state), for comparing a committed release with a regenerated one."""
    data = json.loads(json.dumps(nb))
    for cell in data["cells"]:
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    data["metadata"].pop("widgets", None)
    return data


def strip_markers(source: str) -> str:
    """Remove nbgrader's BEGIN/END SOLUTION (and hidden-test) marker lines."""
    kept = (line for line in source.splitlines() if not MARKER_LINE.match(line))
    return "\n".join(kept).strip("\n")


def solution_cells(source_nb: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> the reference answer (markers stripped) of every solution cell."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: strip_markers(cell.source)
        for cell in source_nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def fill_answers(
    release_nb: nbformat.NotebookNode, answers: dict[str, str]
) -> nbformat.NotebookNode:
    """A student's submission: the release notebook with the given answer cells
    (by grade_id) replaced; other cells untouched."""
    nb = copy.deepcopy(release_nb)
    unknown = set(answers) - {
        c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells
    }
    if unknown:
        raise KeyError(f"no answer cells with grade_id {sorted(unknown)} in the release notebook")
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers and cell.metadata["nbgrader"].get("solution"):
            cell.source = answers[grade_id]
    return nb


def submit(course_dir: Path, assignment: str, student: str, notebooks: dict[str, object]) -> Path:
    """Place notebooks (name -> NotebookNode) as ``submitted/<student>/<assignment>/``."""
    folder = course_dir / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / name)
    (folder / "timestamp.txt").write_text("2026-01-01 12:00:00.000000 UTC")
    return folder


def autograde(course_dir: Path, assignment: str) -> None:
    """``nbgrader autograde`` every submission of ``assignment`` (creating students)."""
    nbgrader(course_dir, "autograde", assignment, "--create", "--force")


def read_grades(course_dir: Path, assignment: str, student: str) -> dict[str, NotebookGrade]:
    """notebook file name (``x.ipynb``) -> :class:`NotebookGrade` from the gradebook."""
    from nbgrader.api import Gradebook

    url = gradebook_url(course_dir)
    out = {}
    with Gradebook(url) as gb:
        submission = gb.find_submission(assignment, student)
        for nb in submission.notebooks:
            cells = {g.name: (float(g.score), float(g.max_score)) for g in nb.grades}
            out[nb.name + ".ipynb"] = NotebookGrade(float(nb.score), float(nb.max_score), cells)
    return out


def write_release(names: list[str] | None = None, root: Path = REPO_ROOT) -> list[Path]:
    """Regenerate ``release/<assignment>`` from ``source/`` for the named (default:
    all) assignments.

    nbgrader runs in a temporary copy of the course, so the instructor's own
    gradebook (and its submissions, which make nbgrader refuse) is not touched.
    """
    import tempfile

    names = names or assignments(root)
    unknown = sorted(set(names) - set(assignments(root)))
    if unknown:
        raise ValueError(f"no assignment(s) {unknown} in {root / 'source'}; "
                         f"known: {assignments(root)}")
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        course = make_course_copy(Path(tmp) / "course", root)
        for name in names:
            fresh = generate_release(course, name)
            target = root / "release" / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(fresh, target)
            written.append(target)
    return written

