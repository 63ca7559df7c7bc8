"""clean_dataset: the day's rows validated against the contract; rejects kept with their rule."""

import json
from datetime import date

import dagster as dg
import pandas as pd
import polars as pl

from e2e_ml.assets.partitions import daily_partitions
from e2e_ml.checks.history import read_day
from e2e_ml.core.cleaning import REASON, clean_plan, file_ledger, null_shares, rule_counts, write_clean
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.storage import SpooledTable, StorageLocation, spooling


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
    raw_stream: pl.LazyFrame,
    raw_manifest: pd.DataFrame,
    contract: DataContract,
    lake: StorageLocation,
):
    """The contract's rules run as a streaming plan, spooled to scratch as Parquet row groups
    and published whole: memory holds a few batches and the day's key hashes."""
    day = date.fromisoformat(context.partition_key)
    read = raw_manifest[raw_manifest["status"] == "read"]
    headers = {
        str(file): json.loads(str(columns))
        for file, columns in zip(read["file"], read["columns"], strict=True)
    }
    rules = contract.load()
    plan = clean_plan(raw_stream, rules, day=day, file_columns=headers)
    landed = raw_stream.select(pl.len()).collect().item()
    with spooling("clean_dataset") as clean_file, spooling("quarantined_rows") as quarantine_file:
        write_clean(plan, clean_file, quarantine_file)
        clean_rows, quarantined = pl.scan_parquet(clean_file), pl.scan_parquet(quarantine_file)
        kept = clean_rows.select(pl.len()).collect().item()
        rejected_by_rule = rule_counts(quarantined.select(REASON).collect()[REASON])
        previous = read_day(lake, "file_ledger", context.partition_key)  # to keep superseded versions
        ledger = file_ledger(raw_manifest, clean_rows, quarantined, rules.columns, previous)
        context.log.info(f"{day}: {landed} landed -> {kept} clean + {landed - kept} quarantined")
        yield dg.Output(
            SpooledTable(clean_file),
            output_name="clean_dataset",
            metadata={
                "landed_rows": landed,
                "rejected_share": dg.MetadataValue.float((landed - kept) / landed if landed else 0.0),
                "null_share": dg.MetadataValue.json(null_shares(clean_rows, rules.roles.features)),
                "ledger": dg.MetadataValue.md(
                    ledger[["file", "status", "rows", "clean", "quarantined"]].to_markdown(index=False)
                ),
            },
        )
        yield dg.Output(
            SpooledTable(quarantine_file),
            output_name="quarantined_rows",
            metadata={"rejected_by_rule": dg.MetadataValue.json(rejected_by_rule)},
        )
    yield dg.Output(ledger, output_name="file_ledger", metadata={"files": len(ledger)})
