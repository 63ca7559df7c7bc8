"""Clean-step throughput and memory, against reading the same CSV with pyarrow.

Reference: `pyarrow.csv.read_csv` of the dump (the physical floor: bytes to columns). Measured,
as the pipeline runs them: the ingest step (`read_dump` to text rows with lineage, then the
`raw_stream` Parquet write) and the clean_dataset step (load `raw_stream`, parse to the
contract's types, validate, de-duplicate, impute, write the clean and quarantined tables).
Each step runs in a fresh process; its memory is the peak RSS it adds once its input bytes are
in memory and everything is imported (Linux's VmHWM, reset at that point), against the CSV's
size. Every time is the fastest of three runs, the reference's too.

Rows span consecutive days (the contract's key is player and day, and a player id has six
digits), so the 5M-row dump is one day's simulated traffic repeated over later dates.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from bench.common import best_of, save, table

DEFAULT_DAY_ROWS = 1_350  # one simulated day at the demo's 2,000 players
SIZES = (DEFAULT_DAY_ROWS, 10 * DEFAULT_DAY_ROWS, 5_000_000)
REPEAT = 3


def write_dump(rows: int, path: Path) -> None:
    from e2e_ml.simulate.telemetry import SimulationConfig, simulate_day

    start = date(2026, 1, 1)
    players = max(2_000, min(900_000, rows))
    dumps = simulate_day(SimulationConfig(start=start, days=1, players=players), 0)
    day = pd.concat([pd.read_csv(io.BytesIO(d.content), dtype=str) for d in dumps], ignore_index=True)
    copies = []
    for shift in range(-(-rows // len(day))):
        moment = (start + timedelta(days=shift)).isoformat()
        copies.append(day.assign(event_date=day["event_date"].str.replace(start.isoformat(), moment)))
    pd.concat(copies, ignore_index=True).head(rows).to_csv(path, index=False)


def reset_peak_memory() -> int:
    """Reset this process's peak RSS to its current RSS and return that (Linux).

    Not `getrusage`: its ru_maxrss carries over the parent's RSS at fork through exec, so a
    child started by a big parent reports the parent's peak.
    """
    Path("/proc/self/clear_refs").write_text("5")
    return _status_bytes("VmRSS")


def peak_memory_since(start: int) -> int:
    return _status_bytes("VmHWM") - start


def _status_bytes(field: str) -> int:
    found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"/proc/self/status has no {field}")
    return int(found.group(1)) * 1024


def timed(stages: dict[str, Callable[[dict[str, Any]], Any]]) -> tuple[dict[str, float], int, dict[str, Any]]:
    """Run the stages in order, `REPEAT` times, each given the earlier stages' outputs.

    Returns the fastest time of each stage, the peak memory the first run added (later runs
    start from an allocator that kept some of the earlier pages), and the last run's outputs.
    """
    times: dict[str, list[float]] = {name: [] for name in stages}
    outputs: dict[str, Any] = {}
    start = reset_peak_memory()
    first_run_peak = 0
    for run in range(REPEAT):
        outputs.clear()  # the previous run's tables, so that runs do not stack up in memory
        for name, stage in stages.items():
            started = time.perf_counter()
            outputs[name] = stage(outputs)
            times[name].append(time.perf_counter() - started)
        if run == 0:
            first_run_peak = peak_memory_since(start)
    return {name: min(spent) for name, spent in times.items()}, first_run_peak, outputs


def measure_ingest(dump: Path, raw_stream: Path) -> dict[str, float | int]:
    """The ingest step, then the reference; leaves `raw_stream` as Parquet for the clean step.

    The reference runs last, so that the peak memory recorded before it is the step's alone.
    """
    import pyarrow.csv

    from e2e_ml.core.ingest import read_dump
    from e2e_ml.resources.storage import parquet_bytes

    content = dump.read_bytes()
    times, peak, outputs = timed(
        {
            "read_dump_s": lambda _: read_dump(dump.name, content).rows,
            "write_raw_stream_s": lambda done: parquet_bytes(done["read_dump_s"]),
        }
    )
    figures: dict[str, float | int] = {**times, "file_bytes": len(content)}
    figures["ingest_peak_bytes"] = peak
    figures["ingest_s"] = times["read_dump_s"] + times["write_raw_stream_s"]
    figures["raw_stream_bytes"] = len(outputs["write_raw_stream_s"])
    raw_stream.write_bytes(outputs["write_raw_stream_s"])
    outputs.clear()
    figures["pyarrow_read_s"], _ = best_of(REPEAT, lambda: pyarrow.csv.read_csv(io.BytesIO(content)))
    return figures


def measure_clean(raw_stream: Path) -> dict[str, float | int]:
    """The clean_dataset step on the raw_stream Parquet the ingest step wrote."""
    import polars as pl

    from e2e_ml.core.cleaning import clean
    from e2e_ml.core.contract import load_contract
    from e2e_ml.deployments import DEFAULT_CONTRACT
    from e2e_ml.resources.storage import parquet_bytes

    contract = load_contract(DEFAULT_CONTRACT)
    content = raw_stream.read_bytes()
    times, peak, outputs = timed(
        {
            "load_raw_stream_s": lambda _: pl.read_parquet(io.BytesIO(content)),
            "clean_s": lambda done: clean(done["load_raw_stream_s"], contract),
            "write_clean_s": lambda done: (
                parquet_bytes(done["clean_s"].clean),
                parquet_bytes(done["clean_s"].quarantine),
            ),
        }
    )
    result = outputs["clean_s"]
    return {
        **times,
        "clean_step_s": sum(times.values()),
        "rows": len(result.clean) + len(result.quarantine),
        "clean_rows": len(result.clean),
        "quarantined_rows": len(result.quarantine),
        "clean_peak_bytes": peak,
    }


def in_child(*args: str) -> dict[str, float | int]:
    child = subprocess.run([sys.executable, "-m", "bench.clean_step", *args], capture_output=True, text=True)
    if child.returncode:
        raise RuntimeError(f"bench.clean_step {' '.join(args)} failed:\n{child.stderr}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def ratio(figures: dict[str, float], name: str) -> str:
    return f"{figures[name]:.2f} s  {figures[name] / figures['pyarrow_read_s']:.1f}x"


def memory(figures: dict[str, float], name: str) -> str:
    return f"{figures[name] / 2**20:,.0f} MiB, {figures[name] / figures['file_bytes']:.1f}x"


def main(sizes: tuple[int, ...] = SIZES) -> dict:
    results: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        for rows in sizes:
            dump, raw_stream = Path(folder) / f"dump_{rows}.csv", Path(folder) / f"raw_{rows}.parquet"
            write_dump(rows, dump)
            figures = in_child("--ingest", str(dump), str(raw_stream))
            figures.update(in_child("--clean", str(raw_stream)))
            figures["dump_to_clean_s"] = figures["ingest_s"] + figures["clean_step_s"]
            results.append(figures)
            dump.unlink()
            raw_stream.unlink()
    rows_out = []
    for figures in results:
        rows_out += [
            (f"{figures['rows']:,} rows, {figures['file_bytes'] / 2**20:,.1f} MiB CSV", ""),
            ("  pyarrow.csv.read_csv (reference)", f"{figures['pyarrow_read_s']:.2f} s"),
            ("  ingest: read_dump (text + lineage)", ratio(figures, "read_dump_s")),
            ("  ingest: write raw_stream Parquet", ratio(figures, "write_raw_stream_s")),
            ("  clean_dataset: load raw_stream", ratio(figures, "load_raw_stream_s")),
            ("  clean_dataset: parse, validate, dedupe, impute", ratio(figures, "clean_s")),
            ("  clean_dataset: write clean + quarantine", ratio(figures, "write_clean_s")),
            ("  clean_dataset step (target <= 2x)", ratio(figures, "clean_step_s")),
            ("  ingest + clean_dataset, dump to clean table", ratio(figures, "dump_to_clean_s")),
            ("  ingest peak memory added / file", memory(figures, "ingest_peak_bytes")),
            ("  clean_dataset peak memory added / file (target <= 2x)", memory(figures, "clean_peak_bytes")),
        ]
    print("Clean step against pyarrow.csv.read_csv of the same dump (fastest of 3)")
    print(table(rows_out))
    by_size = {str(f["rows"]): f for f in results}
    small, large = results[0], results[1] if len(results) > 1 else results[0]
    record = {
        "sizes": by_size,
        "clean_memory_per_row_1x_bytes": small["clean_peak_bytes"] / small["rows"],
        "clean_memory_per_row_10x_bytes": large["clean_peak_bytes"] / large["rows"],
    }
    print(f"results: {save('clean_step', record)}")
    return record


if __name__ == "__main__":
    if sys.argv[1:2] == ["--ingest"]:
        print(json.dumps(measure_ingest(Path(sys.argv[2]), Path(sys.argv[3]))))
    elif sys.argv[1:2] == ["--clean"]:
        print(json.dumps(measure_clean(Path(sys.argv[2]))))
    else:
        main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
