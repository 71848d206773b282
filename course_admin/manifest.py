"""The course manifest (``course/manifest.toml``): lectures, assignments, points, due dates.

One machine-readable description of the course, checked against the files on disk:

* every lecture notebook ``course/NN_*.ipynb`` has an entry, and every entry's notebook exists;
* every assignment folder ``source/psNN/`` has an entry (and the reverse), and the points an
  entry states are the points in the notebooks' nbgrader metadata;
* ``course/SYLLABUS.md`` is generated from the manifest by
  :func:`course_admin.syllabus.syllabus_markdown`.

Command line::

    python -m course_admin.manifest check      # validate; exit status 1 with the problems
    python -m course_admin.manifest syllabus   # rewrite course/SYLLABUS.md
    python -m course_admin.manifest estimate   # print the time estimate of every lecture
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from course_admin.layout import REPO_ROOT

MANIFEST = REPO_ROOT / "course" / "manifest.toml"
LECTURE_FILE = re.compile(r"^(\d\d)_\w+\.ipynb$")
ASSIGNMENT_ID = re.compile(r"^ps\d\d$")
GOALS_RANGE = (3, 5)
#: time estimate: markdown read at this many words per minute ...
WORDS_PER_MINUTE = 80
#: ... plus this many minutes per code cell (read, run, look at the output), rounded up to 5
MINUTES_PER_CODE_CELL = 1.5


class ManifestError(ValueError):
    """The manifest is invalid; ``problems`` lists every problem found, one per line."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class Lecture:
    """One lecture: ``course/<notebook>``, held on ``date``."""

    number: int
    notebook: str
    title: str
    date: dt.date
    minutes: int
    goals: tuple[str, ...]
    assignment: str | None


@dataclass(frozen=True)
class Assignment:
    """One nbgrader assignment: ``source/<id>/<notebooks>``."""

    id: str
    title: str
    notebooks: tuple[str, ...]
    lecture: int | None
    points: float
    due: dt.date
    note: str


@dataclass(frozen=True)
class Manifest:
    """The validated manifest; ``root`` is the course repository it describes."""

    course_id: str
    title: str
    lectures: tuple[Lecture, ...]
    assignments: tuple[Assignment, ...]
    path: Path
    root: Path

    @property
    def total_minutes(self) -> int:
        """Estimated time of all lectures."""
        return sum(lec.minutes for lec in self.lectures)

    @property
    def total_points(self) -> float:
        """Points of all assignments."""
        return sum(a.points for a in self.assignments)


def _cells(notebook: Path) -> list[dict]:
    """The cells of an nbformat-4 notebook, each ``source`` joined into one string (plain
    JSON: importing nbformat costs seconds)."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return cells


def nbgrader_points(notebook: Path) -> float:
    """Points of a source notebook: the sum of ``points`` over its graded cells and tasks."""
    total = 0.0
    for cell in _cells(notebook):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") or meta.get("task"):
            total += float(meta.get("points", 0))
    return total


def estimate_minutes(notebook: Path) -> int:
    """Estimated study time of a lecture notebook, in minutes (a multiple of 5).

    Markdown is read at :data:`WORDS_PER_MINUTE`; each code cell adds
    :data:`MINUTES_PER_CODE_CELL`. Full-mode training time is not included.
    """
    cells = _cells(notebook)
    words = sum(len(c["source"].split()) for c in cells if c["cell_type"] == "markdown")
    code_cells = sum(1 for c in cells if c["cell_type"] == "code")
    minutes = words / WORDS_PER_MINUTE + code_cells * MINUTES_PER_CODE_CELL
    return max(5, 5 * math.ceil(minutes / 5))


#: the keys of each kind of table: key -> (accepted types, required)
_TOP = {"course_id": (str, True), "title": (str, True), "lecture": (list, True),
        "assignment": (list, True)}
_LECTURE = {"number": (int, True), "notebook": (str, True), "title": (str, True),
            "date": (dt.date, True), "minutes": (int, True), "goals": (list, True),
            "assignment": (str, False)}
_ASSIGNMENT = {"id": (str, True), "title": (str, True), "notebooks": (list, True),
               "lecture": (int, False), "points": ((int, float), True), "due": (dt.date, True),
               "note": (str, False)}
_TYPE_NAMES = {int: "an integer", str: "a string", list: "a list", float: "a number",
               dt.date: "an ISO date YYYY-MM-DD", dict: "a table"}


def _date(value: object) -> dt.date | None:
    """A date from a TOML date or an ISO string ``YYYY-MM-DD``; None if it is neither."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    is_date = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    return value if is_date else None


def _fields(table: object, spec: dict, where: str, problems: list[str]) -> dict | None:
    """The fields of one TOML table checked against ``spec``; None when any is unusable."""
    if not isinstance(table, dict):
        problems.append(f"{where}: should be a table, not {table!r}")
        return None
    out: dict = {}
    ok = True
    for key in sorted(set(table) - set(spec)):
        problems.append(f"{where}: unknown key '{key}' (known: {', '.join(spec)})")
    for key, (kind, required) in spec.items():
        if key not in table:
            if required:
                problems.append(f"{where}: missing key '{key}'")
                ok = False
            continue
        value = table[key]
        if kind is dt.date:
            out[key] = _date(value)
            if out[key] is None:
                problems.append(f"{where}: bad date '{key}' = {value!r}: "
                                "expected an ISO date YYYY-MM-DD")
                ok = False
        elif isinstance(value, bool) or not isinstance(value, kind):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            names = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            problems.append(f"{where}: '{key}' should be {names}, not {value!r}")
            ok = False
        else:
            out[key] = value
    return out if ok else None


def _read_lecture(table: object, index: int, root: Path, problems: list[str]) -> Lecture | None:
    """One ``[[lecture]]`` table, checked against ``course/``; None when it is unusable."""
    number = table.get("number") if isinstance(table, dict) else None
    where = f"lecture {number:02d}" if isinstance(number, int) else f"[[lecture]] #{index + 1}"
    f = _fields(table, _LECTURE, where, problems)
    if f is None:
        return None
    match = LECTURE_FILE.match(f["notebook"])
    if not match:
        problems.append(f"{where}: notebook {f['notebook']!r} is not named NN_topic.ipynb")
    elif int(match.group(1)) != f["number"]:
        problems.append(f"{where}: notebook {f['notebook']!r} does not start with "
                        f"{f['number']:02d}_")
    if not (root / "course" / f["notebook"]).is_file():
        problems.append(f"{where}: missing notebook course/{f['notebook']}")
    if f["minutes"] <= 0:
        problems.append(f"{where}: minutes should be positive, not {f['minutes']}")
    lo, hi = GOALS_RANGE
    goals = f["goals"]
    if not lo <= len(goals) <= hi or not all(isinstance(g, str) and g.strip() for g in goals):
        problems.append(f"{where}: goals should be {lo}-{hi} non-empty strings, "
                        f"not {len(goals)} item(s)")
    return Lecture(f["number"], f["notebook"], f["title"], f["date"], f["minutes"],
                   tuple(goals), f.get("assignment"))


def _read_assignment(table: object, index: int, root: Path,
                     problems: list[str]) -> Assignment | None:
    """One ``[[assignment]]`` table, checked against ``source/``; None when it is unusable."""
    aid = table.get("id") if isinstance(table, dict) else None
    where = f"assignment {aid}" if isinstance(aid, str) else f"[[assignment]] #{index + 1}"
    f = _fields(table, _ASSIGNMENT, where, problems)
    if f is None:
        return None
    notebooks = f["notebooks"]
    if not ASSIGNMENT_ID.match(aid):
        problems.append(f"{where}: id should look like ps01")
    if not notebooks or not all(isinstance(n, str) for n in notebooks):
        problems.append(f"{where}: notebooks should be a non-empty list of file names")
        return None
    folder = root / "source" / aid
    missing = [n for n in notebooks if not (folder / n).is_file()]
    for name in missing:
        problems.append(f"{where}: missing notebook source/{aid}/{name}")
    try:
        actual = sum(nbgrader_points(folder / n) for n in notebooks) if not missing else None
    except (ValueError, KeyError, AttributeError) as err:
        problems.append(f"{where}: cannot read the nbgrader metadata in source/{aid}/: {err!r}")
        actual = None
    if actual is not None and actual != f["points"]:
        problems.append(f"{where}: points mismatch: the manifest says "
                        f"{format_points(f['points'])}, the nbgrader metadata of source/{aid}/ "
                        f"gives {format_points(actual)}")
    return Assignment(aid, f["title"], tuple(notebooks), f.get("lecture"), float(f["points"]),
                      f["due"], f.get("note", ""))


def _cross_check(lectures: list[Lecture], assignments: list[Assignment],
                 problems: list[str]) -> None:
    """Duplicates, course order, and the lecture <-> assignment links and dates."""
    for kind, keys in (("lecture number", [lec.number for lec in lectures]),
                       ("lecture notebook", [lec.notebook for lec in lectures]),
                       ("assignment id", [a.id for a in assignments])):
        for key in sorted({k for k in keys if keys.count(k) > 1}, key=str):
            problems.append(f"duplicate {kind} {key!r}")
    for before, after in zip(lectures, lectures[1:], strict=False):
        if not (before.number < after.number and before.date < after.date):
            problems.append(f"lectures {before.number:02d} and {after.number:02d} are not in "
                            "course order (numbers and dates must increase)")
    by_number = {lec.number: lec for lec in lectures}
    by_id = {a.id: a for a in assignments}
    for lec in lectures:
        a = by_id.get(lec.assignment) if lec.assignment else None
        if lec.assignment and a is None:
            problems.append(f"lecture {lec.number:02d}: unknown assignment "
                            f"{lec.assignment!r} (no [[assignment]] with that id)")
        elif a is not None and a.lecture != lec.number:
            problems.append(f"lecture {lec.number:02d} says assignment = {a.id!r}, but {a.id} "
                            f"says lecture = {a.lecture}")
    for a in assignments:
        lec = by_number.get(a.lecture) if a.lecture is not None else None
        if a.lecture is not None and lec is None:
            problems.append(f"assignment {a.id}: unknown lecture {a.lecture}")
        elif lec is not None and lec.assignment != a.id:
            problems.append(f"assignment {a.id} says lecture = {a.lecture}, but lecture "
                            f"{a.lecture:02d} says assignment = {lec.assignment!r}")
        elif lec is not None and a.due <= lec.date:
            problems.append(f"assignment {a.id}: due {a.due} is not after its lecture "
                            f"({lec.date})")


def load_manifest(path: Path = MANIFEST, root: Path | None = None) -> Manifest:
    """Read and validate a manifest; raise :class:`ManifestError` listing every problem.

    ``root`` (default: the manifest's grandparent) holds ``course/`` and ``source/``.
    """
    path = Path(path)
    root = Path(root) if root is not None else path.resolve().parent.parent
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ManifestError(path, ["file not found"]) from err
    except tomllib.TOMLDecodeError as err:
        raise ManifestError(path, [f"not valid TOML: {err}"]) from err
    problems: list[str] = []
    top = _fields(data, _TOP, "top level", problems)
    if top is None:
        raise ManifestError(path, problems)
    lectures = [_read_lecture(t, i, root, problems) for i, t in enumerate(top["lecture"])]
    assignments = [_read_assignment(t, i, root, problems)
                   for i, t in enumerate(top["assignment"])]
    lectures = [lec for lec in lectures if lec is not None]
    assignments = [a for a in assignments if a is not None]
    _cross_check(lectures, assignments, problems)
    if problems:
        raise ManifestError(path, problems)
    course_id, title = top["course_id"], top["title"]
    return Manifest(course_id, title, tuple(lectures), tuple(assignments), path, root)


def unlisted(manifest: Manifest) -> list[str]:
    """Files on disk the manifest does not list: lecture notebooks ``course/NN_*.ipynb``,
    assignment folders ``source/psNN/`` and notebooks inside them."""
    root = manifest.root
    listed = {lec.notebook for lec in manifest.lectures}
    problems = [f"course/{p.name} is not in the manifest"
                for p in sorted((root / "course").glob("*.ipynb"))
                if LECTURE_FILE.match(p.name) and p.name not in listed]
    ids = {a.id: a for a in manifest.assignments}
    source = root / "source"
    folders = sorted(p for p in source.iterdir() if p.is_dir()) if source.is_dir() else []
    for folder in folders:
        if folder.name not in ids:
            problems.append(f"source/{folder.name}/ is not in the manifest")
            continue
        for nb in sorted(folder.glob("*.ipynb")):
            if nb.name not in ids[folder.name].notebooks:
                problems.append(f"source/{folder.name}/{nb.name} is not in the manifest")
    return problems


def format_points(points: float) -> str:
    """Points as written in the syllabus and messages: ``10`` for 10.0, ``2.5`` for 2.5."""
    return str(int(points)) if float(points).is_integer() else f"{points:g}"


def main(argv: list[str] | None = None) -> int:
    """``python -m course_admin.manifest {check,syllabus,estimate} [--manifest PATH]``"""
    parser = argparse.ArgumentParser(prog="python -m course_admin.manifest",
                                     description="Validate the course manifest; write the "
                                                 "syllabus (SYLLABUS.md next to the manifest).")
    parser.add_argument("command", choices=["check", "syllabus", "estimate"])
    parser.add_argument("--manifest", type=Path, default=MANIFEST,
                        help="manifest file (default: course/manifest.toml)")
    args = parser.parse_args(argv)
    from course_admin.syllabus import syllabus_markdown  # it imports this module

    syllabus = args.manifest.parent / "SYLLABUS.md"
    try:
        m = load_manifest(args.manifest)
    except ManifestError as err:
        print(err, file=sys.stderr)
        return 1
    if args.command == "syllabus":
        syllabus.write_text(syllabus_markdown(m), encoding="utf-8")
        print(f"wrote {os.path.relpath(syllabus)}")
    elif args.command == "estimate":
        for lec in m.lectures:
            print(f"{lec.notebook}: estimate {estimate_minutes(m.root / 'course' / lec.notebook)}"
                  f" min, manifest {lec.minutes} min")
    else:
        problems = unlisted(m)
        if not syllabus.is_file() or syllabus.read_text(encoding="utf-8") != syllabus_markdown(m):
            problems.append(f"{os.path.relpath(syllabus)} is out of date with the manifest: run "
                            "`python -m course_admin.manifest syllabus`")
        if problems:
            print("\n".join(f"  - {p}" for p in problems), file=sys.stderr)
            return 1
        print(f"{os.path.relpath(args.manifest)}: OK: {len(m.lectures)} lectures, "
              f"{len(m.assignments)} assignments, {format_points(m.total_points)} points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
