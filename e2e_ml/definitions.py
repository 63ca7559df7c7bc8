"""The one Definitions: the asset graph, its checks, its sensors and the deployment's resources."""

import dagster as dg

from e2e_ml.assets.ingest import ingest
from e2e_ml.assets.monitor import realized_performance
from e2e_ml.assets.outcomes import outcomes_feed, recent_outcomes
from e2e_ml.assets.predict import daily_predictions
from e2e_ml.assets.prepare import prepare
from e2e_ml.assets.report import report_extract
from e2e_ml.assets.train import trained_model
from e2e_ml.checks.catalog import CHECKS
from e2e_ml.checks.freshness import landed_files
from e2e_ml.deployments import Settings, executor_for, resources_for, step_retry_policy
from e2e_ml.jobs import daily_pipeline
from e2e_ml.sensors.alerts import check_failure_alert, run_failure_alert, slow_run_alert
from e2e_ml.sensors.landing_zone import landing_zone_sensor

ASSETS: list[dg.AssetsDefinition | dg.AssetSpec] = [
    landed_files,
    ingest,
    outcomes_feed,
    recent_outcomes,
    prepare,
    trained_model,
    daily_predictions,
    realized_performance,
    report_extract,
]
ALERT_SENSORS = [run_failure_alert, slow_run_alert, check_failure_alert]


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=[daily_pipeline(step_retry_policy(settings))],
        sensors=[landing_zone_sensor, *ALERT_SENSORS],
        resources=resources_for(settings),
        executor=executor_for(settings),
    )


defs = build_definitions(Settings.from_env())
