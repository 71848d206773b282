"""Zip archives as a class uploads them: every entry that can be taken, and why not the others.

One bad entry must not cost a whole class its submissions: :func:`extract_zip` skips an entry
with an unsafe name (absolute, or leaving the archive's folder), a symbolic link, damaged data
(a bad CRC) or a name that is not the UTF-8 it claims, reports each, and extracts the rest,
keeping each entry's time (``timestamp.txt`` is made from it by :mod:`course_admin.collect`).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zipfile
from pathlib import Path

#: the zip format's earliest time, which tools that record none write
ZIP_NO_TIME = (1980, 1, 1, 0, 0, 0)
_UTF8_NAME = 0x800  # the zip flag "this entry's name is UTF-8"


def open_zip(source: Path) -> tuple[zipfile.ZipFile, set[int]]:
    """The archive, and the entries whose names are marked UTF-8 where the archive had to be
    reread with that mark cleared (zipfile refuses a whole archive for one such bad name)."""
    try:
        return zipfile.ZipFile(source), set()
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{source} is not a readable zip archive ({exc})") from None
    except UnicodeDecodeError:
        pass
    data = bytearray(source.read_bytes())
    flagged = set()
    try:
        end = data.rfind(b"PK\x05\x06")
        count, _, pos = struct.unpack_from("<HII", data, end + 10)
        for index in range(count):
            if data[pos:pos + 4] != b"PK\x01\x02":
                raise ValueError("bad central directory")
            flags, = struct.unpack_from("<H", data, pos + 8)
            if flags & _UTF8_NAME:
                flagged.add(index)
                struct.pack_into("<H", data, pos + 8, flags & ~_UTF8_NAME)
                local, = struct.unpack_from("<I", data, pos + 42)
                if data[local:local + 4] == b"PK\x03\x04":
                    flags, = struct.unpack_from("<H", data, local + 6)
                    struct.pack_into("<H", data, local + 6, flags & ~_UTF8_NAME)
            pos += 46 + sum(struct.unpack_from("<HHH", data, pos + 28))
        return zipfile.ZipFile(io.BytesIO(bytes(data))), flagged
    except (ValueError, struct.error, zipfile.BadZipFile) as exc:
        raise ValueError(f"{source}: a file name that is not UTF-8, and the archive cannot "
                         f"be reread ({exc})") from None


def unsafe_name(name: str) -> str | None:
    """Why an archive entry's name must not be extracted, if it must not."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "an absolute path (not extracted)"
    if ".." in re.split(r"[\\/]", name):
        return "a path out of the archive's folder (not extracted)"
    return None


def extract_zip(source: Path, dest: Path, skipped: list[str]
                ) -> dict[Path, dt.datetime | None]:
    """Extract every entry of ``source`` that can be into ``dest``.

    Args:
        source: a zip archive.
        dest: an existing folder.
        skipped: receives one line per entry not extracted, with the reason (an unsafe or
            undecodable name, a symbolic link, damaged data, a clash).

    Returns:
        Each extracted file -> its entry's time (no zone), None where the entry has none.

    Raises:
        ValueError: ``source`` is not a readable zip archive.
    """
    times: dict[Path, dt.datetime | None] = {}
    zf, flagged = open_zip(source)
    with zf:
        for index, info in enumerate(zf.infolist()):
            name = info.filename
            if index in flagged:
                raw = info.orig_filename.encode("cp437")
                try:
                    name = raw.decode("utf-8")
                except UnicodeDecodeError:
                    skipped.append(f"{raw.decode('utf-8', 'replace')}: the name cannot "
                                          "be decoded (not UTF-8; not extracted)")
                    continue
            reason = unsafe_name(name)
            parts = [p for p in re.split(r"[\\/]", name) if p not in ("", ".")]
            if reason is None and not parts:
                reason = "no name (not extracted)"
            if reason is None and (info.external_attr >> 16) & 0o170000 == 0o120000:
                reason = "a symbolic link (not extracted)"
            target = dest.joinpath(*parts)
            if reason is None and info.is_dir():
                try:
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                except OSError as exc:
                    reason = f"clashes with another entry ({exc.strerror}; not extracted)"
            if reason is None:
                try:
                    with zf.open(info) as fh:
                        data = fh.read()
                except Exception as exc:  # a bad CRC, zlib, encryption, compression method
                    reason = f"damaged or unreadable: {exc} (not extracted)"
            if reason is None:
                if target in times:
                    skipped.append(f"{name}: an earlier entry of the same name "
                                          "(the later one is kept)")
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                except OSError as exc:
                    reason = f"clashes with another entry ({exc.strerror}; not extracted)"
            if reason is not None:
                skipped.append(f"{name}: {reason}")
                continue
            try:
                when = dt.datetime(*info.date_time) if info.date_time > ZIP_NO_TIME else None
            except ValueError:  # an impossible date: no time
                when = None
            times[target] = when
    return times
