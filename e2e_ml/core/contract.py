"""Data contracts: a pandera schema plus the roles the ML step needs.

A contract is the only place that names a dataset's columns; everything downstream asks the
contract which column is the id, the event time, the target and the features. The schema is
written once, in pandera's pandas YAML; cleaning takes the checks from its polars twin
(`validator`, built from the same columns and checks) and runs them as polars expressions in a
stream (see `core.cleaning.RowRules`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import pandera.pandas as pa
import pandera.polars as pap
import polars as pl
import yaml

Task = Literal["classification", "regression"]
Kind = Literal["integer", "float", "datetime", "boolean", "string"]
EpochUnit = Literal["seconds", "milliseconds"]
LandingDay = Literal["checked", "authoritative"]
# Every timestamp in the lake is an instant in UTC, whatever form or zone it landed in.
LAKE_TIME_ZONE = "UTC"
POLARS_DTYPES: dict[Kind, pl.DataType] = {
    "integer": pl.Int64(),
    "float": pl.Float64(),
    "datetime": pl.Datetime("ns", LAKE_TIME_ZONE),
    "boolean": pl.Boolean(),
    "string": pl.String(),
}


class ContractError(ValueError):
    """A contract file that cannot be used, with the file and the reason."""


@dataclass(frozen=True)
class Roles:
    id: str
    event_time: str
    target: str
    task: Task
    features: tuple[str, ...]


@dataclass(frozen=True)
class TimeRules:
    """How the contract's timestamps are read and which calendar day a row belongs to.

    `zone` is the zone of the business day (and of timestamps that land without an offset);
    `landing_day`: `checked` rejects a row whose day is not its landing day, `authoritative`
    trusts the landing zone's day; `epoch` names columns landed as numbers since 1970 (UTC);
    `label_delay_days`: a row's label is known only that many days after its day (a churn
    label "in the next 7 days" is known 7 days later), so no model learns it before then.
    """

    zone: str = LAKE_TIME_ZONE
    landing_day: LandingDay = "checked"
    epoch: dict[str, EpochUnit] = field(default_factory=dict)
    label_delay_days: int = 0


@dataclass(frozen=True)
class MonitoringRules:
    """How served predictions are followed once they are out.

    `realized_days`: how many served days back each day's realized performance looks for labels
    (by default the label delay and a week more); `decay_margin`: how far below the serving
    model's own holdout figure the realized (or estimated) primary metric may fall before it alerts.
    """

    realized_days: int | None = None
    decay_margin: float = 0.05


CALENDAR_PARTS = ("hour", "day_of_week", "day_of_month", "month")
IMPUTE_STRATEGIES = ("median", "mean", "most_frequent")
MIN_ROWS_PER_DAY = 1_000  # a smaller sample of a day would say little of it


@dataclass(frozen=True)
class TrainingRules:
    """What the ML step may choose per dataset; every part is optional.

    `calendar` derives features from the event time in the contract's zone; `impute` names the
    features whose missing values are filled (with a fill value learned from the training window
    and kept in the model); any other missing value reaches the model as missing. `segments` are
    the columns of the naive per-segment baseline (by default: the most informative input).
    `recent_outcomes` names features whose values' target rate (or mean) over the last
    `recent_days` days with known labels becomes a feature of each row (`recent_<target>_by_<x>`).
    `max_rows_per_day` caps what one day of the window adds to training (a fixed random sample of
    a larger day), so a model's memory and fitting time do not grow with the day's size.
    """

    window_days: int | None = None
    calendar: tuple[str, ...] = ()
    impute: dict[str, str] = field(default_factory=dict)
    segments: tuple[str, ...] = ()
    params: dict[str, float] = field(default_factory=dict)
    recent_outcomes: tuple[str, ...] = ()  # segments whose recent target rate becomes a feature
    recent_days: int = 7  # over the last this many days whose labels are known
    max_rows_per_day: int = 200_000


@dataclass(frozen=True)
class Contract:
    name: str
    schema: pa.DataFrameSchema
    roles: Roles
    source: str
    time: TimeRules = TimeRules()
    training: TrainingRules = TrainingRules()
    monitoring: MonitoringRules = MonitoringRules()

    @property
    def realized_days(self) -> int:
        return self.monitoring.realized_days or self.time.label_delay_days + 7

    @cached_property
    def outcomes(self) -> Contract:
        """The contract of the outcomes feed: the key and the target, which must be present.

        Its rows are labels that land after the rows they label, so their event time is checked
        against nothing but the schema: the day they arrived is what matters.
        """
        columns = [self.roles.id, self.roles.event_time, self.roles.target]
        schema = pa.DataFrameSchema({c: self.schema.columns[c] for c in columns}, strict=False)
        return Contract(
            name=f"{self.name} outcomes",
            schema=schema.update_column(self.roles.target, nullable=False),
            roles=Roles(self.roles.id, self.roles.event_time, self.roles.target, self.roles.task, ()),
            source=self.source,
            time=TimeRules(
                zone=self.time.zone,
                landing_day="authoritative",
                epoch={c: unit for c, unit in self.time.epoch.items() if c in columns},
            ),
        )

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.schema.columns)

    @property
    def key(self) -> tuple[str, str]:
        return (self.roles.id, self.roles.event_time)

    def kind(self, column: str) -> Kind:
        dtype = pd.api.types.pandas_dtype(self.schema.columns[column].dtype.type)
        if pd.api.types.is_bool_dtype(dtype):
            return "boolean"
        if pd.api.types.is_integer_dtype(dtype):
            return "integer"
        if pd.api.types.is_float_dtype(dtype):
            return "float"
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return "datetime"
        return "string"

    def dtype(self, column: str) -> str:
        return str(self.schema.columns[column].dtype)

    def polars_dtype(self, column: str) -> pl.DataType:
        return POLARS_DTYPES[self.kind(column)]

    @cached_property
    def validator(self) -> pap.DataFrameSchema:
        """The schema's columns, nullability and checks, for polars frames."""
        return pap.DataFrameSchema(
            {
                name: pap.Column(
                    self.polars_dtype(name),
                    checks=column.checks,
                    nullable=column.nullable,
                    unique=column.unique,
                    required=column.required,
                )
                for name, column in self.schema.columns.items()
            },
            checks=self.schema.checks,
            unique=self.schema.unique,
            strict=False,
        )

    @property
    def numeric_features(self) -> list[str]:
        return [c for c in self.roles.features if self.kind(c) in ("integer", "float", "boolean")]

    @property
    def categorical_features(self) -> list[str]:
        return [c for c in self.roles.features if self.kind(c) == "string"]

    @property
    def calendar_inputs(self) -> list[str]:
        return [f"calendar_{part}" for part in self.training.calendar]

    @property
    def recent_inputs(self) -> list[str]:
        return [f"recent_{self.roles.target}_by_{column}" for column in self.training.recent_outcomes]

    @property
    def model_inputs(self) -> list[str]:
        """The model's input columns: the features, the calendar features derived from them, and
        the recent outcomes of the row's segments."""
        return [*self.roles.features, *self.calendar_inputs, *self.recent_inputs]


def load_contract(path: str | Path) -> Contract:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
        schema = pa.DataFrameSchema.from_yaml(yaml.safe_dump(doc["schema"], sort_keys=False))
        raw_roles = doc["roles"]
        roles = Roles(
            id=raw_roles["id"],
            event_time=raw_roles["event_time"],
            target=raw_roles["target"],
            task=raw_roles.get("task", "classification"),
            features=tuple(raw_roles["features"]),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise ContractError(f"{path}: not a usable contract ({error!r})") from error
    if roles.task not in ("classification", "regression"):
        raise ContractError(f"{path}: roles.task must be classification or regression")
    named = {roles.id, roles.event_time, roles.target, *roles.features}
    missing = sorted(named - set(schema.columns))
    if missing:
        raise ContractError(f"{path}: roles name columns the schema lacks: {missing}")
    contract = Contract(
        name=doc.get("name", path.stem),
        schema=schema,
        roles=roles,
        source=str(path),
        time=_time_rules(path, doc.get("time") or {}),
        training=_training_rules(path, doc.get("training") or {}),
        monitoring=_monitoring_rules(path, doc.get("monitoring") or {}),
    )
    not_datetime = sorted(
        c
        for c in [roles.event_time, *contract.time.epoch]
        if c not in schema.columns or contract.kind(c) != "datetime"
    )
    if not_datetime:
        raise ContractError(f"{path}: time columns must have a datetime dtype in the schema: {not_datetime}")
    unknown = sorted(
        set(contract.training.impute) - set(roles.features)
        | set(contract.training.recent_outcomes) - set(roles.features)
        | set(contract.training.segments) - set(contract.model_inputs)
    )
    if unknown:
        raise ContractError(
            f"{path}: training.impute, training.segments and training.recent_outcomes must name "
            f"model inputs: {unknown}"
        )
    return contract


def _training_rules(path: Path, raw: dict) -> TrainingRules:
    rules = TrainingRules(
        window_days=int(raw["window_days"]) if raw.get("window_days") else None,
        calendar=tuple(raw.get("calendar") or ()),
        impute={str(column): str(strategy) for column, strategy in (raw.get("impute") or {}).items()},
        segments=tuple(raw.get("segments") or ()),
        params={str(name): float(value) for name, value in (raw.get("params") or {}).items()},
        recent_outcomes=tuple((raw.get("recent_outcomes") or {}).get("segments") or ()),
        recent_days=int((raw.get("recent_outcomes") or {}).get("days", TrainingRules.recent_days)),
        max_rows_per_day=int(raw.get("max_rows_per_day", TrainingRules.max_rows_per_day)),
    )
    if not set(rules.calendar) <= set(CALENDAR_PARTS):
        raise ContractError(f"{path}: training.calendar parts must be among {CALENDAR_PARTS}")
    if not set(rules.impute.values()) <= set(IMPUTE_STRATEGIES):
        raise ContractError(f"{path}: training.impute strategies must be among {IMPUTE_STRATEGIES}")
    if rules.window_days is not None and rules.window_days < 2:
        raise ContractError(f"{path}: training.window_days must be at least 2")
    if rules.recent_days < 1:
        raise ContractError(f"{path}: training.recent_outcomes.days must be at least 1")
    if rules.max_rows_per_day < MIN_ROWS_PER_DAY:
        raise ContractError(f"{path}: training.max_rows_per_day must be at least {MIN_ROWS_PER_DAY:,}")
    return rules


def _monitoring_rules(path: Path, raw: dict) -> MonitoringRules:
    rules = MonitoringRules(
        realized_days=int(raw["realized_days"]) if raw.get("realized_days") else None,
        decay_margin=float(raw.get("decay_margin", MonitoringRules.decay_margin)),
    )
    if rules.decay_margin < 0 or (rules.realized_days is not None and rules.realized_days < 1):
        raise ContractError(f"{path}: monitoring.decay_margin must be >= 0 and realized_days >= 1")
    return rules


def _time_rules(path: Path, raw: dict) -> TimeRules:
    rules = TimeRules(
        zone=str(raw.get("zone", LAKE_TIME_ZONE)),
        landing_day=raw.get("landing_day", "checked"),
        epoch={str(column): unit for column, unit in (raw.get("epoch") or {}).items()},
        label_delay_days=int(raw.get("label_delay_days", 0)),
    )
    if rules.label_delay_days < 0:
        raise ContractError(f"{path}: time.label_delay_days must be 0 or more")
    try:
        ZoneInfo(rules.zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ContractError(f"{path}: time.zone {rules.zone!r} is not an IANA time zone name") from error
    if rules.landing_day not in ("checked", "authoritative"):
        raise ContractError(f"{path}: time.landing_day must be checked or authoritative")
    wrong_units = {c: u for c, u in rules.epoch.items() if u not in ("seconds", "milliseconds")}
    if wrong_units:
        raise ContractError(f"{path}: time.epoch units must be seconds or milliseconds, got {wrong_units}")
    return rules
