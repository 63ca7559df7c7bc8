"""Local scratch folders for the streaming steps, reclaimed even after a killed run.

A step spools a day through local disk (downloads, decompressed files, Parquet parts). A
folder removes itself when its block ends, but a process killed outright (SIGKILL, the kernel's
out-of-memory killer, a pod evicted) leaves it behind, and on a long-lived worker such leftovers
fill the disk a day at a time. Each folder's name carries its machine's name and its process's
id, so the first folder a process makes also removes those of this machine's processes that are
gone (never another machine's, should the temporary directory be shared).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

PREFIX = "e2e-ml-"
_MACHINE = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())
_OWNED = re.compile(rf"^{re.escape(PREFIX + _MACHINE)}-(\d+)-")


@contextmanager
def scratch_folder() -> Iterator[Path]:
    """A new folder in the system's temporary directory, removed when the block ends."""
    _reclaim_once()
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{_MACHINE}-{os.getpid()}-") as folder:
        yield Path(folder)


@cache
def _reclaim_once() -> None:
    reclaim_orphans()


def reclaim_orphans() -> list[Path]:
    """Remove the scratch folders of processes that no longer run, and say which."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}{_MACHINE}-*"):
        owner = _OWNED.match(folder.name)
        if owner is None or not folder.is_dir() or _running(int(owner.group(1))):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
