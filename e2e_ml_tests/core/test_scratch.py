import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from e2e_ml.core.scratch import reclaim_orphans, scratch_folder

HOLDS_SCRATCH = """
import time
from e2e_ml.core.scratch import scratch_folder
with scratch_folder() as folder:
    (folder / "part.parquet").write_bytes(b"x" * 1000)
    print(folder, flush=True)
    time.sleep(60)
"""


@pytest.fixture
def temporary_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def killed_holding_scratch(temporary_directory: Path) -> Path:
    """The scratch folder of a process killed outright (no cleanup ran) while it held it."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDS_SCRATCH],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(temporary_directory)},
    )
    assert child.stdout is not None
    left = Path(child.stdout.readline().strip())
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert (left / "part.parquet").exists()
    return left


def test_the_next_process_to_make_scratch_reclaims_a_killed_one(temporary_directory: Path):
    left = killed_holding_scratch(temporary_directory)
    subprocess.run(
        [sys.executable, "-c", "from e2e_ml.core.scratch import scratch_folder\nwith scratch_folder(): pass"],
        env={**os.environ, "TMPDIR": str(temporary_directory)},
        check=True,
    )
    assert not left.exists()
    assert list(temporary_directory.iterdir()) == []


def test_only_folders_of_processes_gone_are_reclaimed(temporary_directory: Path):
    left = killed_holding_scratch(temporary_directory)
    unrelated = temporary_directory / "e2e-ml-bench-kept"
    another_machines = temporary_directory / "e2e-ml-elsewhere-4194303-x1"  # its pid is not ours to test
    for kept in (unrelated, another_machines):
        kept.mkdir()
    assert reclaim_orphans() == [left]
    assert not left.exists() and unrelated.exists() and another_machines.exists()
    with scratch_folder() as mine:
        assert mine.parent == temporary_directory
        assert reclaim_orphans() == []  # this process runs: its folder is kept
        assert mine.exists()
    assert not mine.exists()
