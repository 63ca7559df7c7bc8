"""report_extract: BI tables in a star-like shape, and the dashboard that tells their story.

Tables (Parquet + CSV under <outputs>/report/, schemas in the README):
fact_daily_predictions, fact_realized_performance, dim_model_version, fact_file_quality,
fact_feature_drift, fact_alerts, fact_feature_importance and fact_segment_quality (the
champion's, from its MLflow run).
The row-level facts are daily_predictions itself (hive-partitioned beside them).
"""

from collections.abc import Iterable, Mapping

import dagster as dg
import pandas as pd

from e2e_ml.assets.partitions import daily_partitions
from e2e_ml.checks.catalog import CHECK_KEYS
from e2e_ml.checks.history import check_outcomes
from e2e_ml.core.dashboard import build_dashboard
from e2e_ml.core.metrics import daily_summary
from e2e_ml.core.monitoring import DRIFT_COLUMNS
from e2e_ml.core.performance import latest_performance
from e2e_ml.core.spreadsheet import spreadsheet_csv
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.storage import StorageLocation, parquet_bytes
from e2e_ml.resources.tracking import MlflowTracking

FEATURE_DRIFT = dg.AssetCheckKey(dg.AssetKey("clean_dataset"), "feature_drift")
DRIFT_HISTORY_COLUMNS = ["day", *DRIFT_COLUMNS]
ALERT_COLUMNS = ["day", "severity", "kind", "title", "detail"]


@dg.asset(
    group_name="report",
    deps=["daily_predictions", "realized_performance", "file_ledger"],
    description="BI tables for Power BI and friends, and a self-contained HTML dashboard, "
    "in the outputs store. A daily run refreshes its own days; materialized alone, it is rebuilt "
    "from every day.",
)
def report_extract(
    context: dg.AssetExecutionContext,
    contract: DataContract,
    mlflow: MlflowTracking,
    lake: StorageLocation,
    outputs: StorageLocation,
) -> dg.MaterializeResult:
    spec = contract.load()
    task, zone = spec.roles.task, spec.time.zone
    days = run_days(context.run.tags)
    summary_before = previous_table(outputs, "fact_daily_predictions")
    quality_before = previous_table(outputs, "fact_file_quality")
    if days is None or summary_before is None or quality_before is None:
        days = None
        predictions = outputs.read_partitions("daily_predictions")[0]
        summary = daily_summary(predictions, task, zone)
        quality = lake.read_partitions("file_ledger")[0]
        realized = latest_performance([outputs.read_partitions("realized_performance")[0]], summary)
    else:  # the cost of a daily run stays flat as history grows
        predictions = outputs.read_partitions("daily_predictions", days)[0]
        summary = replace_days(summary_before, daily_summary(predictions, task, zone), "date", days)
        quality = replace_days(quality_before, lake.read_partitions("file_ledger", days)[0], "day", days)
        realized_before = previous_table(outputs, "fact_realized_performance")
        realized = latest_performance(
            [
                pd.DataFrame() if realized_before is None else realized_before,
                outputs.read_partitions("realized_performance", days)[0],
            ],
            summary,
        )
    tables = {
        "fact_daily_predictions": summary,
        "fact_realized_performance": realized,
        "dim_model_version": mlflow.versions(contract.model_name),
        "fact_file_quality": quality,
        "fact_feature_drift": feature_drift_history(context.instance),
        "fact_alerts": alert_history(context.instance, CHECK_KEYS),
        "fact_feature_importance": mlflow.champion_table(contract.model_name, "feature_importance"),
        "fact_segment_quality": mlflow.champion_table(contract.model_name, "segment_quality"),
    }
    urls = {}
    for name, table in tables.items():
        outputs.write(f"report/{name}.parquet", parquet_bytes(table))
        urls[name] = outputs.write(f"report/{name}.csv", spreadsheet_csv(table))
    html = build_dashboard(
        task,
        tables["fact_daily_predictions"],
        tables["dim_model_version"],
        tables["fact_file_quality"],
        tables["fact_feature_drift"],
        tables["fact_alerts"],
        tables["fact_feature_importance"],
        tables["fact_segment_quality"],
        realized=realized,
        title=f"e2e-ml: {spec.name} predictions",
        target=spec.roles.target,
    )
    dashboard = outputs.write("report/dashboard.html", html.encode())
    summary = tables["fact_daily_predictions"]
    context.log.info(f"report: {len(summary)} days, dashboard at {dashboard}")
    return dg.MaterializeResult(
        metadata={
            "dashboard": dg.MetadataValue.path(dashboard),
            "days": len(summary),
            "refreshed": ", ".join(days) if days is not None else "every day (full rebuild)",
            "predictions_read": len(predictions),
            "model_versions": len(tables["dim_model_version"]),
            "alerts": len(tables["fact_alerts"]),
            **{name: dg.MetadataValue.path(url) for name, url in urls.items()},
            "summary": dg.MetadataValue.md(summary.tail(14).to_markdown(index=False)),
        }
    )


def run_days(tags: Mapping[str, str]) -> list[str] | None:
    """The daily partitions a run covers: one, a range (backfills), or None outside the daily job."""
    if "dagster/partition" in tags:
        return [tags["dagster/partition"]]
    start, end = (
        tags.get("dagster/asset_partition_range_start"),
        tags.get("dagster/asset_partition_range_end"),
    )
    if start and end:
        return list(daily_partitions.get_partition_keys_in_range(dg.PartitionKeyRange(start, end)))
    return None


def previous_table(outputs: StorageLocation, name: str) -> pd.DataFrame | None:
    try:
        return outputs.read_table(f"report/{name}.parquet")
    except FileNotFoundError:
        return None


def replace_days(before: pd.DataFrame, fresh: pd.DataFrame, column: str, days: list[str]) -> pd.DataFrame:
    """`before` with the rows of `days` replaced by `fresh`, in day order."""
    kept = before[~before[column].astype(str).isin(days)]
    parts = [frame for frame in (kept, fresh) if len(frame)]
    if not parts:
        return before.iloc[0:0]
    merged = pd.concat(parts, ignore_index=True)
    order = merged[column].astype(str).argsort(kind="stable")
    return merged.iloc[order].reset_index(drop=True)


def feature_drift_history(instance: dg.DagsterInstance) -> pd.DataFrame:
    """PSI per feature and day, from the latest feature_drift evaluation of each day."""
    outcomes = check_outcomes(instance, FEATURE_DRIFT, limit=1000)
    latest = {o.partition: o for o in outcomes if o.partition}
    rows = [
        {"day": day, **feature}
        for day, outcome in sorted(latest.items())
        for feature in getattr(outcome.evaluation.metadata.get("features"), "data", None) or []
    ]
    return pd.DataFrame(rows, columns=DRIFT_HISTORY_COLUMNS)


def alert_history(instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]) -> pd.DataFrame:
    """What the alert sensors act on: failed checks (latest per check and day) and failed runs."""
    rows = []
    run_partitions: dict[str, str | None] = {}
    for check_key in check_keys:
        latest = {
            o.partition: o for o in check_outcomes(instance, check_key, 1000, run_partitions=run_partitions)
        }
        for partition, outcome in sorted(latest.items(), key=lambda item: item[1].timestamp):
            evaluation = outcome.evaluation
            if evaluation.passed:
                continue
            day = partition or pd.Timestamp(outcome.timestamp, unit="s").strftime("%Y-%m-%d")
            rows.append(
                {
                    "day": day,
                    "severity": "ERROR" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "WARN",
                    "kind": "check_failed",
                    "title": f"{evaluation.check_name} failed on {evaluation.asset_key.to_user_string()}",
                    "detail": evaluation.description or "",
                }
            )
    failed = instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    for record in failed:
        run = record.dagster_run
        rows.append(
            {
                "day": run.tags.get("dagster/partition")
                or pd.Timestamp(record.create_timestamp).strftime("%Y-%m-%d"),
                "severity": "ERROR",
                "kind": "run_failed",
                "title": f"run of {run.job_name} failed",
                "detail": run.run_id,
            }
        )
    return pd.DataFrame(rows, columns=ALERT_COLUMNS).sort_values(["day", "title"], ignore_index=True)
