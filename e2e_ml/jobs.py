"""Jobs the sensors launch."""

from __future__ import annotations

import dagster as dg

from e2e_ml.assets.partitions import daily_partitions

daily_pipeline = dg.define_asset_job(
    "daily_pipeline",
    selection=dg.AssetSelection.groups("ingest", "prepare", "train", "predict", "report"),
    partitions_def=daily_partitions,
    description="One day end to end: landed files to predictions, then the report refreshed.",
    tags={"e2e_ml/trains": "model"},  # the production queue runs one of these at a time
)
