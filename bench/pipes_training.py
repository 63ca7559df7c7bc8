"""What training through Dagster Pipes costs per daily run, against training in the run's process.

Reference: a daily run (history behind it, so the day trains, scores and reports) with training
in the run's own process, on the in-process executor. Measured, on the same day and stores:
- the same run with training in a local subprocess through Pipes (the local and azurite
  deployments' default): what isolation costs;
- the azure deployment before this change, in-process training on the multiprocess executor (a
  process per step, so a dying step could not take the run down): what that isolation cost.
With training out of the run's process, the azure deployment runs the rest in-process.
Target: the subprocess path adds at most 5 s; the azure deployment's overhead under 10 s.

Usage: python -m bench.pipes_training [repeat]
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg

from bench.common import best_of, save, table
from bench.orchestration import DAYS, START, deployment_in, run_multiprocess
from e2e_ml.definitions import build_definitions
from e2e_ml.demo import QUIET_LOGS
from e2e_ml.jobs import DAILY_PIPELINE


def main(repeat: int = 3) -> dict:
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    day = (START + timedelta(days=DAYS - 1)).isoformat()
    with tempfile.TemporaryDirectory() as folder:
        settings = deployment_in(Path(folder))
        jobs = {
            place: build_definitions(dataclasses.replace(settings, training=place)).resolve_job_def(
                DAILY_PIPELINE
            )
            for place in ("in_process", "subprocess")
        }
        with dg.DagsterInstance.get() as instance:
            for index in range(DAYS - 1):  # history, so the measured day trains and scores
                jobs["in_process"].execute_in_process(
                    partition_key=(START + timedelta(days=index)).isoformat(),
                    instance=instance,
                    run_config=QUIET_LOGS,
                )

            def daily_run(place: str) -> None:
                if (
                    not jobs[place]
                    .execute_in_process(partition_key=day, instance=instance, run_config=QUIET_LOGS)
                    .success
                ):
                    raise RuntimeError(f"the run with {place} training failed")

            started = time.perf_counter()
            in_process, _ = best_of(repeat, lambda: daily_run("in_process"))
            subprocess, _ = best_of(repeat, lambda: daily_run("subprocess"))
            multiprocess_run, _ = best_of(1, lambda: run_multiprocess(instance, day))
            total = time.perf_counter() - started
    figures = {
        "in_process_training_s": round(in_process, 2),
        "subprocess_training_s": round(subprocess, 2),
        "subprocess_added_s": round(subprocess - in_process, 2),
        "subprocess_over_in_process": round(subprocess / in_process, 2),
        "multiprocess_executor_s": round(multiprocess_run, 2),
        "multiprocess_added_s": round(multiprocess_run - in_process, 2),
        "bench_seconds": round(total, 1),
    }
    print(f"A daily run, best of {repeat} (reference: training in the run's process)")
    print(
        table(
            [
                ("in-process training, in-process executor (reference)", f"{in_process:.2f} s"),
                (
                    "training in a subprocess through Pipes (local default; azure now)",
                    f"{subprocess:.2f} s  {subprocess / in_process:.2f}x  +{subprocess - in_process:.2f} s",
                ),
                (
                    "in-process training, multiprocess executor (azure before)",
                    f"{multiprocess_run:.2f} s  {multiprocess_run / in_process:.2f}x  "
                    f"+{multiprocess_run - in_process:.2f} s",
                ),
            ]
        )
    )
    print(f"results: {save('pipes_training', {'repeat': repeat, **figures})}")
    return figures


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
