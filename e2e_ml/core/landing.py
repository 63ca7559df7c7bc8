"""The landing zone's bookkeeping: which day a file belongs to, and which days changed.

A layout places a landed name on its day; each layout is one entry in `LAYOUTS`, so the next
shape an upstream system writes is one small change. Names that are not data (an uploader's
temporary or hidden files) are skipped, and names no layout places are kept with the reason.

The sensor keeps one fingerprint per day (a digest of the day's file names and versions), so
its cursor grows with days, not files, and a day's run key changes exactly when its file set
changes: a late or re-uploaded file re-runs its day once, an unchanged day never.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache
from typing import Literal

MAX_NAME_LENGTH = 1024
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
TEMPORARY_SUFFIXES = (".partial", ".tmp", ".temp", ".crdownload", ".filepart")
Placement = Literal["data", "skipped", "unplaced"]


@dataclass(frozen=True)
class LandedFile:
    name: str  # path relative to the landing zone root, e.g. 2026/01/31/dump.csv
    size: int
    version: str  # etag on object stores, mtime on a file system
    modified: datetime | None = None  # when it landed, as the store reports it
    day: date | None = None  # the day its layout places it on
    placement: Placement = "data"
    note: str | None = None  # why a file is skipped or unplaced

    @property
    def is_data(self) -> bool:
        return self.placement == "data" and self.day is not None


@dataclass(frozen=True)
class Layout:
    """How a layout finds a file's day in its name, and which prefixes hold a given day."""

    description: str
    day_of: Callable[[str], date | None]
    # The folders that hold a day's files, and a month's: None when any folder may hold any day.
    day_prefix: Callable[[date], str] | None = None
    month_prefix: Callable[[date], str] | None = None

    def place(self, name: str, size: int, version: str, modified: datetime | None = None) -> LandedFile:
        day = self.day_of(name)
        landed = LandedFile(name, size, version, modified, day)
        unsafe = unsafe_name(name)
        if unsafe is not None:  # placed on a day, it is refused there by ingest, unread
            return landed if day is not None else replace(landed, placement="unplaced", note=unsafe)
        temporary = temporary_name(name)
        if temporary is not None:
            return replace(landed, placement="skipped", note=f"not data: {temporary}")
        if day is None:
            return replace(
                landed, placement="unplaced", note=f"outside the landing layout ({self.description})"
            )
        return landed


def temporary_name(name: str) -> str | None:
    """Why a name is an uploader's temporary or marker file, or None for a data file."""
    parts = name.replace("\\", "/").split("/")
    hidden = next((part for part in parts if part.startswith((".", "_"))), None)
    if hidden is not None:
        return f"hidden or temporary name '{hidden}'"
    if parts[-1].lower().endswith(TEMPORARY_SUFFIXES):
        return "temporary upload suffix"
    return None


def unsafe_name(name: str) -> str | None:
    """Why a landed name must not be used as a path, or None when it is safe."""
    if len(name) > MAX_NAME_LENGTH:
        return f"name longer than {MAX_NAME_LENGTH} characters"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if ".." in name.replace("\\", "/").split("/"):
        return "'..' in the path"
    if CONTROL_CHARACTERS.search(name):
        return "control character in the name"
    return None


def _matched_day(pattern: re.Pattern[str]) -> Callable[[str], date | None]:
    """A day from a match's `y`, `m`, `d` groups, or from its `date` group (YYYY-MM-DD or YYYYMMDD)."""

    def day_of(name: str) -> date | None:
        match = pattern.fullmatch(name)
        if not match:
            return None
        groups = match.groupdict()
        text = groups.get("date") or f"{groups['y']}{groups['m']}{groups['d']}"
        try:
            return datetime.strptime(text.replace("-", ""), "%Y%m%d").date()
        except ValueError:
            return None

    return day_of


def name_pattern_layout(pattern: str) -> Layout:
    """The day inside the file name: `orders_{date:%Y%m%d}_*.csv`, in any folder; `*` is any text."""
    directives = {"%Y": ("y", r"\d{4}"), "%m": ("m", r"\d{2}"), "%d": ("d", r"\d{2}")}
    found = re.fullmatch(r"(?P<head>.*)\{date:(?P<format>[^}]+)\}(?P<tail>.*)", pattern)
    if found is None or "/" in pattern:
        raise ValueError(f"name pattern {pattern!r}: expected a file name with one {{date:%Y%m%d}} field")
    date_format = found["format"]
    date_regex = re.escape(date_format)
    for directive, (group, digits) in directives.items():
        if directive not in date_format:
            raise ValueError(f"name pattern {pattern!r}: the date needs %Y, %m and %d")
        date_regex = date_regex.replace(re.escape(directive), f"(?P<{group}>{digits})", 1)

    def wildcard(text: str) -> str:
        return "[^/]*".join(re.escape(part) for part in text.split("*"))

    regex = re.compile(f"(?:[^/]+/)*{wildcard(found['head'])}{date_regex}{wildcard(found['tail'])}")
    return Layout(f"file names like {pattern}", _matched_day(regex))


YMD = re.compile(r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?:\d{2}/)?[^/]+")
HIVE = re.compile(
    r"(?:[^/=]+/)*[A-Za-z_]\w*=(?P<date>\d{4}-\d{2}-\d{2}|\d{8})/(?:[A-Za-z_]\w*=\d{1,2}/)?[^/]+"
)
EVENT_HUBS_CAPTURE = re.compile(r"[^/]+/[^/]+/[^/]+/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/\d{2}/\d{2}/[^/]+")
# One entry per layout: `E2E_ML_LANDING_LAYOUT` names one, or `name:<pattern>` for name_pattern_layout.
LAYOUTS: dict[str, Layout] = {
    "ymd": Layout(
        "YYYY/MM/DD/[HH/]<file>",
        _matched_day(YMD),
        day_prefix=lambda day: f"{day:%Y/%m/%d}/",
        month_prefix=lambda day: f"{day:%Y/%m}/",
    ),
    "hive": Layout("<key>=YYYY-MM-DD/[<key>=HH/]<file>", _matched_day(HIVE)),
    "eventhubs": Layout(
        "Event Hubs Capture {namespace}/{hub}/{partition}/YYYY/MM/DD/hh/mm/<ss>",
        _matched_day(EVENT_HUBS_CAPTURE),
    ),
}


@cache  # a name pattern compiles once, not at every listing
def layout_named(spec: str) -> Layout:
    if spec.startswith("name:"):
        return name_pattern_layout(spec.removeprefix("name:"))
    if spec not in LAYOUTS:
        raise ValueError(f"landing layout {spec!r}: expected one of {', '.join(LAYOUTS)} or name:<pattern>")
    return LAYOUTS[spec]


def day_fingerprints(files: Iterable[LandedFile]) -> dict[str, str]:
    """One digest per day over its files' names, sizes and versions."""
    by_day: dict[str, list[str]] = {}
    for file in files:
        if file.is_data and file.day is not None:
            by_day.setdefault(file.day.isoformat(), []).append(f"{file.name}\0{file.size}\0{file.version}")
    return {
        day: hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()[:16]
        for day, entries in by_day.items()
    }


def changed_days(previous: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """Days whose file set is new or different, oldest first."""
    return sorted(day for day, digest in current.items() if previous.get(day) != digest)


def encode_cursor(fingerprints: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(fingerprints.items())), separators=(",", ":"))


def decode_cursor(cursor: str | None) -> dict[str, str]:
    return dict(json.loads(cursor)) if cursor else {}
