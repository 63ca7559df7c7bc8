"""outcomes: the labels that landed on day D, for rows of earlier days, known from D on; and
recent_outcomes: what those labels say about each segment lately, offered to the rows of day D."""

from datetime import date

import dagster as dg
import pandas as pd
import polars as pl

from e2e_ml.assets.partitions import daily_partitions, training_window
from e2e_ml.core.cleaning import clean
from e2e_ml.core.ingest import ReadDump, UnreadableFileError, combine, read_file
from e2e_ml.core.labels import KNOWN_ON, labels_known_by
from e2e_ml.core.landing import unsafe_name
from e2e_ml.core.recent import recent_outcome_rates
from e2e_ml.core.tables import as_pandas
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.storage import LandingZone


@dg.multi_asset(
    outs={
        "outcomes": dg.AssetOut(
            io_manager_key="lake_io_manager",
            description="Labels delivered on the day by the outcomes feed (the contract's key and "
            f"target, typed), with `{KNOWN_ON}`: the day they became known. Partitioned by arrival.",
        ),
        "quarantined_outcomes": dg.AssetOut(
            io_manager_key="lake_io_manager",
            description="Outcome rows the contract rejected, as landed, with every rule each one broke.",
        ),
    },
    partitions_def=daily_partitions,
    group_name="ingest",
)
def outcomes_feed(context: dg.AssetExecutionContext, outcomes_zone: LandingZone, contract: DataContract):
    day = date.fromisoformat(context.partition_key)
    reads: dict[str, ReadDump] = {}
    refused: dict[str, str] = {}
    for file in outcomes_zone.list_day(day):
        if not file.is_data:
            continue
        try:
            if unsafe_name(file.name) is not None:
                raise UnreadableFileError(f"{file.name[:200]!r}: refused unread, {unsafe_name(file.name)}")
            with outcomes_zone.local_copy(file.name) as local:
                reads[file.name] = read_file(file.name, local)
        except UnreadableFileError as error:
            context.log.warning(f"refused {error}")
            refused[file.name] = str(error)
    # A label lands after the row it labels: its event time is checked against the schema only.
    result = clean(
        combine(list(reads.values())),
        contract.load().outcomes,
        file_columns={name: dump.columns for name, dump in reads.items()},
    )
    delivered = result.clean.with_columns(pl.lit(day).cast(pl.Datetime("ns")).alias(KNOWN_ON))
    context.log.info(
        f"{day}: {delivered.height} labels delivered, {result.quarantine.height} quarantined, "
        f"{len(refused)} files refused"
    )
    yield dg.Output(
        delivered,
        output_name="outcomes",
        metadata={"files_read": len(reads), "refused_files": dg.MetadataValue.json(refused)},
    )
    yield dg.Output(
        result.quarantine,
        output_name="quarantined_outcomes",
        metadata={"rejected_by_rule": dg.MetadataValue.json(result.rejected_by_rule)},
    )


@dg.asset(
    partitions_def=daily_partitions,
    ins={
        "clean_dataset": dg.AssetIn(partition_mapping=training_window),
        "outcomes": dg.AssetIn(partition_mapping=training_window),
    },
    io_manager_key="lake_io_manager",
    group_name="train",
    description="The target rate per value of the contract's recent-outcome segments over the last "
    "days whose labels were known before this day: inputs of the rows of this day (training and "
    "scoring alike). Empty unless the contract asks for training.recent_outcomes.",
)
def recent_outcomes(
    context: dg.AssetExecutionContext,
    clean_dataset: pl.LazyFrame,
    outcomes: pd.DataFrame,
    contract: DataContract,
) -> dg.Output[pd.DataFrame]:
    """Reads of the window's clean rows only the key, the label and the segments, and nothing
    when the contract asks for no segment: the window is never whole in memory."""
    spec, day = contract.load(), date.fromisoformat(context.partition_key)
    segments = spec.training.recent_outcomes
    used = [spec.roles.id, spec.roles.event_time, spec.roles.target, *segments]
    present = clean_dataset.collect_schema().names()
    rows = as_pandas(clean_dataset.select(used).collect()) if segments and present else pd.DataFrame()
    known = labels_known_by(rows, outcomes, spec, day) if len(rows) else rows
    rates = recent_outcome_rates(known, spec, day)
    span = f"{rates['first_day'].min():%Y-%m-%d} .. {rates['last_day'].max():%Y-%m-%d}" if len(rates) else "-"
    return dg.Output(
        rates,
        metadata={"segments": ", ".join(spec.training.recent_outcomes) or "none", "labelled_days": span},
    )
