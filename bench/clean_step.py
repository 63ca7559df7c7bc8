"""Clean-step throughput and memory, against reading the same CSV with pyarrow.

Reference: `pyarrow.csv.read_csv` of the dump (the physical floor: bytes to columns). Measured:
the work of `raw_stream` + `clean_dataset` on that dump, stage by stage: read as text with
lineage (`read_dump`), contract validation, imputation and de-duplication (`clean`), and the
Parquet writes of the clean and quarantined tables. Each size runs in a fresh process, so its
peak RSS is its own: memory is the peak added by the pipeline's stages (after reading the file
and importing everything), against the file's size.

Rows span consecutive days (the contract's key is player and day, and a player id has six
digits), so the 5M-row dump is one day's simulated traffic repeated over later dates.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from bench.common import best_of, save, table

DEFAULT_DAY_ROWS = 1_350  # one simulated day at the demo's 2,000 players
SIZES = (DEFAULT_DAY_ROWS, 10 * DEFAULT_DAY_ROWS, 5_000_000)


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


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(path: Path, repeat: int = 3) -> dict[str, float | int]:
    """In this (fresh) process: the reference, then the pipeline's stages on the same bytes.

    Each figure is the fastest of `repeat` runs, the reference's too: the first read of a big
    file in a process also pays for the allocator's first pages, which is noise, not work.
    """
    import pyarrow.csv

    from e2e_ml.core.cleaning import CleanResult, clean
    from e2e_ml.core.contract import load_contract
    from e2e_ml.core.ingest import read_dump
    from e2e_ml.deployments import DEFAULT_CONTRACT
    from e2e_ml.resources.storage import parquet_bytes

    contract = load_contract(DEFAULT_CONTRACT)
    content = path.read_bytes()
    baseline = peak_rss_bytes()
    figures: dict[str, float | int] = {"file_bytes": len(content)}
    figures["pyarrow_read_s"], _ = best_of(repeat, lambda: pyarrow.csv.read_csv(io.BytesIO(content)))

    stages: dict[str, list[float]] = {
        "read_dump_s": [],
        "clean_s": [],
        "write_parquet_s": [],
        "pipeline_s": [],
    }
    result: CleanResult | None = None
    for _ in range(repeat):
        del result  # the previous run's tables, so that runs do not stack up in memory
        started = time.perf_counter()
        raw = read_dump(path.name, content).rows
        read_at = time.perf_counter()
        result = clean(raw, contract)
        cleaned_at = time.perf_counter()
        written = len(parquet_bytes(result.clean)) + len(parquet_bytes(result.quarantine))
        written_at = time.perf_counter()
        del raw
        for stage, seconds in (
            ("read_dump_s", read_at - started),
            ("clean_s", cleaned_at - read_at),
            ("write_parquet_s", written_at - cleaned_at),
            ("pipeline_s", written_at - started),
        ):
            stages[stage].append(seconds)
    assert result is not None
    figures.update({stage: min(times) for stage, times in stages.items()})
    figures["rows"] = len(result.clean) + len(result.quarantine)
    figures["parquet_bytes"] = written
    figures["clean_rows"] = len(result.clean)
    figures["quarantined_rows"] = len(result.quarantine)
    figures["pipeline_peak_bytes"] = peak_rss_bytes() - baseline
    return figures


def main(sizes: tuple[int, ...] = SIZES) -> dict:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for rows in sizes:
            path = Path(folder) / f"dump_{rows}.csv"
            write_dump(rows, path)
            child = subprocess.run(
                [sys.executable, "-m", "bench.clean_step", "--measure", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            results.append(json.loads(child.stdout.strip().splitlines()[-1]))
            path.unlink()
    rows_out = []
    for figures in results:
        read = figures["pyarrow_read_s"]
        rows_out += [
            (f"{figures['rows']:,} rows, {figures['file_bytes'] / 2**20:,.1f} MiB CSV", ""),
            ("  pyarrow.csv.read_csv (reference)", f"{read:.2f} s"),
            (
                "  read_dump (text + lineage)",
                f"{figures['read_dump_s']:.2f} s  {figures['read_dump_s'] / read:.1f}x",
            ),
            (
                "  clean (parse, validate, impute, dedupe)",
                f"{figures['clean_s']:.2f} s  {figures['clean_s'] / read:.1f}x",
            ),
            (
                "  write Parquet",
                f"{figures['write_parquet_s']:.2f} s  {figures['write_parquet_s'] / read:.1f}x",
            ),
            ("  whole step / reference (target <= 2x)", f"{figures['pipeline_s'] / read:.1f}x"),
            (
                "  peak memory added / file size (target <= 2x)",
                f"{figures['pipeline_peak_bytes'] / 2**20:,.0f} MiB, "
                f"{figures['pipeline_peak_bytes'] / figures['file_bytes']:.1f}x",
            ),
        ]
    print("Clean step against pyarrow.csv.read_csv of the same dump")
    print(table(rows_out))
    by_size = {str(f["rows"]): f for f in results}
    small, large = results[0], results[1] if len(results) > 1 else results[0]
    record = {
        "sizes": by_size,
        "memory_per_row_1x_bytes": small["pipeline_peak_bytes"] / small["rows"],
        "memory_per_row_10x_bytes": large["pipeline_peak_bytes"] / large["rows"],
    }
    print(f"results: {save('clean_step', record)}")
    return record


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(Path(sys.argv[2]))))
    else:
        main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
