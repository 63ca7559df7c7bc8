"""Ingest and clean_dataset throughput and memory, against reading the same CSV with pyarrow.

Reference: `pyarrow.csv.read_csv` of the dump (bytes to columns, nothing written). Two floors
beside it, from the same run, for what any clean step must at least do: polars reading the CSV
with the contract's number types straight into Parquet (no rule at all), and polars copying the
step's own clean rows from Parquet to Parquet (the write alone). Measured:
the pipeline's own `ingest` and `prepare` (clean_dataset) steps, run by Dagster on a landing
zone and a lake in local folders, each in a fresh process: the step's time from the run's event
log (fastest of 3) and the peak memory it adds once everything is imported (Linux's VmHWM, reset
at that point), against the CSV's size. The largest day is then run once more in a process
whose memory is capped well below the file (a cgroup where this user may make one, else
`prlimit --as`, which counts address space, not memory).

Rows span consecutive days (the contract's key is player and day, and a player id has six
digits), so the dump is one day's simulated traffic repeated over later dates, and the bench
contract trusts the landing zone's day (`time.landing_day: authoritative`).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from bench.common import best_of, save, step_durations, table

DEFAULT_DAY_ROWS = 1_350  # one simulated day at the demo's 2,000 players
SIZES = (DEFAULT_DAY_ROWS, 10 * DEFAULT_DAY_ROWS, 5_000_000, 20_000_000)
REPEAT = 3
DAY = date(2026, 1, 1)
SAMPLE_ROWS = 50_000  # of the day, to fit the model that scores it
MAX_SCORED_ROWS = 5_000_000  # scoring a day whole needs ~0.6 KiB a row: not done past this
CAP_SHARE = 0.75  # the capped run's memory limit (the whole process), as a share of the dump's size


def write_dump(rows: int, path: Path) -> None:
    """`rows` rows of simulated telemetry as one CSV, written a day's copy at a time."""
    from e2e_ml.simulate.telemetry import SimulationConfig, simulate_day

    players = max(2_000, min(900_000, rows))
    dumps = simulate_day(SimulationConfig(start=DAY, days=1, players=players), 0)
    day = pd.concat([pd.read_csv(io.BytesIO(d.content), dtype=str) for d in dumps], ignore_index=True)
    written, shift = 0, 0
    with path.open("w") as file:
        while written < rows:
            moment = (DAY + timedelta(days=shift)).isoformat()
            copy = day.head(rows - written).assign(
                event_date=lambda frame, moment=moment: frame["event_date"].str.replace(
                    DAY.isoformat(), moment
                )
            )
            copy.to_csv(file, index=False, header=shift == 0)
            written, shift = written + len(copy), shift + 1


def bench_contract(folder: Path) -> Path:
    from e2e_ml.deployments import DEFAULT_CONTRACT

    contract = yaml.safe_load(DEFAULT_CONTRACT.read_text())
    contract["time"] = {**contract.get("time", {}), "landing_day": "authoritative"}
    path = folder / "bench_contract.yaml"
    path.write_text(yaml.safe_dump(contract))
    return path


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


def run_step(step: str, folder: Path, repeat: int) -> dict[str, float | int]:
    """Run the pipeline's `step` (ingest or prepare) on the day in `folder`, `repeat` times."""
    import dagster as dg

    from e2e_ml.assets.ingest import ingest
    from e2e_ml.assets.prepare import prepare
    from e2e_ml.resources.contract import DataContract
    from e2e_ml.resources.storage import LandingZone, ParquetIOManager, StorageLocation, table_path

    lake = StorageLocation(url=str(folder / "lake"))
    resources = {
        "landing_zone": LandingZone(url=str(folder / "landing")),
        "lake_io_manager": ParquetIOManager(store=lake),
        "contract": DataContract(path=str(folder / "bench_contract.yaml")),
        "lake": lake,
    }
    chosen = ingest if step == "ingest" else prepare
    times, peak, process_peak = [], 0, 0
    with dg.instance_for_test() as instance:
        for run in range(repeat):
            start = reset_peak_memory()
            result = dg.materialize(
                [ingest, prepare],
                selection=dg.AssetSelection.assets(*chosen.keys),
                partition_key=DAY.isoformat(),
                resources=resources,
                instance=instance,
            )
            if run == 0:
                peak, process_peak = peak_memory_since(start), _status_bytes("VmHWM")
            times.append(step_durations(instance, result.run_id)[step])
    figures: dict[str, float | int] = {
        f"{step}_s": min(times),
        f"{step}_peak_bytes": peak,
        f"{step}_process_peak_bytes": process_peak,
    }
    if step == "prepare":
        figures["clean_rows"] = lake.row_count(table_path("clean_dataset", DAY.isoformat()))
        figures["quarantined_rows"] = lake.row_count(table_path("quarantined_rows", DAY.isoformat()))
    return figures


def pyarrow_read(dump: Path) -> dict[str, float | int]:
    import pyarrow.csv

    content = dump.read_bytes()
    fastest, _ = best_of(REPEAT, lambda: pyarrow.csv.read_csv(io.BytesIO(content)))
    return {"pyarrow_read_s": fastest, "file_bytes": len(content)}


def floors(folder: Path) -> dict[str, float]:
    """The two floors (see the module's docstring), fastest of `REPEAT` each, after the steps ran."""
    import polars as pl

    import e2e_ml  # noqa: F401  (its polars settings, as in the steps)
    from e2e_ml.core.contract import load_contract
    from e2e_ml.core.tables import LAKE_COMPRESSION
    from e2e_ml.resources.storage import table_path

    contract = load_contract(folder / "bench_contract.yaml")
    number_types = {
        column: contract.polars_dtype(column) if contract.kind(column) in ("integer", "float") else pl.String
        for column in contract.columns
    }
    dump = next((folder / "landing").rglob("*.csv"))
    clean_rows = folder / "lake" / table_path("clean_dataset", DAY.isoformat())
    target = folder / "floor.parquet"
    typed_csv = pl.scan_csv(dump, schema_overrides=number_types)
    csv_s, _ = best_of(REPEAT, lambda: typed_csv.sink_parquet(target, compression=LAKE_COMPRESSION))
    copy = pl.scan_parquet(clean_rows)
    copy_s, _ = best_of(REPEAT, lambda: copy.sink_parquet(target, compression=LAKE_COMPRESSION))
    target.unlink()
    return {"csv_to_parquet_s": csv_s, "parquet_copy_s": copy_s}


def score(folder: Path, how: str) -> dict[str, float | int]:
    """The day's clean rows scored as daily_predictions scores them, `how`: "batched" (the
    step's way) or "whole" (the day read into pandas at once, as before), by a model fitted on a
    sample of the day. Time and the peak memory the scoring adds."""
    import polars as pl

    from e2e_ml.assets.predict import SCORING_BATCH_ROWS, scored_as_served
    from e2e_ml.core.contract import load_contract
    from e2e_ml.core.features import feature_frame, target
    from e2e_ml.core.model import TrainingParams, build_model, no_predictions
    from e2e_ml.core.tables import as_pandas, write_frames
    from e2e_ml.resources.storage import table_path

    contract = load_contract(folder / "bench_contract.yaml")
    clean_rows = pl.scan_parquet(folder / "lake" / table_path("clean_dataset", DAY.isoformat()))
    sample = as_pandas(clean_rows.head(SAMPLE_ROWS).collect())
    model = build_model(contract, TrainingParams(max_iter=20))
    model.fit(feature_frame(sample, contract), target(sample, contract))
    no_outcomes = pd.DataFrame()  # the bench contract has no recent-outcome inputs
    made_by = ("bench", "1", DAY.isoformat())
    target_file = folder / "predictions.parquet"
    start, started = reset_peak_memory(), time.perf_counter()
    if how == "whole":
        whole = as_pandas(clean_rows.collect())
        scored_as_served(whole, model, contract, no_outcomes, DAY, made_by).to_parquet(target_file)
    else:
        batches = clean_rows.collect_batches(chunk_size=SCORING_BATCH_ROWS)
        scored = (scored_as_served(as_pandas(b), model, contract, no_outcomes, DAY, made_by) for b in batches)
        write_frames(scored, target_file, no_predictions())
    seconds, peak = time.perf_counter() - started, peak_memory_since(start)
    target_file.unlink()
    return {f"score_{how}_s": seconds, f"score_{how}_peak_bytes": peak}


def in_child(*args: str, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    command = [*prefix, sys.executable, "-m", "bench.clean_step", *args]
    child = subprocess.run(command, capture_output=True, text=True)
    if child.returncode:
        return {"failed": f"exit {child.returncode}: {child.stderr.strip().splitlines()[-1:]}"}
    return json.loads(child.stdout.strip().splitlines()[-1])


@contextmanager
def memory_cap(limit: int) -> Iterator[tuple[tuple[str, ...], str]]:
    """A command prefix that runs a child under `limit` bytes of memory, and how it is enforced:
    a cgroup (v1 or v2) where this user may make one, else `prlimit --as`."""
    for controller, limit_file in (
        (Path("/sys/fs/cgroup/memory"), "memory.limit_in_bytes"),
        (Path("/sys/fs/cgroup"), "memory.max"),
    ):
        group = controller / f"e2e-ml-bench-{uuid.uuid4().hex[:8]}"
        try:
            group.mkdir()
            (group / limit_file).write_text(str(limit))
        except OSError:
            if group.exists():
                group.rmdir()
            continue
        try:
            join = f'echo $$ > {group}/cgroup.procs && exec "$0" "$@"'
            yield ("sh", "-c", join), f"cgroup memory limit, {controller}"
        finally:
            _remove_group(group)
        return
    yield ("prlimit", f"--as={limit}"), "prlimit --as (address space)"


def _remove_group(group: Path) -> None:
    """Remove a cgroup once its processes are gone; the page cache they left may still be
    charged to it (v1), and is moved to the parent first."""
    force_empty = group / "memory.force_empty"
    if force_empty.exists():
        force_empty.write_text("0")
    group.rmdir()


def measure(rows: int, folder: Path) -> dict[str, Any]:
    landing = folder / "landing" / f"{DAY:%Y/%m/%d}"  # the default layout's day folder
    landing.mkdir(parents=True)
    dump = landing / "dump.csv"
    write_dump(rows, dump)
    figures: dict[str, Any] = {"rows": rows, **in_child("--reference", str(dump))}
    figures.update(in_child("--step", "ingest", str(folder)))
    figures.update(in_child("--step", "prepare", str(folder)))
    figures.update(in_child("--floors", str(folder)))
    if rows <= MAX_SCORED_ROWS:
        for how in ("whole", "batched"):
            figures.update(in_child("--score", how, str(folder)))
    return figures


def capped(rows: int, folder: Path) -> dict[str, Any]:
    """The largest day's steps once more, each in a process capped at a share of the file."""
    file_bytes = sum(f.stat().st_size for f in (folder / "landing").rglob("*.csv"))
    limit = int(file_bytes * CAP_SHARE)
    outcome: dict[str, Any] = {"rows": rows, "file_bytes": file_bytes, "cap_bytes": limit}
    with memory_cap(limit) as (prefix, how):
        outcome["cap"] = how
        for step in ("ingest", "prepare"):
            ran = in_child("--step", step, str(folder), "1", prefix=prefix)
            outcome[step] = ran.get("failed", "ok")
    return outcome


def ratio(figures: dict[str, Any], name: str, against: str = "pyarrow_read_s") -> str:
    return f"{figures[name]:.2f} s  {figures[name] / figures[against]:.2f}x"


def memory(figures: dict[str, Any], name: str) -> str:
    return f"{figures[name] / 2**20:,.0f} MiB, {figures[name] / figures['file_bytes']:.2f}x"


def main(sizes: tuple[int, ...] = SIZES) -> dict:
    results: list[dict[str, Any]] = []
    cap: dict[str, Any] = {}
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="e2e-ml-bench-") as name:
            folder = Path(name)
            bench_contract(folder)
            figures = measure(rows, folder)
            results.append(figures)
            print(f"{rows:,} rows: {json.dumps(figures)}", flush=True)
            if rows == max(sizes):
                cap = capped(rows, folder)
    lines = []
    for figures in results:
        if any("failed" in str(value) for value in figures.values()):
            lines.append((f"{figures['rows']:,} rows", f"failed: {figures}"))
            continue
        lines += [
            (f"{figures['rows']:,} rows, {figures['file_bytes'] / 2**20:,.1f} MiB CSV", ""),
            ("  pyarrow.csv.read_csv (reference)", f"{figures['pyarrow_read_s']:.2f} s"),
            ("  ingest step (read, spool, publish raw_stream)", ratio(figures, "ingest_s")),
            ("  clean_dataset step (target <= 1.5x)", ratio(figures, "prepare_s")),
            ("  floor: polars, CSV with number types to Parquet", ratio(figures, "csv_to_parquet_s")),
            ("  floor: polars, the clean rows Parquet to Parquet", ratio(figures, "parquet_copy_s")),
            ("  clean_dataset step / the CSV floor", ratio(figures, "prepare_s", "csv_to_parquet_s")),
            ("  ingest peak memory added / file", memory(figures, "ingest_peak_bytes")),
            (
                "  clean_dataset peak memory added / file (target <= 2x)",
                memory(figures, "prepare_peak_bytes"),
            ),
            (
                "  process peak, imports included: ingest / clean_dataset",
                f"{figures['ingest_process_peak_bytes'] / 2**20:,.0f} MiB / "
                f"{figures['prepare_process_peak_bytes'] / 2**20:,.0f} MiB",
            ),
            ("  clean + quarantined rows", f"{figures['clean_rows']:,} + {figures['quarantined_rows']:,}"),
        ]
        if "score_batched_s" in figures:
            lines += [
                (
                    "  scoring the clean rows, memory added: whole day / in batches (daily_predictions)",
                    " / ".join(memory(figures, f"score_{how}_peak_bytes") for how in ("whole", "batched")),
                ),
                (
                    "  scoring time: whole day / in batches",
                    f"{figures['score_whole_s']:.2f} s / {figures['score_batched_s']:.2f} s",
                ),
            ]
    if cap:
        lines.append(
            (
                f"{cap['rows']:,} rows under {cap['cap_bytes'] / 2**20:,.0f} MiB ({cap['cap']})",
                f"ingest {cap['ingest']}, clean_dataset {cap['prepare']}",
            )
        )
    print("Ingest and clean_dataset steps against pyarrow.csv.read_csv of the same dump (fastest of 3)")
    print(table(lines))
    record = {"sizes": {str(f["rows"]): f for f in results}, "capped": cap}
    print(f"results: {save('clean_step', record)}")
    return record


if __name__ == "__main__":
    if sys.argv[1:2] == ["--reference"]:
        print(json.dumps(pyarrow_read(Path(sys.argv[2]))))
    elif sys.argv[1:2] == ["--score"]:
        print(json.dumps(score(Path(sys.argv[3]), sys.argv[2])))
    elif sys.argv[1:2] == ["--floors"]:
        print(json.dumps(floors(Path(sys.argv[2]))))
    elif sys.argv[1:2] == ["--step"]:
        repeat = int(sys.argv[4]) if len(sys.argv) > 4 else REPEAT
        print(json.dumps(run_step(sys.argv[2], Path(sys.argv[3]), repeat)))
    else:
        main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
