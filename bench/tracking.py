"""MLflow logging overhead per trained partition, against the training it records.

Reference: fitting the model on a 14-day window (the work the run exists for). Measured: logging
params and metrics, the model with signature and input example, registering a version, moving
the alias, against a real SQLite tracking store. Target: small next to training.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from pathlib import Path

import pandas as pd

from bench.common import best_of, save, table
from e2e_ml.core.cleaning import clean
from e2e_ml.core.contract import load_contract
from e2e_ml.core.features import feature_frame
from e2e_ml.core.ingest import ReadDump, combine, read_dump
from e2e_ml.core.model import TrainingParams, train
from e2e_ml.core.tables import as_pandas
from e2e_ml.deployments import DEFAULT_CONTRACT
from e2e_ml.resources.tracking import MlflowTracking
from e2e_ml.simulate.telemetry import SimulationConfig, simulate


def history(days: int, players: int) -> pd.DataFrame:
    contract = load_contract(DEFAULT_CONTRACT)
    by_day: dict[date, list[ReadDump]] = {}
    for dump in simulate(SimulationConfig(start=date(2026, 1, 1), days=days, players=players)):
        by_day.setdefault(dump.day, []).append(read_dump(dump.name, dump.content))
    return pd.concat(
        [as_pandas(clean(combine(f), contract, d).clean) for d, f in by_day.items()], ignore_index=True
    )


def main(repeat: int = 5) -> dict:
    contract = load_contract(DEFAULT_CONTRACT)
    rows = history(days=15, players=10_000)
    result = train(rows, contract, TrainingParams())
    training, training_median = best_of(repeat, lambda: train(rows, contract, TrainingParams()))

    with tempfile.TemporaryDirectory() as folder:
        tracking = MlflowTracking(
            tracking_uri=f"sqlite:///{Path(folder) / 'mlflow.db'}",
            artifact_location=(Path(folder) / "artifacts").as_uri(),
        )
        example = feature_frame(result.holdout.head(5), contract)

        def log() -> None:
            logged = tracking.log_model(
                model=result.model,
                model_name="bench",
                input_example=example,
                params={"window": 14},
                metrics=result.metrics,
                tags={"dagster/partition": "2026-01-15"},
                run_name="bench",
            )
            tracking.promote("bench", logged.version)

        log()  # creates the store's tables and the registered model: a one-off cost
        logging, logging_median = best_of(repeat, log)

    figures = {
        "rows_trained": result.train_rows,
        "training_seconds": round(training, 3),
        "training_median_seconds": round(training_median, 3),
        "logging_seconds": round(logging, 3),
        "logging_median_seconds": round(logging_median, 3),
        "logging_over_training": round(logging / training, 3),
    }
    path = save("tracking", figures)
    print(f"MLflow logging overhead per trained partition (best of {repeat})")
    print(
        table(
            [
                ("training (reference)", f"{training:.3f} s on {result.train_rows} rows"),
                ("logging + register + alias", f"{logging:.3f} s"),
                ("ratio logging / training", f"{logging / training:.2f}x"),
            ]
        )
    )
    print(f"saved {path}")
    return figures


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
