"""Where a course keeps things: one definition of the repository root and the gradebook.

``nbgrader_config.py`` (which nbgrader reads on its own, without this package) computes the
same gradebook path for the course root it sits in.
"""

from __future__ import annotations

from pathlib import Path

#: the checkout this package lives in (the course root when it is used from a checkout)
REPO_ROOT = Path(__file__).resolve().parent.parent

GRADEBOOK_NAME = "gradebook.db"


def gradebook_url(course_root: Path) -> str:
    """The SQLAlchemy URL of ``course_root``'s gradebook (``gradebook.db`` at its root)."""
    return "sqlite:///" + str(Path(course_root) / GRADEBOOK_NAME)
