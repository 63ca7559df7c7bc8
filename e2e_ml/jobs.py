"""Jobs the sensors launch."""

from __future__ import annotations

import dagster as dg

from e2e_ml.assets.partitions import daily_partitions

DAILY_PIPELINE = "daily_pipeline"


def daily_pipeline(retry_policy: dg.RetryPolicy | None):
    """One day end to end; `retry_policy` is the deployment's answer to transient faults."""
    return dg.define_asset_job(
        DAILY_PIPELINE,
        selection=dg.AssetSelection.groups("ingest", "prepare", "train", "predict", "monitor", "report"),
        partitions_def=daily_partitions,
        description="One day end to end: landed files to predictions, then the report refreshed.",
        tags={"e2e_ml/trains": "model"},  # the production queue runs one of these at a time
        op_retry_policy=retry_policy,
    )
