"""clean_dataset: the day's rows validated against the contract; rejects kept with their rule."""

import json
from datetime import date

import dagster as dg
import pandas as pd
import polars as pl

from e2e_ml.assets.partitions import daily_partitions
from e2e_ml.checks.history import read_day
from e2e_ml.core.cleaning import clean, file_ledger
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.storage import StorageLocation


@dg.multi_asset(
    outs={
        "clean_dataset": dg.AssetOut(
            io_manager_key="lake_io_manager",
            description="Typed, de-duplicated rows of the day, in landing order (file, row); timestamps "
            "in UTC; a missing value stays missing.",
        ),
        "quarantined_rows": dg.AssetOut(
            io_manager_key="lake_io_manager",
            description="Rows the contract rejected, as landed, with every rule each one broke.",
        ),
        "file_ledger": dg.AssetOut(
            io_manager_key="lake_io_manager",
            description="Every landed file version of the day: its status; its rows landed = clean + "
            "quarantined; earlier versions kept as superseded.",
        ),
    },
    partitions_def=daily_partitions,
    group_name="prepare",
)
def prepare(
    context: dg.AssetExecutionContext,
    raw_stream: pl.DataFrame,
    raw_manifest: pd.DataFrame,
    contract: DataContract,
    lake: StorageLocation,
):
    day = date.fromisoformat(context.partition_key)
    read = raw_manifest[raw_manifest["status"] == "read"]
    headers = {
        str(file): json.loads(str(columns))
        for file, columns in zip(read["file"], read["columns"], strict=True)
    }
    rules = contract.load()
    result = clean(raw_stream, rules, day=day, file_columns=headers)

    previous = read_day(lake, "file_ledger", context.partition_key)  # to keep superseded versions
    ledger = file_ledger(raw_manifest, result.clean, result.quarantine, rules.columns, previous)
    landed = len(raw_stream)
    rejected_share = len(result.quarantine) / landed if landed else 0.0
    context.log.info(
        f"{day}: {landed} landed -> {len(result.clean)} clean + {len(result.quarantine)} quarantined"
    )
    yield dg.Output(
        result.clean,
        output_name="clean_dataset",
        metadata={
            "landed_rows": landed,
            "rejected_share": dg.MetadataValue.float(rejected_share),
            "null_share": dg.MetadataValue.json(result.null_shares(rules.roles.features)),
            "ledger": dg.MetadataValue.md(
                ledger[["file", "status", "rows", "clean", "quarantined"]].to_markdown(index=False)
            ),
        },
    )
    yield dg.Output(
        result.quarantine,
        output_name="quarantined_rows",
        metadata={"rejected_by_rule": dg.MetadataValue.json(result.rejected_by_rule)},
    )
    yield dg.Output(ledger, output_name="file_ledger", metadata={"files": len(ledger)})
