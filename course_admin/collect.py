"""Bring a class's submissions into ``submitted/<student>/<assignment>/``.

Accepted layouts (a directory, or a zip archive of one):

* one folder per student: ``<student>/<assignment>/<files>`` (nbgrader's ``submitted/``
  layout), or ``<student>/<files>`` with ``--assignment``; subfolders of a submission are
  copied too (nbgrader keeps them);
* flat files named by a learning-management system, nbgrader ``zip_collect`` style, matched
  by a regular expression with the named groups ``student_id`` and ``file_id`` (and
  optionally ``timestamp``), e.g. ``ps01_jdoe_attempt_2027-01-20-12-00-00_ps01.ipynb``;
  of several attempts of one student the newest is kept;
* any of these inside one wrapping folder (``export/alice/ps01/...``), and submissions
  inside a repeated folder (``alice/ps01/ps01/...``): unwrapped, and said so.

Each submission's ``timestamp.txt`` (what nbgrader's late penalty reads) comes from the
upload, never from the clock: the student's own ``timestamp.txt``, else the time in the
file name, else the zip entry's time, else (a directory) the newest notebook's modification
time.  Times without a zone (names, zip entries) are read in the course's
``c.Exchange.timezone`` from ``nbgrader_config.py``, UTC without one.  A submission with no
time at all gets no ``timestamp.txt``, and the report says so.

Nothing is lost: every file is either copied or listed in the report with the reason
(unmatched names, unknown assignments, invalid student ids, notebooks that are not valid
JSON, unexpected file names, older attempts, empty folders, archive entries that are unsafe
or damaged, system and editor clutter).
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

from course_admin.submission_time import (
    STAMP_FORMAT,
    course_zone,
    name_time,
    stamp_time,
    utc_text,
)
from course_admin.zip_upload import extract_zip

#: nbgrader's documented zip_collect example: ``<anything>_<student>_attempt_<time>_<file>``
DEFAULT_PATTERN = r".*_(?P<student_id>\w+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>.*)"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
#: what operating systems and editors leave beside the files: not copied (listed as ignored)
CLUTTER = re.compile(r"^(\.DS_Store|\._.*|__MACOSX|\.ipynb_checkpoints|__pycache__|"
                     r"Thumbs\.db|desktop\.ini|.*\.pyc)$")


@dataclass
class CollectReport:
    """What :func:`collect` did and every problem it found."""

    copied: dict[str, list[str]] = field(default_factory=dict)  # "student/assignment" -> files
    stamps: dict[str, str] = field(default_factory=dict)  # "student/assignment" -> time, source
    unwrapped: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    unknown_assignment: list[str] = field(default_factory=list)
    bad_student: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    unstamped: list[str] = field(default_factory=list)
    bad_time: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # archive entries and links not taken
    ignored: list[str] = field(default_factory=list)  # clutter (.DS_Store, __MACOSX, ...)

    def _sections(self) -> tuple[tuple[str, list[str]], ...]:
        return (("unmatched (not copied)", self.unmatched),
                ("unknown assignment (not copied)", self.unknown_assignment),
                ("invalid student id (not copied)", self.bad_student),
                ("malformed notebook (copied; scores zero)", self.malformed),
                ("unexpected file name (copied)", self.unexpected),
                ("older attempt (not copied)", self.superseded),
                ("empty submission (not collected)", self.empty),
                ("no time in the upload (not stamped, so never late)", self.unstamped),
                ("time not understood (another source used)", self.bad_time),
                ("not taken from the upload", self.skipped))

    def lines(self) -> list[str]:
        """The report as text lines."""
        out = [f"collected {len(self.copied)} submission(s)"]
        for key, files in sorted(self.copied.items()):
            out.append(f"  {key}: {', '.join(sorted(files))}")
        if self.stamps:
            out.append("submission times (timestamp.txt):")
            out += [f"  {key}: {text}" for key, text in sorted(self.stamps.items())]
        for title, items in (("unwrapped", self.unwrapped), *self._sections(),
                             ("ignored (system or editor files, not copied)", self.ignored)):
            if items:
                out.append(f"{title}: {len(items)}")
                out += [f"  {item}" for item in sorted(items)]
        return out

    @property
    def problems(self) -> int:
        """How many files or submissions were not taken or are suspect (clutter aside)."""
        return sum(len(items) for _, items in self._sections())


@dataclass
class _Upload:
    """The upload being collected, and where its findings go."""

    root: Path
    course_root: Path
    assignment: str | None
    regex: re.Pattern[str]
    known: set[str]
    zone: dt.tzinfo
    report: CollectReport
    entry_times: dict[Path, dt.datetime | None] | None = None  # a zip: file -> entry time

    def rel(self, path: Path) -> str:
        """``path`` as it is named in the upload."""
        return path.relative_to(self.root).as_posix()

    def naive(self, when: dt.datetime, source: str) -> tuple[dt.datetime, str]:
        """A time without a zone, read in the course's zone, and its source's description."""
        if when.tzinfo is not None:
            return when, source
        zone = str(self.zone)
        return when.replace(tzinfo=self.zone), (source if zone == "UTC"
                                                else f"{source}, read as {zone} time")


@dataclass
class _Candidate:
    """One submission found in the upload (several may compete for one student)."""

    student: str
    assignment: str
    files: dict[str, Path]  # path inside the submission -> file
    label: str  # where it is in the upload
    time: dt.datetime | None  # aware
    source: str  # where the time came from
    keep_stamp: bool = False  # the upload's own timestamp.txt is valid: copied as it is


def _notebooks(course_root: Path, assignment: str) -> set[str]:
    return {p.name for p in (course_root / "source" / assignment).glob("*.ipynb")}


def _is_notebook(path: Path) -> bool:
    try:
        data = json.loads(path.read_text())
        return isinstance(data, dict) and "cells" in data
    except (ValueError, UnicodeDecodeError):
        return False


def _visible(up: _Upload, folder: Path) -> list[Path]:
    """``folder``'s entries, sorted, without clutter and links (which are reported)."""
    out = []
    for entry in sorted(folder.iterdir()):
        if CLUTTER.match(entry.name):
            label = up.rel(entry) + ("/" if entry.is_dir() else "")
            if label not in up.report.ignored:
                up.report.ignored.append(label)
        elif entry.is_symlink():
            label = f"{up.rel(entry)}: a symbolic link (not followed)"
            if label not in up.report.skipped:
                up.report.skipped.append(label)
        else:
            out.append(entry)
    return out


def _tree(up: _Upload, folder: Path, prefix: str = "") -> dict[str, Path]:
    """The files under ``folder`` by their path inside it, subfolders included."""
    files: dict[str, Path] = {}
    for entry in _visible(up, folder):
        if entry.is_dir():
            files |= _tree(up, entry, f"{prefix}{entry.name}/")
        else:
            files[prefix + entry.name] = entry
    return files


def _file_time(up: _Upload, files: dict[str, Path]) -> tuple[dt.datetime | None, str]:
    """The newest notebook's time (else the newest file's): the zip entry's, or the
    modification time of a directory's file."""
    notebooks = [p for name, p in files.items() if name.endswith(".ipynb")]
    others = [p for name, p in files.items() if not name.endswith(".ipynb")
              and name != "timestamp.txt"]
    for group in (notebooks, others):
        if up.entry_times is not None:
            times = [t for p in group if (t := up.entry_times.get(p)) is not None]
            if times:
                return up.naive(max(times), "zip entry time")
        elif group:
            newest = max(p.stat().st_mtime for p in group)
            return dt.datetime.fromtimestamp(newest, dt.UTC), "file modification time"
    return None, "no time in the upload"


def _unrepeat(up: _Upload, folder: Path) -> Path:
    """``folder``, or the folder of the same name that is all it holds (``ps01/ps01/``)."""
    while True:
        inner = _visible(up, folder)
        same = len(inner) == 1 and inner[0].name.lower() == folder.name.lower()
        if not same or not inner[0].is_dir():
            return folder
        up.report.unwrapped.append(f"{up.rel(inner[0])}/ (a repeated folder)")
        folder = inner[0]


def _unwrap(up: _Upload) -> Path:
    """The upload's root, or the folder that wraps everything in it (and is no student's)."""
    folder = up.root
    while True:
        entries = _visible(up, folder)
        if len(entries) != 1 or not entries[0].is_dir():
            return folder
        top = entries[0]
        inner = _visible(up, top)
        dirs = [d for d in inner if d.is_dir()]
        files = [f for f in inner if not f.is_dir()]
        if any(d.name in up.known for d in dirs):
            return folder  # a student's folder of assignments
        if files and not dirs and all(up.regex.match(f.name) for f in files):
            what = "the flat files"
        elif dirs and not files and any(
                (g.is_dir() and g.name in up.known)
                or (up.assignment is not None and g.name.endswith(".ipynb"))
                for d in dirs for g in _visible(up, d)):
            what = "the students' folders"
        else:
            return folder
        up.report.unwrapped.append(f"{up.rel(top)}/ (a folder around {what})")
        folder = top


def _folder(up: _Upload, student: str, assignment: str, folder: Path,
            label: str) -> _Candidate | None:
    """The submission in ``folder``; None (reported) when it is empty."""
    files = _tree(up, folder)
    if not files:
        up.report.empty.append(f"{label}/ (nothing in it)")
        return None
    stamp = files.get("timestamp.txt")
    if stamp is not None:
        when = stamp_time(stamp)
        if when is not None:
            return _Candidate(student, assignment, files, label + "/", when,
                              "timestamp.txt in the upload", keep_stamp=True)
        text = stamp.read_text(errors="replace").strip()[:40]
        up.report.bad_time.append(f"{label}/timestamp.txt: {text!r} is not a time nbgrader "
                                  "reads (not copied)")
    return _Candidate(student, assignment, files, label + "/", *_file_time(up, files))


def _student(up: _Upload, entry: Path) -> list[_Candidate]:
    """The submissions in one student's folder."""
    folder = _unrepeat(up, entry)
    inner = _visible(up, folder)
    dirs = [d for d in inner if d.is_dir()]
    loose = [f for f in inner if not f.is_dir()]
    found: list[_Candidate | None] = []
    if up.assignment is not None and loose and not any(d.name in up.known for d in dirs):
        found.append(_folder(up, entry.name, up.assignment, folder, up.rel(entry)))
    elif dirs:
        for sub in dirs:
            if sub.name not in up.known:
                up.report.unknown_assignment.append(up.rel(sub))
            else:
                found.append(_folder(up, entry.name, sub.name, _unrepeat(up, sub),
                                     up.rel(sub)))
        up.report.unmatched += [f"{up.rel(f)} (beside the assignment folders)" for f in loose]
    elif loose:
        up.report.unmatched += [f"{up.rel(f)} (no assignment folder; use --assignment)"
                                for f in loose]
    else:
        up.report.empty.append(f"{up.rel(entry)}/ (nothing in it)")
    return [c for c in found if c is not None]


def _flat(up: _Upload, entries: list[Path]) -> list[_Candidate]:
    """One submission per student and attempt (time in the name) among flat files."""
    attempts: dict[tuple[str, str | None], dict[str, Path]] = {}
    for entry in entries:
        match = up.regex.match(entry.name)
        if not match or not match.group("file_id"):
            up.report.unmatched.append(f"{up.rel(entry)} (name does not match the pattern)")
        elif up.assignment is None:
            up.report.unmatched.append(f"{up.rel(entry)} (a flat file name; use --assignment)")
        else:
            key = (match.group("student_id"), match.groupdict().get("timestamp"))
            files = attempts.setdefault(key, {})
            name = match.group("file_id")
            if name in files:  # the same file twice in one attempt: the newer is kept
                older, files[name] = sorted(
                    (files[name], entry),
                    key=lambda p: _file_time(up, {name: p})[0] or dt.datetime.min.replace(
                        tzinfo=dt.UTC))
                up.report.superseded.append(f"{up.rel(older)}: the same file as "
                                            f"{up.rel(files[name])}, which is kept")
            else:
                files[name] = entry
    found = []
    for (student, stamp), files in attempts.items():
        label = ", ".join(up.rel(p) for p in sorted(files.values()))
        when = name_time(stamp) if stamp else None
        if when is not None:
            found.append(_Candidate(student, up.assignment or "", files, label,
                                    *up.naive(when, "time in the file name")))
            continue
        if stamp:
            up.report.bad_time.append(f"{label}: {stamp!r} in the name is not a time")
        found.append(_Candidate(student, up.assignment or "", files, label,
                                *_file_time(up, files)))
    return found


def _place(up: _Upload, cand: _Candidate) -> None:
    """Copy one submission (replacing an earlier collection) and write its timestamp."""
    report = up.report
    dest = up.course_root / "submitted" / cand.student / cand.assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    key = f"{cand.student}/{cand.assignment}"
    expected = _notebooks(up.course_root, cand.assignment)
    copied = []
    for name, src in sorted(cand.files.items()):
        if name == "timestamp.txt" and not cand.keep_stamp:
            continue  # unreadable: reported, and replaced below
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / name)
        copied.append(name)
        if "/" in name or not name.endswith(".ipynb"):
            continue
        if not _is_notebook(src):
            report.malformed.append(f"{key}/{name}")
        elif name not in expected:
            report.unexpected.append(f"{key}/{name}")
    if cand.time is None:
        report.stamps[key] = "no time in the upload: not stamped, so it is never late"
        report.unstamped.append(f"{key} ({cand.label})")
    else:
        if not cand.keep_stamp:
            (dest / "timestamp.txt").write_text(cand.time.astimezone(dt.UTC)
                                                .strftime(STAMP_FORMAT))
        report.stamps[key] = f"{utc_text(cand.time)} ({cand.source})"
    report.copied[key] = copied


def _choose(up: _Upload, candidates: list[_Candidate]) -> None:
    """Place the newest submission of each student and assignment; report the others."""
    groups: dict[tuple[str, str], list[_Candidate]] = {}
    for cand in candidates:
        groups.setdefault((cand.student, cand.assignment), []).append(cand)
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    for (student, _), group in groups.items():
        if not STUDENT_ID.match(student):
            up.report.bad_student += [c.label.rstrip("/") for c in group]
            continue
        kept = max(reversed(group), key=lambda c: (c.time is not None, c.time or oldest))
        for cand in group:
            if cand is kept:
                continue
            when = utc_text(cand.time) if cand.time else "no time"
            than = utc_text(kept.time) if kept.time else "no time either"
            up.report.superseded.append(f"{cand.label} ({when}): older than {kept.label} "
                                        f"({than}), which is kept")
        _place(up, kept)


def collect(source: Path, course_root: Path, assignment: str | None = None,
            pattern: str = DEFAULT_PATTERN) -> CollectReport:
    """Copy the submissions in ``source`` (a directory or a zip archive) into
    ``course_root``'s ``submitted/``; see the module docstring for the layouts and times."""
    known = {p.name for p in (course_root / "source").iterdir() if p.is_dir()}
    if assignment is not None and assignment not in known:
        raise ValueError(f"unknown assignment {assignment!r}; known: {sorted(known)}")
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"--pattern {pattern!r}: {exc}") from None
    if not {"student_id", "file_id"} <= set(regex.groupindex):
        raise ValueError(f"--pattern {pattern!r} needs the groups student_id and file_id")
    zone = course_zone(course_root)
    report = CollectReport()
    if not source.exists():
        raise ValueError(f"{source} does not exist")
    with tempfile.TemporaryDirectory() as tmp:
        if source.is_dir():
            up = _Upload(source, course_root, assignment, regex, known, zone, report)
        elif zipfile.is_zipfile(source):
            times = extract_zip(source, Path(tmp), report.skipped)
            up = _Upload(Path(tmp), course_root, assignment, regex, known, zone, report, times)
        else:
            raise ValueError(f"{source} is neither a directory nor a zip archive")
        top = _unwrap(up)
        entries = _visible(up, top)
        candidates = [c for e in entries if e.is_dir() for c in _student(up, e)]
        candidates += _flat(up, [e for e in entries if not e.is_dir()])
        _choose(up, candidates)
    return report
