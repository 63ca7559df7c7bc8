"""Orchestration overhead per executor: a daily run's wall time against the time in its steps.

Reference: the sum of the run's step durations (each step's own work: loading inputs, computing,
writing outputs, as the event log times them). Measured: the run's wall time, so the difference
is what Dagster adds around the steps (planning, events, storage of run records, and for the
multiprocess executor one process per step). Target: under 1 s per daily run on the local
deployment's executor (in-process).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from bench.common import save, step_durations, table
from e2e_ml.definitions import build_definitions
from e2e_ml.demo import QUIET_LOGS
from e2e_ml.deployments import Settings
from e2e_ml.jobs import DAILY_PIPELINE
from e2e_ml.simulate.land import land_in
from e2e_ml.simulate.telemetry import SimulationConfig, simulate

START = date(2026, 1, 1)
DAYS = 4


def daily_job() -> dg.JobDefinition:
    return build_definitions(Settings.from_env()).resolve_job_def(DAILY_PIPELINE)


def daily_job_multiprocess() -> dg.JobDefinition:
    """The same job on the multiprocess executor (the azure deployment's), loadable by module path."""
    defs = build_definitions(Settings.from_env())
    return dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        resources=defs.resources,
        executor=dg.multiprocess_executor,
    ).resolve_job_def(DAILY_PIPELINE)


def run_multiprocess(instance: dg.DagsterInstance, day: str) -> str:
    """One daily run of `daily_job_multiprocess` (loaded by path, as the executor needs); its run id."""
    with dg.execute_job(
        dg.reconstructable(daily_job_multiprocess),
        instance=instance,
        run_config=QUIET_LOGS,
        tags={"dagster/partition": day},
    ) as result:
        if not result.success:
            raise RuntimeError("the multiprocess run failed")
        return result.run_id


def deployment_in(folder: Path) -> Settings:
    """A local deployment in `folder` with `DAYS` simulated days landed. Its home and Dagster
    home are set in the environment, with in-process training: that is what the multiprocess job,
    loaded by module path, reads."""
    os.environ["E2E_ML_HOME"] = str(folder / "home")
    os.environ["DAGSTER_HOME"] = str(folder / "dagster")
    os.environ["E2E_ML_TRAINING"] = "in_process"
    Path(os.environ["DAGSTER_HOME"]).mkdir()
    (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    settings = Settings.from_env()
    land_in(settings, simulate(SimulationConfig(start=START, days=DAYS)))
    return settings


def main(repeat: int = 3) -> dict:
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    day = (START + timedelta(days=DAYS - 1)).isoformat()
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        deployment_in(Path(folder))  # executors compared on the same steps, training in-process
        with dg.DagsterInstance.get() as instance:
            job = daily_job()
            for index in range(DAYS - 1):  # history, so the measured day trains and scores
                job.execute_in_process(
                    partition_key=(START + timedelta(days=index)).isoformat(),
                    instance=instance,
                    run_config=QUIET_LOGS,
                )

            def in_process() -> str:
                return job.execute_in_process(
                    partition_key=day, instance=instance, run_config=QUIET_LOGS
                ).run_id

            def multiprocess() -> str:
                return run_multiprocess(instance, day)

            for label, run in (("in_process", in_process), ("multiprocess", multiprocess)):
                best: dict[str, float] | None = None
                for _ in range(repeat):
                    started = time.perf_counter()
                    run_id = run()
                    wall = time.perf_counter() - started
                    steps = sum(step_durations(instance, run_id).values())
                    if best is None or wall - steps < best["overhead"]:
                        best = {"wall": wall, "steps": steps, "overhead": wall - steps}
                assert best is not None
                figures[label] = best
    rows = []
    for label, best in figures.items():
        rows += [
            (f"{label}: time in steps (reference)", f"{best['steps']:.2f} s"),
            (f"{label}: run wall time", f"{best['wall']:.2f} s  {best['wall'] / best['steps']:.2f}x"),
            (f"{label}: overhead (target < 1 s in-process)", f"{best['overhead']:.2f} s"),
        ]
    print(f"Orchestration overhead of one daily run (best of {repeat})")
    print(table(rows))
    print(f"results: {save('orchestration', {'repeat': repeat, 'executors': figures})}")
    return figures


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
