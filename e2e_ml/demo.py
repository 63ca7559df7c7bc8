"""The whole workflow in one process: land dumps, tick the sensor, run what it asks for.

It drives the same Definitions, sensor and job as `dagster dev` and the daemon, against a
persistent Dagster instance, so the runs it makes are there to browse in the UI afterwards.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from e2e_ml.definitions import ALERT_SENSORS, build_definitions
from e2e_ml.deployments import CLOUD_CONTAINERS, Settings, provision, resources_for
from e2e_ml.jobs import DAILY_PIPELINE
from e2e_ml.resources.storage import LandingZone, StorageLocation
from e2e_ml.sensors.alerts import root_cause
from e2e_ml.sensors.landing_zone import landing_zone_sensor
from e2e_ml.simulate.land import land
from e2e_ml.simulate.telemetry import Anomaly, SimulationConfig, is_late, simulate

# The demo and `e2e-ml run` print one line per run; the runs' own warnings stay in the UI.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass
class Tick:
    """What one sensor evaluation asked for and what its runs produced."""

    cursor: str | None
    skipped: str | None = None
    runs: list[dg.ExecuteInProcessResult] = field(default_factory=list)


def instance_for(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance under DAGSTER_HOME (default: <E2E_ML_HOME>/dagster)."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(settings.home / "dagster")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.get()


def tick(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    cursor: str | None,
    report: Callable[[str], None] = print,
    skip_done: bool = False,
) -> Tick:
    """Evaluate the landing-zone sensor once and execute its run requests, oldest day first.

    With `skip_done`, a request whose run key already has a successful run is not run again,
    as the daemon does: a fresh cursor then re-runs only days whose files changed.
    """
    result = evaluate_sensor(landing_zone_sensor, defs, instance, cursor)
    requests = sorted(result.run_requests or [], key=lambda r: r.partition_key or "")
    if skip_done:
        requests = [r for r in requests if not _succeeded_before(instance, r.run_key)]
    if not requests:
        return Tick(cursor=result.cursor, skipped=result.skip_message or "no new or changed day")
    job = defs.resolve_job_def(DAILY_PIPELINE)
    outcome = Tick(cursor=result.cursor)
    for number, request in enumerate(requests, start=1):
        run = job.execute_in_process(
            partition_key=request.partition_key,
            instance=instance,
            run_config=QUIET_LOGS,
            tags={
                **request.tags,
                "dagster/sensor_name": landing_zone_sensor.name,
                "dagster/run_key": request.run_key or "",
            },
            raise_on_error=False,
        )
        outcome.runs.append(run)
        report(f"  [{number}/{len(requests)}] {request.partition_key}: {describe(run)}")
    return outcome


def _succeeded_before(instance: dg.DagsterInstance, run_key: str | None) -> bool:
    runs = instance.get_runs(
        filters=dg.RunsFilter(
            tags={"dagster/run_key": run_key or ""}, statuses=[dg.DagsterRunStatus.SUCCESS]
        ),
        limit=1,
    )
    return bool(runs)


def run_landing_zone(settings: Settings, report: Callable[[str], None] = print) -> Tick:
    """Process whatever is in the landing zone now: one sensor tick and the runs it asks for.

    Days already run with the same files are not run again; the alert sensors' cursors are kept
    beside the instance, so each alert is sent once across invocations, as under the daemon.
    """
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    provision(settings)
    defs = build_definitions(settings)
    instance = instance_for(settings)
    cursors_file = Path(os.environ["DAGSTER_HOME"]) / "e2e-ml-run-cursors.json"
    alert_cursors = json.loads(cursors_file.read_text()) if cursors_file.exists() else {}
    zone, layout, contract = settings.landing_url, settings.landing_layout, settings.contract.name
    report(f"Listing {zone} (layout {layout}, contract {contract})")
    outcome = tick(defs, instance, cursor=None, report=report, skip_done=True)
    if outcome.skipped:
        report(f"  nothing to run: {outcome.skipped}")
    raise_alerts(defs, instance, alert_cursors)
    cursors_file.write_text(json.dumps(alert_cursors))
    return outcome


def evaluate_sensor(
    sensor: dg.SensorDefinition, defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None
):
    """One tick of a sensor, as the daemon evaluates it: its asset events are stored on the instance."""
    resources = {key: (defs.resources or {})[key] for key in sensor.required_resource_keys}
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=resources, definitions=defs
    ) as context:
        data = sensor.evaluate_tick(context)
    for event in data.asset_events:
        instance.report_runless_asset_event(event)
    return data


def raise_alerts(defs: dg.Definitions, instance: dg.DagsterInstance, cursors: dict[str, str | None]) -> None:
    """One tick of every alert sensor, keeping their cursors as the daemon would."""
    for sensor in ALERT_SENSORS:
        cursors[sensor.name] = evaluate_sensor(sensor, defs, instance, cursors.get(sensor.name)).cursor


def describe(run: dg.ExecuteInProcessResult) -> str:
    """One line a person can read: rows in and out, the model decision, or the failure."""
    if not run.success:
        failure = next((e for e in run.all_events if e.is_step_failure), None)
        message = (
            root_cause(failure.step_failure_data.error) if failure else None
        ) or "see the run in the UI"
        return f"FAILED in {failure.step_key if failure else 'the run'}: {message}"
    meta = {
        event.asset_key.to_user_string(): event.materialization.metadata
        for event in run.get_asset_materialization_events()
        if event.asset_key is not None
    }
    clean = meta.get("clean_dataset", {})
    model = meta.get("trained_model", {})
    predictions = meta.get("daily_predictions", {})
    parts = [
        f"{_value(clean.get('landed_rows'))} landed -> {_value(clean.get('rows'))} clean"
        f" + {_value(meta.get('quarantined_rows', {}).get('rows'))} quarantined",
        f"model: {_value(model.get('decision') or model.get('status'))}",
        f"{_value(predictions.get('rows'))} predictions",
    ]
    return "; ".join(parts)


def _value(entry: Any) -> Any:
    return getattr(entry, "value", entry)


def run_demo(
    settings: Settings,
    days: int,
    anomalies: tuple[Anomaly, ...] = (),
    players: int = 2_000,
    seed: int = 7,
    report: Callable[[str], None] = print,
    label_delay_days: int = 0,
) -> Tick:
    """Reset the stores, simulate `days` days ending yesterday, run them all, raise alerts.

    With `label_delay_days`, rows land without labels and the outcomes feed delivers each day's
    labels that many days later, so the last days' performance is estimated, the rest realized."""
    if settings.deployment == "azure":
        raise ValueError("the demo wipes its stores first: run it on the local or azurite deployment")
    if "E2E_ML_TRAINING" not in os.environ:  # fourteen short trainings: a process each is not worth it
        settings = dataclasses.replace(settings, training="in_process")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    reset(settings)
    provision(settings)
    today = datetime.now(UTC).date()
    start = today - timedelta(days=days)
    late_day = max(0, days - 3)
    late = Anomaly(kind="late_file", day=late_day)
    config = SimulationConfig(
        start=start,
        days=days,
        players=players,
        seed=seed,
        anomalies=(*anomalies, late),
        label_delay_days=label_delay_days,
    )
    defs = build_definitions(settings)
    instance = instance_for(settings)
    alert_cursors: dict[str, str | None] = {}
    raise_alerts(defs, instance, alert_cursors)

    zones = {key: (defs.resources or {})[key] for key in ("landing_zone", "outcomes_zone")}
    with dg.build_resources(zones) as resources:
        landing_zone: LandingZone = resources.landing_zone
        dumps = list(simulate(config))
        on_time = [d for d in dumps if not is_late(d)]
        report(f"1/3 Landing {days} days of simulated telemetry ({start} .. {today - timedelta(days=1)})")
        land(on_time, landing_zone, outcomes_zone=resources.outcomes_zone)
        labels = [d for d in on_time if d.zone == "outcomes"]
        report(f"    {len(on_time) - len(labels)} dumps in {settings.landing_url}")
        if labels:
            report(
                f"    {len(labels)} label files in {settings.outcomes_url}, each day's labels "
                f"{label_delay_days} days after it"
            )

        report("2/3 Sensor tick: one run per day with new files")
        first = tick(defs, instance, cursor=None, report=report)
        raise_alerts(defs, instance, alert_cursors)

        late_date = start + timedelta(days=late_day)
        report(f"3/3 A late dump lands for {late_date}; the next tick re-runs that day only")
        land([d for d in dumps if is_late(d)], landing_zone)
        second = tick(defs, instance, cursor=first.cursor, report=report)
        raise_alerts(defs, instance, alert_cursors)
    return Tick(cursor=second.cursor, runs=first.runs + second.runs)


def performance_lines(settings: Settings) -> list[str]:
    """The report's realized performance: per served day, realized where labels have landed,
    the estimate where they are pending, and what the serving model promised."""
    with dg.build_resources({"outputs": resources_for(settings)["outputs"]}) as resources:
        try:
            table = resources.outputs.read_table("report/fact_realized_performance.parquet")
        except FileNotFoundError:
            return []
    if table.empty:
        return []
    metric = str(table["metric"].iloc[0])
    lines = [
        f"{'served day':<12} {'version':>7} {'labelled':>8} {'realized':>8} {'estimated':>9} "
        f"{'promised':>8}  ({metric})"
    ]
    for row in table.itertuples():
        figure = lambda value: f"{value:.3f}" if value == value else "-"  # noqa: E731
        lines.append(
            f"{row.day!s:<12} {row.model_version:>7} {row.labelled_share:>8.0%} {figure(row.realized):>8} "
            f"{figure(row.estimated):>9} {figure(row.holdout):>8}"
        )
    return lines


def alerts_raised(settings: Settings) -> list[str]:
    """The alert log of a local or azurite deployment, one line per alert."""
    log = settings.alert_log
    if log is None or not log.exists():
        return []
    return [f"[{a['severity']}] {a['title']}" for a in map(json.loads, log.read_text().splitlines())]


def reset(settings: Settings) -> None:
    """Empty the demo's stores, so every demo starts from the same state."""
    for folder in ("mlflow", "dagster"):
        shutil.rmtree(settings.home / folder, ignore_errors=True)
    if settings.alert_log is not None:
        settings.alert_log.unlink(missing_ok=True)
    stores = {
        role: StorageLocation(url=settings.url(role), account=settings.account(role))
        for role in CLOUD_CONTAINERS
    }
    with dg.build_resources(stores) as resolved:
        for role in stores:
            fs, root = getattr(resolved, role).filesystem()
            if fs.exists(root):
                fs.rm(root, recursive=True)


def where_things_are(settings: Settings) -> list[str]:
    return [
        f"Predictions (Parquet, hive-partitioned): {settings.outputs_url}/daily_predictions",
        f"Report extract (Parquet + CSV):          {settings.outputs_url}/report",
        f"Dashboard (open in a browser):           {settings.outputs_url}/report/dashboard.html",
        f"Clean data and quarantine (the lake):    {settings.lake_url}",
        f"MLflow runs and models:                  mlflow ui --backend-store-uri {settings.tracking_uri}",
        f"Dagster UI with these runs:              DAGSTER_HOME={os.environ.get('DAGSTER_HOME')} dg dev",
    ]
