"""``course collect``: times from the upload, newest attempts, unwrapping, subfolders, and
bad archive entries skipped (and reported) while the rest is collected."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from course_admin.cli import main
from course_admin.collect import CollectReport, collect

ROOT = Path(__file__).resolve().parents[2]
NB = "ps01_convolution_arithmetic.ipynb"
RELEASED = (ROOT / "release" / "ps01" / NB).read_bytes()
NOON = (2027, 1, 20, 12, 0, 0)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course with the real ps01 and the mini assignment, and the repository's config."""
    root = tmp_path / "course"
    shutil.copytree(ROOT / "source" / "ps01", root / "source" / "ps01")
    shutil.copytree(ROOT / "tests" / "fixtures" / "mini_course" / "source" / "mini",
                    root / "source" / "mini")
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


def make_zip(path: Path, entries: list[tuple[str, bytes | None, tuple[int, ...]]],
             compress: int = zipfile.ZIP_DEFLATED) -> Path:
    """A zip of (name, data, ZipInfo.date_time) entries; data None: a directory entry."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, when in entries:
            info = zipfile.ZipInfo(name if data is not None else name.rstrip("/") + "/", when)
            info.compress_type = compress
            if data is None:
                info.external_attr = 0o40755 << 16 | 0x10
            zf.writestr(info, data or b"")
    return path


def attempt(number: int) -> bytes:
    """The released notebook, marked with an attempt number."""
    notebook = json.loads(RELEASED)
    notebook["metadata"]["attempt"] = number
    return json.dumps(notebook).encode()


def submitted(course: Path, key: str) -> Path:
    return course / "submitted" / key


def stamp(course: Path, key: str) -> str | None:
    path = submitted(course, key) / "timestamp.txt"
    return path.read_text() if path.exists() else None


def read_as_nbgrader(text: str) -> dt.datetime:
    from nbgrader.utils import parse_utc

    return parse_utc(text)


def set_mtime(path: Path, *when: int) -> None:
    seconds = dt.datetime(*when, tzinfo=dt.UTC).timestamp()
    os.utime(path, (seconds, seconds))


def text(report: CollectReport) -> str:
    return "\n".join(report.lines())


# --- timestamps from the upload -----------------------------------------------------------

def test_zip_entry_time_is_the_stamp_and_the_report_says_so(course: Path, tmp_path: Path):
    archive = make_zip(tmp_path / "class.zip", [(f"alice/ps01/{NB}", RELEASED, NOON)])
    report = collect(archive, course)
    assert stamp(course, "alice/ps01") == "2027-01-20 12:00:00.000000 UTC"
    assert read_as_nbgrader(stamp(course, "alice/ps01")) == dt.datetime(*NOON)
    assert "alice/ps01: 2027-01-20 12:00:00 UTC (zip entry time)" in text(report)
    assert report.problems == 0


def test_zip_entry_time_is_read_in_the_course_time_zone(course: Path, tmp_path: Path):
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + '\nc.Exchange.timezone = "Europe/Zurich"\n')
    archive = make_zip(tmp_path / "class.zip", [(f"alice/ps01/{NB}", RELEASED, NOON)])
    report = collect(archive, course)
    assert read_as_nbgrader(stamp(course, "alice/ps01")) == dt.datetime(2027, 1, 20, 11)
    assert ("alice/ps01: 2027-01-20 11:00:00 UTC (zip entry time, read as Europe/Zurich "
            "time)") in text(report)


def test_uploaded_timestamp_txt_comes_first(course: Path, tmp_path: Path):
    own = "2027-01-19 08:30:00.000000 UTC"
    archive = make_zip(tmp_path / "class.zip", [
        (f"alice/ps01/{NB}", RELEASED, (2027, 2, 1, 0, 0, 0)),
        ("alice/ps01/timestamp.txt", own.encode(), (2027, 2, 1, 0, 0, 0))])
    report = collect(archive, course)
    assert stamp(course, "alice/ps01") == own
    assert "alice/ps01: 2027-01-19 08:30:00 UTC (timestamp.txt in the upload)" in text(report)


def test_unreadable_timestamp_txt_is_replaced_by_the_next_source(course: Path, tmp_path: Path):
    archive = make_zip(tmp_path / "class.zip", [
        (f"alice/ps01/{NB}", RELEASED, NOON),
        ("alice/ps01/timestamp.txt", b"sometime on tuesday", NOON)])
    report = collect(archive, course)
    assert stamp(course, "alice/ps01") == "2027-01-20 12:00:00.000000 UTC"
    assert any("'sometime on tuesday' is not a time" in b for b in report.bad_time)


def test_time_in_the_flat_file_name_beats_the_file_time(course: Path, tmp_path: Path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    flat = inbox / f"ps01_jdoe_attempt_2027-01-20-12-00-00_{NB}"
    flat.write_bytes(RELEASED)
    set_mtime(flat, 2027, 2, 1)
    report = collect(inbox, course, "ps01")
    assert read_as_nbgrader(stamp(course, "jdoe/ps01")) == dt.datetime(*NOON)
    assert "jdoe/ps01: 2027-01-20 12:00:00 UTC (time in the file name)" in text(report)


def test_directory_takes_the_newest_notebooks_modification_time(course: Path, tmp_path: Path):
    folder = tmp_path / "inbox" / "alice" / "ps01"
    folder.mkdir(parents=True)
    (folder / NB).write_bytes(RELEASED)
    (folder / "scratch.ipynb").write_bytes(RELEASED)
    (folder / "notes.txt").write_text("written after the notebooks")
    set_mtime(folder / NB, 2027, 1, 21, 9)
    set_mtime(folder / "scratch.ipynb", 2027, 1, 21, 10)
    set_mtime(folder / "notes.txt", 2027, 3, 1)
    report = collect(tmp_path / "inbox", course)
    assert read_as_nbgrader(stamp(course, "alice/ps01")) == dt.datetime(2027, 1, 21, 10)
    assert "alice/ps01: 2027-01-21 10:00:00 UTC (file modification time)" in text(report)


def test_no_time_in_the_upload_is_not_invented(course: Path, tmp_path: Path):
    """Zip entries with the format's "no time" (1980-01-01): no timestamp.txt, said so."""
    archive = make_zip(tmp_path / "class.zip", [(f"alice/ps01/{NB}", RELEASED,
                                                 (1980, 1, 1, 0, 0, 0))])
    report = collect(archive, course)
    assert (submitted(course, "alice/ps01") / NB).exists()
    assert stamp(course, "alice/ps01") is None
    assert "alice/ps01: no time in the upload: not stamped, so it is never late" in text(report)
    assert report.unstamped and report.problems == 1


# --- several attempts ---------------------------------------------------------------------

def test_newest_attempt_is_kept_with_its_own_time(course: Path, tmp_path: Path):
    names = {n: f"ps01_jdoe_attempt_2027-01-{day}-12-00-00_{NB}"
             for n, day in ((1, "19"), (2, "22"), (3, "20"))}
    archive = make_zip(tmp_path / "class.zip",
                       [(names[n], attempt(n), NOON) for n in (1, 2, 3)])
    report = collect(archive, course, "ps01")
    kept = json.loads((submitted(course, "jdoe/ps01") / NB).read_text())
    assert kept["metadata"]["attempt"] == 2
    assert read_as_nbgrader(stamp(course, "jdoe/ps01")) == dt.datetime(2027, 1, 22, 12)
    assert len(report.superseded) == 2
    assert any(s.startswith(names[1]) for s in report.superseded)
    assert any(s.startswith(names[3]) for s in report.superseded)
    assert all(f"older than {names[2]}" in s for s in report.superseded)


# --- layouts: wrapping and repeated folders, empty submissions, subfolders ----------------

def test_wrapping_folder_is_unwrapped(course: Path, tmp_path: Path):
    archive = make_zip(tmp_path / "class.zip", [
        (f"export/alice/ps01/{NB}", RELEASED, NOON),
        (f"export/bob/ps01/{NB}", RELEASED, NOON)])
    report = collect(archive, course)
    assert sorted(report.copied) == ["alice/ps01", "bob/ps01"]
    assert (submitted(course, "alice/ps01") / NB).exists()
    assert report.unwrapped == ["export/ (a folder around the students' folders)"]


def test_wrapping_folder_of_student_folders_without_assignment_folders(course: Path,
                                                                       tmp_path: Path):
    archive = make_zip(tmp_path / "class.zip", [(f"export/alice/{NB}", RELEASED, NOON)])
    report = collect(archive, course, "ps01")
    assert report.copied == {"alice/ps01": [NB]}
    assert report.unwrapped


def test_repeated_assignment_folder_is_unwrapped(course: Path, tmp_path: Path):
    archive = make_zip(tmp_path / "class.zip", [(f"alice/ps01/ps01/{NB}", RELEASED, NOON)])
    report = collect(archive, course)
    assert report.copied == {"alice/ps01": [NB]}
    assert (submitted(course, "alice/ps01") / NB).exists()
    assert report.unwrapped == ["alice/ps01/ps01/ (a repeated folder)"]


def test_empty_submission_is_reported_not_collected(course: Path, tmp_path: Path):
    archive = make_zip(tmp_path / "class.zip", [
        ("alice/ps01/", None, NOON), (f"bob/ps01/{NB}", RELEASED, NOON)])
    report = collect(archive, course)
    assert sorted(report.copied) == ["bob/ps01"]
    assert report.empty == ["alice/ps01/ (nothing in it)"]
    assert not submitted(course, "alice").exists()
    assert report.problems == 1


def test_subfolders_of_a_submission_are_copied(course: Path, tmp_path: Path):
    archive = make_zip(tmp_path / "class.zip", [
        (f"alice/ps01/{NB}", RELEASED, NOON),
        ("alice/ps01/data/extra.npy", b"\x93NUMPY", NOON),
        ("alice/ps01/.ipynb_checkpoints/x-checkpoint.ipynb", RELEASED, NOON)])
    report = collect(archive, course)
    assert (submitted(course, "alice/ps01") / "data" / "extra.npy").read_bytes() == b"\x93NUMPY"
    assert report.copied == {"alice/ps01": ["data/extra.npy", NB]}
    assert f"  alice/ps01: data/extra.npy, {NB}" in text(report)
    assert report.ignored == ["alice/ps01/.ipynb_checkpoints/"]
    assert not (submitted(course, "alice/ps01") / ".ipynb_checkpoints").exists()


# --- bad entries --------------------------------------------------------------------------

def _mark_utf8(data: bytes, placeholder: bytes, raw: bytes) -> bytes:
    """The archive with ``placeholder`` renamed to ``raw`` and marked as a UTF-8 name."""
    data = bytearray(data.replace(placeholder, raw))
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.find(signature)
        while pos >= 0:
            length, = struct.unpack_from("<H", data, pos + (26 if flag_at == 6 else 28))
            start = pos + (30 if flag_at == 6 else 46)
            if raw in data[start:start + length]:
                flags, = struct.unpack_from("<H", data, pos + flag_at)
                struct.pack_into("<H", data, pos + flag_at, flags | 0x800)
            pos = data.find(signature, pos + 4)
    return bytes(data)


def test_bad_entries_are_skipped_and_the_rest_collected(course: Path, tmp_path: Path):
    archive = make_zip(tmp_path / "class.zip", [
        (f"alice/ps01/{NB}", RELEASED, NOON),
        ("alice/ps01/notes-é.txt", b"utf-8 name", NOON),
        ("../evil.txt", b"outside", NOON),
        ("/etc/evil.txt", b"absolute", NOON),
        (f"bob/ps01/{NB}", b"CORRUPT-ME" * 20, NOON),
        ("carol/ps01/QQQQ.ipynb", RELEASED, NOON)], compress=zipfile.ZIP_STORED)
    data = archive.read_bytes().replace(b"CORRUPT-ME", b"XORRUPT-ME", 1)
    archive.write_bytes(_mark_utf8(data, b"QQQQ", b"\xff\xfeQQ"))
    report = collect(archive, course)
    assert sorted(report.copied) == ["alice/ps01"]
    assert (submitted(course, "alice/ps01") / "notes-é.txt").exists()
    assert read_as_nbgrader(stamp(course, "alice/ps01")) == dt.datetime(*NOON)
    skipped = "\n".join(report.skipped)
    assert "../evil.txt: a path out of the archive's folder" in skipped
    assert "/etc/evil.txt: an absolute path" in skipped
    assert f"bob/ps01/{NB}: damaged or unreadable: Bad CRC-32" in skipped
    assert "cannot be decoded" in skipped
    assert not (tmp_path / "evil.txt").exists()
    assert report.problems == 4
    # nothing is lost: each entry is copied or named in the report
    assert "bob/ps01" in text(report) and "carol/ps01" in text(report)


def test_not_a_zip_or_a_missing_path_is_one_error_line(course: Path, tmp_path: Path, capsys):
    bogus = tmp_path / "class.zip"
    bogus.write_text("not a zip")
    with pytest.raises(ValueError, match="neither a directory nor a zip"):
        collect(bogus, course)
    for path in (bogus, tmp_path / "missing.zip"):
        assert main(["collect", str(path), "--course", str(course)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("course collect: error:")
    assert not (course / "submitted").exists()


def test_cli_collects_and_prints_the_report(course: Path, tmp_path: Path, capsys):
    archive = make_zip(tmp_path / "class.zip", [
        (f"export/alice/{NB}", RELEASED, NOON),
        ("export/alice/data/extra.npy", b"x", NOON),
        ("../evil.txt", b"outside", NOON)])
    assert main(["collect", str(archive), "--course", str(course), "--assignment", "ps01"]) == 0
    out = capsys.readouterr().out
    assert "collected 1 submission(s)" in out
    assert f"  alice/ps01: data/extra.npy, {NB}" in out
    assert "alice/ps01: 2027-01-20 12:00:00 UTC (zip entry time)" in out
    assert "export/ (a folder around the students' folders)" in out
    assert "../evil.txt: a path out of the archive's folder" in out
