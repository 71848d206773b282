"""``course/SYLLABUS.md``: the course at a glance, written from the manifest.

``python -m course_admin.manifest syllabus`` writes it; ``... check`` fails when the stored file
differs from :func:`syllabus_markdown` of the current manifest.
"""

from __future__ import annotations

import datetime as dt

from course_admin.manifest import Manifest
from course_admin.manifest import format_points as _pts


def _hours(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def syllabus_markdown(manifest: Manifest) -> str:
    """The syllabus as Markdown: schedule, learning goals, assignments, totals."""
    m = manifest
    after = {a.lecture: a for a in m.assignments if a.lecture is not None}
    first = m.lectures[0].date if m.lectures else dt.date.min
    out = [f"# Syllabus: {m.title}", "",
           "<!-- Generated from course/manifest.toml by "
           "`python -m course_admin.manifest syllabus`: do not edit by hand. -->", "",
           f"Course id `{m.course_id}`: {len(m.lectures)} lectures, about "
           f"{_hours(m.total_minutes)} of study time; {len(m.assignments)} assignments, "
           f"{_pts(m.total_points)} points, all autograded by nbgrader.", "",
           "Times are estimated from each notebook's length (reading the text, running and "
           "reading each code cell); full-mode training runs are not included. Assignments are "
           "released after their lecture and due at the end of the day given.", "",
           "## Schedule", "",
           "| week | date | lecture | time | assignment released | points | due |",
           "|---|---|---|---|---|---|---|"]
    for lec in m.lectures:
        a = after.get(lec.number)
        tail = f"`{a.id}` | {_pts(a.points)} | {a.due}" if a else " | | "
        out.append(f"| {(lec.date - first).days // 7 + 1} | {lec.date} | {lec.number:02d} "
                   f"{lec.title} | {lec.minutes} min | {tail} |")
    out += [f"| | | {a.note or 'lecture not listed yet'} | | `{a.id}` | {_pts(a.points)} | "
            f"{a.due} |" for a in m.assignments if a.lecture is None]
    out += [f"| | | **total** | **{_hours(m.total_minutes)}** | | "
            f"**{_pts(m.total_points)}** | |", "", "## Lectures", ""]
    for lec in m.lectures:
        a = after.get(lec.number)
        follow = f"`{a.id}` ({a.title}), {_pts(a.points)} points, due {a.due}." if a else "none."
        out += [f"### {lec.number:02d} · {lec.title}", "",
                f"`course/{lec.notebook}` · {lec.date} · about {lec.minutes} min", "",
                "After this lecture you can:", "", *(f"- {goal}" for goal in lec.goals), "",
                f"Assignment: {follow}", ""]
    out += ["## Assignments", "",
            "| assignment | notebook(s) in `release/` | after lecture | points | due |",
            "|---|---|---|---|---|"]
    for a in m.assignments:
        lec = f"{a.lecture:02d}" if a.lecture is not None else "—"
        lec += f" ({a.note})" if a.note else ""
        books = ", ".join(f"`{a.id}/{n}`" for n in a.notebooks)
        out.append(f"| `{a.id}` {a.title} | {books} | {lec} | {_pts(a.points)} | {a.due} |")
    out += [f"| **total** | | | **{_pts(m.total_points)}** | |", ""]
    return "\n".join(out)
