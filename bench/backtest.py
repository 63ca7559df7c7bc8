"""The backtest of a month of telemetry whose churn labels arrive a week late, by the outcomes feed.

Lands DAYS days of the simulated telemetry (rows without labels; each day's labels delivered
seven days later, churn's true delay), runs `e2e-ml backtest` over them on a fresh local
deployment, and saves the daily table and its summary under bench/results/ (backtest.csv,
backtest.json). The reference for the model's figure is the naive baselines on the same days.

Usage: python -m bench.backtest [days] [players]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import RESULTS, save, table
from e2e_ml.backtest import printable, run_backtest
from e2e_ml.deployments import Settings
from e2e_ml.simulate.land import land_in
from e2e_ml.simulate.telemetry import SimulationConfig, simulate

LABEL_DELAY_DAYS = 7


def main(days: int = 35, players: int = 2_000) -> dict:
    start = date.today() - timedelta(days=days + LABEL_DELAY_DAYS)
    last = start + timedelta(days=days - 1)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["DAGSTER_HOME"] = str(Path(folder) / "dagster")
        settings = Settings(home=Path(folder), start_date=start)
        # Labels for the last days land too (up to today): every served day can be judged.
        config = SimulationConfig(
            start=start, days=days + LABEL_DELAY_DAYS, players=players, label_delay_days=LABEL_DELAY_DAYS
        )
        land_in(settings, (d for d in simulate(config) if d.zone == "outcomes" or d.day <= last))
        started = time.perf_counter()
        result, runs = run_backtest(settings, start, last, report=lambda line: None)
        seconds = time.perf_counter() - started
    RESULTS.mkdir(exist_ok=True)
    csv = RESULTS / "backtest.csv"
    result.table.to_csv(csv, index=False, float_format="%.4f")
    best_naive = result.summary["pooled_baseline_segment"]
    figures = {
        **result.summary,
        "label_delay_days": LABEL_DELAY_DAYS,
        "players": players,
        "runs": len(runs),
        "failed_runs": sum(not r.success for r in runs),
        "pipeline_seconds": round(seconds, 1),
        "model_minus_best_naive": round(result.summary["pooled_model"] - best_naive, 4)
        if result.summary["pooled_model"] is not None and best_naive is not None
        else None,
    }
    print(printable(result))
    print(table([(key, str(value)) for key, value in figures.items()]))
    print(f"saved {csv} and {save('backtest', figures)}")
    return figures


if __name__ == "__main__":
    main(*[int(a) for a in sys.argv[1:]])
