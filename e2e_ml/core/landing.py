"""The landing zone's bookkeeping: which day a file belongs to, and which days changed.

The sensor keeps one fingerprint per day (a digest of the day's file names and versions), so
its cursor grows with days, not files, and a day's run key changes exactly when its file set
changes: a late or re-uploaded file re-runs its day once, an unchanged day never.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

DAY_LAYOUT = re.compile(r"^(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/[^/]+$")
MAX_NAME_LENGTH = 1024
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class LandedFile:
    name: str  # path relative to the landing zone root, e.g. 2026/01/31/dump.csv
    size: int
    version: str  # etag on object stores, mtime on a file system
    modified: datetime | None = None  # when it landed, as the store reports it

    @property
    def day(self) -> date | None:
        return day_of(self.name) if unsafe_name(self.name) is None else None


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


def day_of(name: str) -> date | None:
    """The day a landed file belongs to, from its YYYY/MM/DD/ prefix; None if off-layout."""
    match = DAY_LAYOUT.match(name)
    if not match:
        return None
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None


def day_fingerprints(files: Iterable[LandedFile]) -> dict[str, str]:
    """One digest per day over its files' names, sizes and versions."""
    by_day: dict[str, list[str]] = {}
    for file in files:
        if file.day is not None:
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
