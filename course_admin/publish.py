"""``course publish``: the course as JupyterLab's nbgrader panels expect it at first start.

On a fresh clone the Assignment List panel says "Error fetching courses!" (the exchange does
not exist) and the formgrader shows every due date as "None" (the gradebook does not exist)
until someone runs ``nbgrader release_assignment`` by hand. :func:`publish` makes both right:

1. every assignment of ``course/manifest.toml`` gets its due date (end of the day) in the
   gradebook (``gradebook.db``, created when missing; its cells are added later, when
   ``course release`` or ``course autograde`` registers the assignment);
2. every assignment of ``release/`` is released to the course-local exchange
   (``.exchange/cnn-course/outbound/``) by ``nbgrader release_assignment``, so the panel lists
   it; an exchange copy equal to ``release/`` is left alone, so ``make lab`` (which runs this
   each time) costs well under a second once done.
"""

from __future__ import annotations

import filecmp
import os
import sys
from pathlib import Path

from course_admin.layout import gradebook_url, outbound
from course_admin.runner import run_nbgrader


class PublishError(RuntimeError):
    """An assignment could not be published (its message says which and why)."""


def due_dates(root: Path) -> dict[str, str]:
    """Assignment -> due date from ``course/manifest.toml`` (``"YYYY-MM-DD 23:59:59"``).

    Args:
        root: the course root.

    Returns:
        One entry per assignment of the manifest; empty when there is no manifest.
    """
    manifest = root / "course" / "manifest.toml"
    if not manifest.exists():
        return {}
    from course_admin.manifest import load_manifest

    return {a.id: f"{a.due.isoformat()} 23:59:59"
            for a in load_manifest(manifest, root).assignments}


def _same_tree(a: Path, b: Path) -> bool:
    """Whether folders ``a`` and ``b`` hold the same files with the same bytes."""
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    if files_a != files_b:
        return False
    return all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)


def set_due_dates(root: Path, dues: dict[str, str]) -> list[str]:
    """Write ``dues`` into the gradebook, creating assignments (without cells) where needed.

    Args:
        root: the course root (its ``gradebook.db``).
        dues: assignment -> due date, as :func:`due_dates` gives.

    Returns:
        The assignments whose due date changed.
    """
    import datetime as dt

    from nbgrader.api import Gradebook, MissingEntry

    # a new gradebook.db is made by nbgrader running the `alembic` executable of this
    # environment, which a `course` started by its full path may not have on PATH
    here = str(Path(sys.executable).parent)
    if here not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")
    changed = []
    with Gradebook(gradebook_url(root)) as gb:
        for name, due in sorted(dues.items()):
            try:
                current = gb.find_assignment(name).duedate
            except MissingEntry:
                current = None
            if current != dt.datetime.fromisoformat(due):
                gb.update_or_create_assignment(name, duedate=due)
                changed.append(name)
    return changed


def release_to_exchange(root: Path, assignment: str) -> bool:
    """Release ``release/<assignment>`` to the course's exchange, replacing an older copy.

    Args:
        root: the course root.
        assignment: an assignment with a folder in ``release/``.

    Returns:
        True when it was released, False when the exchange already held the same files.

    Raises:
        PublishError: ``release/<assignment>`` is missing or nbgrader failed (with its log).
    """
    released, target = root / "release" / assignment, outbound(root, assignment)
    if not released.is_dir():
        raise PublishError(f"{released} is missing: run `course release {assignment}` first")
    if target.is_dir() and _same_tree(released, target):
        return False
    status, log = run_nbgrader(root, ["release_assignment", assignment, "--force"], 120)
    if status != 0:
        tail = log.strip().splitlines()[-1] if log.strip() else "no output"
        raise PublishError(f"nbgrader release_assignment {assignment} failed: {tail}")
    return True


def publish(root: Path, assignments: list[str] | None = None) -> list[str]:
    """Due dates into the gradebook, ``release/`` into the exchange (module docstring).

    Args:
        root: the course root.
        assignments: the ones to release (default: every folder of ``release/``); due dates
            are always set for every assignment of the manifest.

    Returns:
        One line per assignment, for the command line.

    Raises:
        PublishError: an assignment could not be released.
    """
    root = Path(root).resolve()
    dues = due_dates(root)
    changed = set(set_due_dates(root, dues)) if dues else set()
    names = assignments or sorted(p.name for p in (root / "release").glob("ps*") if p.is_dir())
    lines = []
    for name in names:
        fresh = release_to_exchange(root, name)
        due = dues.get(name, "no due date (not in course/manifest.toml)")
        lines.append(f"{name}: due {due}{' (set)' if name in changed else ''}; "
                     f"{'released to' if fresh else 'already in'} "
                     f"{outbound(root, name).relative_to(root)}")
    return lines
