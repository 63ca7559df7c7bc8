"""`e2e-ml backtest`: a date range through the real graph, then the table a data scientist asks for.

Each day runs as the daily job runs it (the same sensor-free job, assets and checks, on the
deployment's stores and instance), oldest first, so every model is trained, judged and promoted
as it would have been on that day. The table then judges what was served on every label known
today, beside the naive baselines, and is printed and saved as CSV and JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd

from e2e_ml.assets.partitions import TRAINING_WINDOW_DAYS
from e2e_ml.core.backtest import Backtest, backtest
from e2e_ml.core.contract import load_contract
from e2e_ml.core.labels import KNOWN_ON, label_predictions, with_known_labels
from e2e_ml.definitions import build_definitions
from e2e_ml.demo import QUIET_LOGS, describe, instance_for
from e2e_ml.deployments import Settings, provision, resources_for
from e2e_ml.jobs import DAILY_PIPELINE


def run_backtest(
    settings: Settings, first: date, last: date, report: Callable[[str], None] = print
) -> tuple[Backtest, list[dg.ExecuteInProcessResult]]:
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    provision(settings)
    defs = build_definitions(settings)
    instance = instance_for(settings)
    job = defs.resolve_job_def(DAILY_PIPELINE)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    runs = []
    for number, day in enumerate(days, start=1):
        run = job.execute_in_process(
            partition_key=day.isoformat(),
            instance=instance,
            run_config=QUIET_LOGS,
            tags={"e2e_ml/backtest": f"{first}..{last}"},
            raise_on_error=False,
        )
        runs.append(run)
        report(f"  [{number}/{len(days)}] {day}: {describe(run)}")
    return evaluate(settings, days), runs


def evaluate(settings: Settings, days: list[date]) -> Backtest:
    """The backtest of `days` from what the stores and MLflow hold now."""
    contract = load_contract(settings.contract)
    resources = resources_for(settings)
    history = [days[0] - timedelta(days=n) for n in range(TRAINING_WINDOW_DAYS, 0, -1)] + days
    keys = [day.isoformat() for day in days]
    with dg.build_resources({k: resources[k] for k in ("lake", "outputs", "mlflow", "contract")}) as built:
        served, _ = built.outputs.read_partitions("daily_predictions", keys)
        clean, _ = built.lake.read_partitions("clean_dataset", [d.isoformat() for d in history])
        outcomes, _ = built.lake.read_partitions("outcomes")
        versions = built.mlflow.versions(built.contract.model_name)
    today = date.today()
    outcomes = outcomes if len(outcomes) else None
    labelled = with_known_labels(clean, outcomes, contract, as_of=today) if len(clean) else clean
    labelled = (
        labelled[labelled[contract.roles.target].notna()]
        if len(labelled)
        else labelled.assign(**{KNOWN_ON: pd.Series(dtype="datetime64[ns]")})
    )
    judged = label_predictions(served, clean, outcomes, contract, as_of=today)
    promoted = (
        {date.fromisoformat(p) for p in versions.loc[versions["promoted"], "partition"].dropna()}
        if len(versions)
        else set()
    )
    return backtest(judged, labelled, promoted, days, contract, TRAINING_WINDOW_DAYS)


def save(result: Backtest, folder: Path, name: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    table, summary = folder / f"{name}.csv", folder / f"{name}.json"
    result.table.to_csv(table, index=False, float_format="%.4f")
    summary.write_text(json.dumps(result.summary, indent=2, default=str) + "\n")
    return table, summary


def printable(result: Backtest) -> str:
    shown = result.table.assign(
        **{
            c: result.table[c].map(lambda v: f"{v:.3f}" if v == v else "-")
            for c in ("model", "baseline_constant", "baseline_segment")
        }
    )
    lines = [shown.to_string(index=False), ""]
    lines += [f"{key}: {value}" for key, value in result.summary.items()]
    return "\n".join(lines)
