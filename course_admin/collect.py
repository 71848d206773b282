"""Bring a class's submissions into ``submitted/<student>/<assignment>/``.

Accepted layouts (a directory, or a ``.zip`` of one):

* one folder per student: ``<student>/<assignment>/<files>`` (nbgrader's ``submitted/``
  layout), or ``<student>/<files>`` with ``--assignment``;
* flat files named by a learning-management system, nbgrader ``zip_collect`` style, matched
  by a regular expression with the named groups ``student_id`` and ``file_id`` (and
  optionally ``timestamp``), e.g. ``ps01_jdoe_attempt_2027-01-20-12-00-00_ps01.ipynb``.

Every file is either copied or listed in the report: unmatched names, unknown assignments,
invalid student ids, notebooks that are not valid JSON, unexpected file names.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

#: nbgrader's documented zip_collect example: ``<anything>_<student>_attempt_<time>_<file>``
DEFAULT_PATTERN = r".*_(?P<student_id>\w+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>.*)"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass
class CollectReport:
    """What :func:`collect` did and every problem it found."""

    copied: dict[str, list[str]] = field(default_factory=dict)  # "student/assignment" -> files
    unmatched: list[str] = field(default_factory=list)
    unknown_assignment: list[str] = field(default_factory=list)
    bad_student: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as text lines."""
        out = [f"collected {len(self.copied)} submission(s)"]
        for key, files in sorted(self.copied.items()):
            out.append(f"  {key}: {', '.join(sorted(files))}")
        for title, items in (("unmatched (not copied)", self.unmatched),
                             ("unknown assignment (not copied)", self.unknown_assignment),
                             ("invalid student id (not copied)", self.bad_student),
                             ("malformed notebook (copied; scores zero)", self.malformed),
                             ("unexpected file name (copied)", self.unexpected)):
            if items:
                out.append(f"{title}: {len(items)}")
                out += [f"  {item}" for item in sorted(items)]
        return out

    @property
    def problems(self) -> int:
        """How many files were not copied or are suspect."""
        return sum(map(len, (self.unmatched, self.unknown_assignment, self.bad_student,
                             self.malformed, self.unexpected)))


def _notebooks(course_root: Path, assignment: str) -> set[str]:
    return {p.name for p in (course_root / "source" / assignment).glob("*.ipynb")}


def _is_notebook(path: Path) -> bool:
    try:
        data = json.loads(path.read_text())
        return isinstance(data, dict) and "cells" in data
    except (ValueError, UnicodeDecodeError):
        return False


def _place(report: CollectReport, course_root: Path, student: str, assignment: str,
           files: dict[str, Path], timestamp: str | None, label: str) -> None:
    """Copy one student's files for one assignment (replacing an earlier copy)."""
    if not STUDENT_ID.match(student):
        report.bad_student.append(label)
        return
    dest = course_root / "submitted" / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    expected = _notebooks(course_root, assignment)
    for name, src in files.items():
        shutil.copy2(src, dest / name)
        if name.endswith(".ipynb") and not _is_notebook(src):
            report.malformed.append(f"{label}/{name}")
        elif name.endswith(".ipynb") and name not in expected:
            report.unexpected.append(f"{label}/{name}")
    if not (dest / "timestamp.txt").exists():
        stamp = timestamp or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        (dest / "timestamp.txt").write_text(stamp)
    report.copied[f"{student}/{assignment}"] = sorted(files)


def collect(source: Path, course_root: Path, assignment: str | None = None,
            pattern: str = DEFAULT_PATTERN) -> CollectReport:
    """Copy the submissions in ``source`` (a directory or a .zip) into ``course_root``'s
    ``submitted/``; see the module docstring for the layouts."""
    known = {p.name for p in (course_root / "source").iterdir() if p.is_dir()}
    if assignment is not None and assignment not in known:
        raise ValueError(f"unknown assignment {assignment!r}; known: {sorted(known)}")
    if source.suffix == ".zip":
        with tempfile.TemporaryDirectory() as tmp:
            with zipfile.ZipFile(source) as zf:
                for info in zf.infolist():
                    target = (Path(tmp) / info.filename).resolve()
                    if not target.is_relative_to(Path(tmp).resolve()):
                        raise ValueError(f"unsafe path in {source}: {info.filename}")
                zf.extractall(tmp)
            return collect(Path(tmp), course_root, assignment, pattern)
    if not source.is_dir():
        raise ValueError(f"{source} is neither a directory nor a .zip")
    report = CollectReport()
    regex = re.compile(pattern)
    flat: dict[tuple[str, str], tuple[dict[str, Path], str | None]] = {}
    for entry in sorted(source.iterdir()):
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            continue
        if entry.is_dir():
            subdirs = [d for d in entry.iterdir() if d.is_dir()]
            loose = {f.name: f for f in entry.iterdir() if f.is_file()}
            if subdirs:
                for sub in subdirs:
                    if sub.name not in known:
                        report.unknown_assignment.append(f"{entry.name}/{sub.name}")
                        continue
                    files = {f.name: f for f in sub.iterdir() if f.is_file()}
                    _place(report, course_root, entry.name, sub.name, files, None,
                           f"{entry.name}/{sub.name}")
                report.unmatched += [f"{entry.name}/{name}" for name in loose]
            elif assignment is not None:
                _place(report, course_root, entry.name, assignment, loose, None, entry.name)
            else:
                report.unmatched += [f"{entry.name}/{n} (no assignment folder; use "
                                     "--assignment)" for n in loose]
            continue
        match = regex.match(entry.name)
        if not match or assignment is None:
            report.unmatched.append(entry.name + ("" if match else " (name does not match "
                                                  "the pattern)"))
            continue
        key = (match.group("student_id"), assignment)
        stamp = match.groupdict().get("timestamp")
        files, _ = flat.setdefault(key, ({}, stamp))
        files[match.group("file_id")] = entry
    for (student, name), (files, stamp) in flat.items():
        _place(report, course_root, student, name, files, stamp, f"{student}/{name}")
    return report
