"""Where a course keeps things: one definition of the repository root and the gradebook.

``nbgrader_config.py`` (which nbgrader reads on its own, without this package) computes the
same gradebook path for the course root it sits in.
"""

from __future__ import annotations

from pathlib import Path

#: the checkout this package lives in (the course root when it is used from a checkout)
REPO_ROOT = Path(__file__).resolve().parent.parent

GRADEBOOK_NAME = "gradebook.db"
#: nbgrader's course id and the course-local exchange (``c.CourseDirectory.course_id`` and
#: ``c.Exchange.root`` of ``nbgrader_config.py``; tests/course_admin/test_publish.py checks)
COURSE_ID = "cnn-course"
EXCHANGE_NAME = ".exchange"


def outbound(course_root: Path, assignment: str) -> Path:
    """Where the exchange holds ``assignment`` as released to students (what the
    Assignment List panel offers to fetch)."""
    return Path(course_root) / EXCHANGE_NAME / COURSE_ID / "outbound" / assignment


def gradebook_url(course_root: Path) -> str:
    """The SQLAlchemy URL of ``course_root``'s gradebook (``gradebook.db`` at its root)."""
    return "sqlite:///" + str(Path(course_root) / GRADEBOOK_NAME)
