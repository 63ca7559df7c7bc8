"""Daily run cost against history: the whole daily graph at day 30 and at day 365.

Reference: the daily run of day 30. Measured: the daily run of day 365, with the lake and the
outputs holding every day before it. Target: within 1.3x. Sixteen days are simulated and run
for real (so a champion model and real check history exist); the partitions of the days after
them are copies of those days' files, which is what a later run reads. The Dagster instance
holds the sixteen real runs only, so queries of the event log do not grow here as they would.
"""

from __future__ import annotations

import os

os.environ.setdefault("E2E_ML_START_DATE", "2025-01-01")  # day 365 must be a past partition

import logging
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from bench.common import save, step_durations, table
from e2e_ml.definitions import build_definitions
from e2e_ml.demo import QUIET_LOGS
from e2e_ml.deployments import Settings, provision, resources_for
from e2e_ml.jobs import DAILY_PIPELINE
from e2e_ml.simulate.land import land
from e2e_ml.simulate.telemetry import SimulationConfig, simulate, simulate_day

START = date.fromisoformat(os.environ["E2E_ML_START_DATE"])
SEED_DAYS = 16
PLAYERS = 2_000  # the demo's default
DAILY_ASSETS = {
    "lake": ("raw_stream", "raw_manifest", "clean_dataset", "quarantined_rows", "file_ledger"),
    "outputs": ("daily_predictions",),
}


def run_day(job: dg.JobDefinition, instance: dg.DagsterInstance, day: date) -> dict[str, float]:
    started = time.perf_counter()
    result = job.execute_in_process(partition_key=day.isoformat(), instance=instance, run_config=QUIET_LOGS)
    wall = time.perf_counter() - started
    return {"wall": wall, **step_durations(instance, result.run_id)}


def copy_history(settings: Settings, last_index: int) -> None:
    """Fill days SEED_DAYS..last_index with copies of the real days 2..15 (all have predictions)."""
    for role, assets in DAILY_ASSETS.items():
        root = Path(settings.url(role))
        for asset in assets:
            for index in range(SEED_DAYS, last_index + 1):
                source = START + timedelta(days=2 + index % (SEED_DAYS - 2))
                target = root / asset / f"date={START + timedelta(days=index)}" / "part.parquet"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / asset / f"date={source}" / "part.parquet", target)


def main(repeat: int = 3) -> dict:
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder, dg.instance_for_test() as instance:
        settings = Settings(home=Path(folder) / "home", start_date=START)
        provision(settings)
        job = build_definitions(settings).resolve_job_def(DAILY_PIPELINE)
        with dg.build_resources({"landing": resources_for(settings)["landing_zone"]}) as resources:
            land(simulate(SimulationConfig(start=START, days=SEED_DAYS, players=PLAYERS)), resources.landing)
            for index in range(SEED_DAYS):
                run_day(job, instance, START + timedelta(days=index))
            measured = {}
            for label, index in (("day 30", 29), ("day 365", 364)):
                copy_history(settings, index - 1)  # the report reads every day there is
                day = START + timedelta(days=index)
                config = SimulationConfig(start=START, days=index + 1, players=PLAYERS)
                land(simulate_day(config, index), resources.landing)
                runs = [run_day(job, instance, day) for _ in range(repeat)]
                measured[label] = min(runs, key=lambda r: r["wall"])
    reference, later = measured["day 30"], measured["day 365"]
    steps = sorted(set(reference) - {"wall"}, key=lambda s: -later.get(s, 0))
    rows = [
        ("daily run, day 30 (reference)", f"{reference['wall']:.2f} s"),
        ("daily run, day 365", f"{later['wall']:.2f} s"),
        ("ratio day 365 / day 30 (target <= 1.3x)", f"{later['wall'] / reference['wall']:.2f}x"),
        *(
            (f"  step {step}", f"{reference[step]:.2f} s -> {later.get(step, 0):.2f} s")
            for step in steps
            if max(reference[step], later.get(step, 0)) >= 0.05
        ),
    ]
    print(f"Daily run cost against history ({PLAYERS:,} players a day, best of {repeat})")
    print(table(rows))
    record = {
        "players": PLAYERS,
        "repeat": repeat,
        "runs": measured,
        "ratio": later["wall"] / reference["wall"],
    }
    print(f"results: {save('history_cost', record)}")
    return record


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
