"""Alert sensors: failed runs, runs over their time budget, failed checks -> the notifier.

Each keeps in its cursor what it already reported, so nothing is sent once a tick: a run once;
failed checks as incidents (`core.incidents`): one message when one opens, bounded updates while
it lasts, one when it closes.
"""

from __future__ import annotations

import json
import time
from typing import Protocol

import dagster as dg

from e2e_ml.checks.catalog import CHECK_KEYS
from e2e_ml.checks.history import CheckOutcome, check_outcomes
from e2e_ml.core.incidents import CAUSE, Incidents, Observation
from e2e_ml.resources.monitoring import MonitoringPolicy
from e2e_ml.resources.notify import Alert, Notifier

BUDGET_TAG = "e2e_ml/max_runtime_seconds"
DAGSTER_WRAPPERS = ("Dagster", "RetryRequested")
REMEMBERED = 1000  # open incidents kept in a cursor
INCIDENT_KINDS = {
    "opened": "check_failed",
    "updated": "incident_update",
    "closed": "incident_closed",
    "digest": "incident_digest",
}


class ErrorInfo(Protocol):
    """The shape of Dagster's serialized step errors, as far as an alert reads them."""

    @property
    def message(self) -> str: ...
    @property
    def cls_name(self) -> str | None: ...
    @property
    def cause(self) -> ErrorInfo | None: ...


def root_cause(error: ErrorInfo | None) -> str | None:
    """The first line of the outermost error our code raised, not of Dagster's wrappers around it."""
    while (
        error is not None and error.cause is not None and (error.cls_name or "").startswith(DAGSTER_WRAPPERS)
    ):
        error = error.cause
    if error is None or not error.message.strip():
        return None
    line = error.message.strip().splitlines()[0]
    named, _, said = line.partition(": ")
    return said if said and error.cls_name and named.endswith(error.cls_name) else line


def _for(partition: str | None) -> str:
    return f" for {partition}" if partition else ""


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A run failed: one alert per run, with the failing step and its error.",
)
def run_failure_alert(
    context: dg.RunFailureSensorContext, notifier: Notifier, monitoring: MonitoringPolicy
) -> None:
    run = context.dagster_run
    step_failures = context.get_step_failure_events()
    failed_steps = [event.step_key for event in step_failures if event.step_key]
    causes = [root_cause(event.step_failure_data.error) for event in step_failures]
    error = next((cause for cause in causes if cause), None) or context.failure_event.message or "see the run"
    notifier.send(
        run_alert(
            run,
            "run_failed",
            "failed",
            error.strip().splitlines()[0][:500],
            {"failed steps": ", ".join(failed_steps) or "-"},
            monitoring,
        ),
        log=context.log,
    )


def run_alert(
    run: dg.DagsterRun,
    kind: str,
    what: str,
    summary: str,
    facts: dict[str, str],
    monitoring: MonitoringPolicy,
) -> Alert:
    partition = run.tags.get("dagster/partition")
    return Alert(
        kind=kind,
        title=f"Run of {run.job_name}{_for(partition)} {what}",
        summary=summary,
        severity="ERROR",
        link=monitoring.run_link(run.run_id),
        facts={"job": run.job_name, "partition": partition or "-", **facts, "run id": run.run_id},
    )


@dg.sensor(
    name="slow_run_alert",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A run still going past its time budget: alerted while it runs, once per run.",
)
def slow_run_alert(
    context: dg.SensorEvaluationContext, notifier: Notifier, monitoring: MonitoringPolicy
) -> dg.SensorResult:
    alerted: list[str] = json.loads(context.cursor) if context.cursor else []
    now = time.time()
    records = context.instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    for record in records:
        run = record.dagster_run
        budget = float(run.tags.get(BUDGET_TAG, monitoring.run_budget_seconds))
        elapsed = now - (record.start_time or now)
        if elapsed <= budget or run.run_id in alerted:
            continue
        notifier.send(
            run_alert(
                run,
                "run_too_slow",
                "over its time budget",
                f"Running for {elapsed:.0f} s; its budget is {budget:.0f} s.",
                {"elapsed seconds": f"{elapsed:.0f}", "budget seconds": f"{budget:.0f}"},
                monitoring,
            ),
            log=context.log,
        )
        alerted.append(run.run_id)
    return dg.SensorResult(cursor=json.dumps(alerted[-REMEMBERED:]))


@dg.sensor(
    name="check_failure_alert",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Failed checks (ERROR, and WARN unless turned off) as incidents: one message when "
    "one opens, an update at most daily while it lasts, one when it closes; a digest for a backfill.",
)
def check_failure_alert(
    context: dg.SensorEvaluationContext, notifier: Notifier, monitoring: MonitoringPolicy
) -> dg.SensorResult:
    state = json.loads(context.cursor) if context.cursor else {}
    seen: dict[str, int] = state.get("seen", {})
    incidents = Incidents.from_json(state.get("incidents", []))
    observations: list[tuple[int, Observation]] = []
    run_partitions: dict[str, str | None] = {}
    for check_key in CHECK_KEYS:
        name = check_key.to_user_string()
        for outcome in check_outcomes(
            context.instance, check_key, after=seen.get(name, 0), run_partitions=run_partitions
        ):
            seen[name] = outcome.record_id
            observation = _observation(outcome)
            if observation.passed or observation.severity == "ERROR" or monitoring.alert_on_warn:
                observations.append((outcome.record_id, observation))
    observations.sort(key=lambda pair: (pair[1].partition or "", pair[0]))  # days in order, as judged
    messages = incidents.observe(
        [observation for _, observation in observations], time.time(), monitoring.alert_update_hours * 3600
    )
    for message in messages:
        notifier.send(
            Alert(
                kind=INCIDENT_KINDS[message.kind],
                title=message.title,
                summary=message.summary,
                severity=message.severity,
                link=monitoring.asset_link(message.asset) if message.asset else monitoring.dagster_url,
                facts=message.facts,
            ),
            log=context.log,
        )
    return dg.SensorResult(cursor=json.dumps({"seen": seen, "incidents": incidents.to_json()[-REMEMBERED:]}))


def _observation(outcome: CheckOutcome) -> Observation:
    evaluation = outcome.evaluation
    cause = evaluation.metadata.get(CAUSE)
    cause_text = str(getattr(cause, "value", cause or ""))
    return Observation(
        check=evaluation.check_name,
        asset=evaluation.asset_key.to_user_string(),
        partition=outcome.partition,
        passed=evaluation.passed,
        severity="ERROR" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "WARN",
        causes=frozenset(part for part in cause_text.split(",") if part),
        summary=evaluation.description
        or _text(evaluation.metadata.get("verdict"))
        or "see the check's metadata",
        facts={key: _fact(value) for key, value in evaluation.metadata.items()},
        at=outcome.timestamp,
    )


def _text(value: object) -> str:
    """A metadata entry's text (checks reported through Pipes carry their verdict there)."""
    return str(getattr(value, "value", getattr(value, "text", value))) if value is not None else ""


def _fact(value: object) -> str:
    text = str(getattr(value, "value", getattr(value, "text", value)))
    return text if len(text) <= 2000 else text[:2000] + " ..."
