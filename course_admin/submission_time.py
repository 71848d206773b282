"""Submission times as ``course collect`` reads them from an upload (never from the clock).

The zone a time without one is read in (``c.Exchange.timezone`` of ``nbgrader_config.py``),
times in file names (``2027-01-20-12-00-00``), an uploaded ``timestamp.txt`` read as nbgrader
reads it, and the format ``collect`` writes.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: the format of ``timestamp.txt`` (nbgrader's ``timestamp_format``, in UTC)
STAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"
TIMEZONE = re.compile(r"^\s*c\.(?:Exchange|NbGraderAPI)\.timezone\s*=\s*[\"']([^\"']+)[\"']",
                      re.MULTILINE)


def course_zone(course_root: Path) -> dt.tzinfo:
    """The time zone set in the course's ``nbgrader_config.py``; UTC without one."""
    config = course_root / "nbgrader_config.py"
    match = TIMEZONE.search(config.read_text()) if config.exists() else None
    if not match or match.group(1).upper() == "UTC":
        return dt.UTC
    try:
        return ZoneInfo(match.group(1))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{config}: unknown timezone {match.group(1)!r}") from None


def utc_text(when: dt.datetime) -> str:
    """``when`` in UTC as the report prints it: ``2027-01-20 12:00:00 UTC``."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def name_time(text: str) -> dt.datetime | None:
    """The time in a file name (``2027-01-20-12-00-00``, ``20270120120000``, ...), year
    first; None when there is none."""
    nums = re.findall(r"\d+", text)
    if len(nums) == 1 and len(nums[0]) in (8, 12, 14):
        nums = [nums[0][:4]] + re.findall(r"\d\d", nums[0][4:])
    if len(nums) < 3 or len(nums[0]) != 4:
        return None
    fields = [int(n) for n in nums[:6]] + [0] * (6 - len(nums[:6]))  # a date: its start
    micro = int(nums[6][:6].ljust(6, "0")) if len(nums) > 6 else 0
    try:
        return dt.datetime(*fields, micro)
    except ValueError:
        return None


def stamp_time(path: Path) -> dt.datetime | None:
    """The time in an uploaded ``timestamp.txt``, read as nbgrader reads it; None if it
    cannot."""
    from nbgrader.utils import parse_utc  # slow to import: only when there is a stamp

    try:
        return parse_utc(path.read_text(errors="replace").strip()).replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError, TypeError, AttributeError):
        return None
