"""Shared by the benchmarks: timing, peak memory, the machine, and saving figures as JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

RESULTS = Path(__file__).resolve().parent / "results"


def best_of(repeat: int, action: Callable[[], Any]) -> tuple[float, float]:
    """Fastest and median wall time of `repeat` runs: the fastest is the least noisy figure."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def save(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **figures,
    }
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label:<{width}}  {value}" for label, value in rows)


def step_durations(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Seconds from each step's start to its success, as the run's event log recorded them."""
    records = instance.all_logs(run_id)
    starts = {
        r.step_key: r.timestamp for r in records if r.dagster_event_type == dg.DagsterEventType.STEP_START
    }
    return {
        str(r.step_key): r.timestamp - starts[r.step_key]
        for r in records
        if r.dagster_event_type == dg.DagsterEventType.STEP_SUCCESS and r.step_key in starts
    }
