"""The one Definitions: the asset graph, its sensors and the deployment's resources."""

from __future__ import annotations

import dagster as dg

from e2e_ml.assets.ingest import ingest
from e2e_ml.assets.predict import daily_predictions
from e2e_ml.assets.prepare import prepare
from e2e_ml.assets.report import report_extract
from e2e_ml.assets.train import trained_model
from e2e_ml.deployments import Settings, executor_for, resources_for
from e2e_ml.jobs import daily_pipeline
from e2e_ml.sensors.landing_zone import landing_zone_sensor


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=[ingest, prepare, trained_model, daily_predictions, report_extract],
        jobs=[daily_pipeline],
        sensors=[landing_zone_sensor],
        resources=resources_for(settings),
        executor=executor_for(settings),
    )


defs = build_definitions(Settings.from_env())
