"""Model quality on data our simulator did not make: the pipeline against naive baselines.

The second example (parcel deliveries: hourly orders, a Chicago business day, hive folders of
gzip'd JSON lines) is landed for DAYS days and processed as a user would (`e2e-ml run`). Over
the last MONTH days: the pooled ROC AUC of the predictions the pipeline actually served
(out of sample: each day scored by the champion for that day), beside what naive baselines
would have scored on the same days (the window's constant rate; the rate per segment of each
single input, learned from the same window: the best of them is chosen in hindsight), and how
many days after the first champion went without predictions.

Usage: python -m bench.model_quality [days] [orders_per_day]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

CONTRACT = Path(__file__).resolve().parent.parent / "contracts" / "parcel_deliveries.yaml"
os.environ["E2E_ML_CONTRACT"] = str(CONTRACT)
os.environ["E2E_ML_LANDING_LAYOUT"] = "hive"

import dagster as dg  # noqa: E402
import pandas as pd  # noqa: E402

from bench.common import save, table  # noqa: E402
from e2e_ml.core.contract import load_contract  # noqa: E402
from e2e_ml.core.metrics import naive_backtest  # noqa: E402
from e2e_ml.core.model import metrics_for  # noqa: E402
from e2e_ml.demo import run_landing_zone  # noqa: E402
from e2e_ml.deployments import Settings, provision, resources_for  # noqa: E402
from e2e_ml.simulate.deliveries import DeliveriesConfig, deliveries  # noqa: E402
from e2e_ml.simulate.land import land  # noqa: E402

MONTH = 30
WINDOW_DAYS = 14  # the deployment's default training window


def main(days: int = 45, orders_per_day: int = 900) -> dict:
    start = date.today() - timedelta(days=days)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["DAGSTER_HOME"] = str(Path(folder) / "dagster")
        settings = Settings.from_env({**os.environ, "E2E_ML_HOME": folder})
        provision(settings)
        with dg.build_resources({"landing": resources_for(settings)["landing_zone"]}) as resources:
            land(deliveries(DeliveriesConfig(start, days, orders_per_day)), resources.landing)
        started = time.perf_counter()
        outcome = run_landing_zone(settings, report=lambda line: None)
        seconds = time.perf_counter() - started
        figures = evaluate(settings, [start + timedelta(days=i) for i in range(days)])
    figures.update(
        days=days,
        orders_per_day=orders_per_day,
        runs=len(outcome.runs),
        failed_runs=sum(not r.success for r in outcome.runs),
        pipeline_seconds=round(seconds, 1),
    )
    return figures


def evaluate(settings: Settings, days: list[date]) -> dict:
    contract = load_contract(settings.contract)
    outputs, lake = Path(settings.outputs_url), Path(settings.lake_url)
    predictions = pd.read_parquet(outputs / "daily_predictions")  # hive: a `date` column
    predictions["date"] = predictions["date"].astype(str)
    served = predictions[predictions["date"].isin({d.isoformat() for d in days})]
    scored_days = sorted(served["date"].unique())
    first_scored = date.fromisoformat(scored_days[0])
    unscored = [d.isoformat() for d in days if d >= first_scored and d.isoformat() not in set(scored_days)]
    month = [d for d in days if d >= days[-1] - timedelta(days=MONTH - 1)]
    in_month = served[served["date"].isin({d.isoformat() for d in month}) & served["actual"].notna()]
    pipeline = metrics_for(in_month["actual"].to_numpy(), in_month["score"].to_numpy(), "classification")
    clean = pd.read_parquet(lake / "clean_dataset")
    naive = naive_backtest(clean, month, contract, WINDOW_DAYS)
    best_name = max((n for n in naive if n.startswith("segment:")), key=naive.__getitem__)
    return {
        "month": f"{month[0]} .. {month[-1]}",
        "month_rows": len(in_month),
        "pipeline_roc_auc": round(pipeline["roc_auc"], 4),
        "constant_roc_auc": round(naive["constant"], 4),
        "best_segment": best_name.removeprefix("segment:"),
        "best_segment_roc_auc": round(naive[best_name], 4),
        "segment_roc_auc": {name.removeprefix("segment:"): round(v, 4) for name, v in naive.items()},
        "first_scored_day": scored_days[0],
        "days_without_predictions_after_first_champion": unscored,
    }


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:]]
    figures = main(*arguments)
    print(
        table(
            [
                ("month", figures["month"]),
                ("rows with labels", str(figures["month_rows"])),
                ("pipeline ROC AUC (served)", str(figures["pipeline_roc_auc"])),
                (f"best naive: rate per {figures['best_segment']}", str(figures["best_segment_roc_auc"])),
                ("naive constant", str(figures["constant_roc_auc"])),
                (
                    "days without predictions after the first champion",
                    str(len(figures["days_without_predictions_after_first_champion"])),
                ),
                ("runs (failed)", f"{figures['runs']} ({figures['failed_runs']})"),
                ("pipeline time", f"{figures['pipeline_seconds']} s"),
            ]
        )
    )
    print(f"saved {save('model_quality', figures)}")
