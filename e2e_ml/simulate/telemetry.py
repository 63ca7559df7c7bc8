"""Synthetic game telemetry: one row per active player per day, landed as dumps.

Each simulated day is generated from its own seed, so a day's dumps are the same whether it
is simulated alone or as part of a longer stream: tests can re-land a day and expect the same
rows. Anomalies are injected on chosen days to exercise cleaning, checks and alerts.

Churn in the next 7 days is known 7 days later. With `label_delay_days`, rows land without their
label and an outcomes feed delivers each day's labels (key and label) that many days later, into
the outcomes zone; without it, every row carries its label as it lands.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal, get_args

import numpy as np
import pandas as pd

AnomalyKind = Literal[
    "covariate_drift",  # from its day on: players play longer and more often, and crash more
    "label_drift",  # from its day on: churn becomes more likely
    "null_burst",  # a third of some feature values are missing
    "out_of_range",  # impossible values (negative sessions, > 24 h played)
    "duplicates",  # rows landed twice, in two dumps of the same day
    "schema_change",  # one dump renames a column
    "empty_file",  # an extra zero-byte dump
    "corrupt_file",  # an extra dump that is not a readable file
    "oversize_file",  # one dump 20x the usual size
    "gap",  # no dumps at all for `length` days
    "late_file",  # the day's last dump lands a day late
    "decay",  # from its day on: players look alike (sessions, crashes, friends stop varying)
]
ANOMALY_KINDS: tuple[str, ...] = get_args(AnomalyKind)
FileFormat = Literal["csv", "parquet", "jsonl"]
PLATFORMS = np.array(["ios", "android", "pc", "console"])
REGIONS = np.array(["na", "eu", "apac", "latam"])


@dataclass(frozen=True)
class Anomaly:
    kind: AnomalyKind
    day: int  # 0-based index of the simulated day it starts on
    length: int = 1

    @classmethod
    def parse(cls, text: str) -> Anomaly:
        """Parse `kind@day` or `kind@day+length`, e.g. `null_burst@3`, `gap@5+2`."""
        kind, _, where = text.partition("@")
        if kind not in ANOMALY_KINDS or not where:
            raise ValueError(f"anomaly {text!r}: expected KIND@DAY with KIND in {ANOMALY_KINDS}")
        day, _, length = where.partition("+")
        return cls(kind=kind, day=int(day), length=int(length or 1))  # type: ignore[arg-type]

    def active(self, day_index: int) -> bool:
        if self.kind in ("covariate_drift", "label_drift", "decay"):
            return day_index >= self.day
        return self.day <= day_index < self.day + self.length


@dataclass(frozen=True)
class SimulationConfig:
    start: date
    days: int
    players: int = 2_000
    seed: int = 7
    file_format: FileFormat = "csv"
    anomalies: tuple[Anomaly, ...] = field(default_factory=tuple)
    label_delay_days: int = 0  # 0: labels land in the rows; N: by the outcomes feed, N days later

    def has(self, kind: str, day_index: int) -> bool:
        return any(a.kind == kind and a.active(day_index) for a in self.anomalies)


@dataclass(frozen=True)
class Dump:
    name: str  # path in its zone: YYYY/MM/DD/telemetry_YYYYMMDDTHHMMSS.ext, .../outcomes_YYYYMMDD.csv
    day: date  # the day it lands
    content: bytes
    rows: int
    zone: Literal["landing", "outcomes"] = "landing"


def simulate(config: SimulationConfig) -> Iterator[Dump]:
    """Yield every dump of the simulated period, in landing order."""
    population = _population(config)
    for index in range(config.days):
        yield from simulate_day(config, index, population)


def simulate_day(config: SimulationConfig, index: int, population: pd.DataFrame | None = None) -> list[Dump]:
    """The dumps that land on day `index`: its own rows, and the labels that arrive that day."""
    population = _population(config) if population is None else population
    delay = config.label_delay_days
    outcomes = [_outcomes(config, index - delay, index, population)] if delay and index >= delay else []
    if config.has("gap", index):
        return [dump for dump in outcomes if dump is not None]
    day = config.start + timedelta(days=index)
    rng = np.random.default_rng([config.seed, index])
    rows = daily_activity(config, index, day, population, rng)
    if delay:
        rows = rows.assign(churned_next_7d=None)
    return _dumps(config, index, day, rows, rng) + [dump for dump in outcomes if dump is not None]


def _outcomes(config: SimulationConfig, index: int, arrival: int, population: pd.DataFrame) -> Dump | None:
    """Day `index`'s labels, delivered on day `arrival` as `player_id, event_date, churned_next_7d`."""
    if config.has("gap", index):
        return None
    day, landed = config.start + timedelta(days=index), config.start + timedelta(days=arrival)
    rows = daily_activity(config, index, day, population, np.random.default_rng([config.seed, index]))
    labels = rows[["player_id", "event_date", "churned_next_7d"]]
    name = f"{landed:%Y/%m/%d}/outcomes_{day:%Y%m%d}.csv"
    return Dump(name, landed, serialize(labels, "csv"), len(labels), zone="outcomes")


def daily_activity(
    config: SimulationConfig,
    index: int,
    day: date,
    population: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    engagement = population["engagement"].to_numpy()
    active = rng.random(len(population)) < _sigmoid(0.9 + engagement)
    players = population.loc[active].reset_index(drop=True)
    n = len(players)
    eng = players["engagement"].to_numpy()
    decay = config.has("decay", index)  # players look alike: most of what set churners apart is gone
    if decay:
        eng = np.zeros(n)
    drift = config.has("covariate_drift", index)

    session_rate = np.exp(1.0 + 0.4 * eng) * (1.6 if drift else 1.0)
    sessions = rng.poisson(session_rate) if not decay else 2 + rng.poisson(1.0, n)
    minutes = rng.gamma(2.0, 12.0 * (1.8 if drift else 1.0), n) * np.maximum(sessions, 0.3)
    purchases = rng.poisson(0.05 * sessions * np.exp(0.5 * eng))
    spend = purchases * rng.lognormal(1.5, 0.6, n)
    days_since_install = (pd.Timestamp(day) - players["installed"]).dt.days.to_numpy()
    crash_factor = np.where(players["platform"] == "android", 0.35, 0.15) * (4.0 if drift else 1.0)
    crashes = rng.poisson(crash_factor * sessions) if not decay else np.zeros(n, dtype=int)
    friends = rng.poisson(np.exp(1.2 + 0.3 * eng)) if not decay else np.full(n, 3)

    logit = (
        0.6
        - 0.4 * eng
        + 0.6 * crashes
        - 0.6 * np.log1p(friends)
        - 0.9 * np.log1p(sessions)
        + 0.8 * (days_since_install < 30)
        + (1.5 if config.has("label_drift", index) else 0.0)
    )
    churned = (rng.random(n) < _sigmoid(logit)).astype(int)

    frame = pd.DataFrame(
        {
            "player_id": players["player_id"],
            "event_date": day.isoformat(),
            "platform": players["platform"],
            "region": players["region"],
            "sessions": sessions,
            "minutes_played": minutes.round(1),
            "purchases": purchases,
            "spend_usd": spend.round(2),
            "days_since_install": days_since_install,
            "crashes": crashes,
            "friends_online": friends,
            "churned_next_7d": churned,
        }
    )
    if drift:
        pc = rng.random(n) < 0.3
        frame.loc[pc, "platform"] = "pc"
    if config.has("null_burst", index):
        frame = frame.astype({"sessions": "Int64", "minutes_played": "float64"}).astype(object)
        for column in ("sessions", "minutes_played", "platform"):
            frame.loc[rng.random(n) < 0.33, column] = None
    if config.has("out_of_range", index):
        broken = rng.random(n) < 0.02
        frame = frame.astype({"sessions": object, "minutes_played": object})
        frame.loc[broken, "sessions"] = -5
        frame.loc[broken, "minutes_played"] = 5000.0
    return frame


def _population(config: SimulationConfig) -> pd.DataFrame:
    rng = np.random.default_rng([config.seed, 10**6])
    n = config.players
    installed = pd.Timestamp(config.start) - pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    return pd.DataFrame(
        {
            "player_id": [f"p{i:06d}" for i in range(n)],
            "platform": rng.choice(PLATFORMS, n, p=[0.35, 0.4, 0.15, 0.1]),
            "region": rng.choice(REGIONS, n, p=[0.3, 0.35, 0.25, 0.1]),
            "installed": installed,
            "engagement": rng.normal(0.0, 1.0, n),
        }
    )


def _dumps(
    config: SimulationConfig, index: int, day: date, rows: pd.DataFrame, rng: np.random.Generator
) -> list[Dump]:
    times = _dump_times(day, rng)
    slot = rng.integers(0, len(times), len(rows))
    parts = [rows.loc[slot == i] for i in range(len(times))]

    if config.has("duplicates", index) and len(times) > 1:
        again = rows.sample(frac=0.05, random_state=int(rng.integers(2**31)))
        parts[-1] = pd.concat([parts[-1], again])
    if config.has("oversize_file", index):
        parts[0] = _oversized(parts[0], len(rows), rng)
    if config.has("schema_change", index):
        parts[-1] = parts[-1].rename(columns={"minutes_played": "minutes_played_total"})

    dumps = [_dump(day, at, part, config.file_format) for at, part in zip(times, parts, strict=True)]
    if config.has("late_file", index) and len(dumps) > 1:
        dumps[-1] = _dump(day, times[-1] + timedelta(days=1), parts[-1], config.file_format, late=True)
    late = times[-1] + timedelta(minutes=30)
    if config.has("empty_file", index):
        dumps.append(Dump(_name(day, late, config.file_format), day, b"", 0))
    if config.has("corrupt_file", index):
        garbage = bytes(rng.integers(128, 256, 4096, dtype=np.uint8))
        dumps.append(Dump(_name(day, late + timedelta(minutes=1), config.file_format), day, garbage, 0))
    return dumps


def _oversized(part: pd.DataFrame, day_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """A dump 20x its usual size: the same traffic from many extra (valid) players."""
    target = max(20 * len(part), 1)
    extra = part.sample(n=target - len(part), replace=True, random_state=int(rng.integers(2**31)))
    extra = extra.assign(player_id=[f"p{500_000 + i:06d}" for i in range(len(extra))])
    return pd.concat([part, extra])


def _dump_times(day: date, rng: np.random.Generator) -> list[datetime]:
    """Dumps every 6-12 hours; the first lands in the first 6 hours of the day."""
    midnight = datetime(day.year, day.month, day.day)
    hour = float(rng.uniform(0, 6))
    times = []
    while hour < 24:
        times.append(midnight + timedelta(hours=hour))
        hour += float(rng.uniform(6, 12))
    return [t.replace(microsecond=0) for t in times]


def _name(day: date, at: datetime, file_format: FileFormat, late: bool = False) -> str:
    return f"{day:%Y/%m/%d}/telemetry_{'late_' if late else ''}{at:%Y%m%dT%H%M%S}.{file_format}"


def _dump(day: date, at: datetime, part: pd.DataFrame, file_format: FileFormat, late: bool = False) -> Dump:
    return Dump(_name(day, at, file_format, late), day, serialize(part, file_format), len(part))


def is_late(dump: Dump) -> bool:
    return "/telemetry_late_" in dump.name


def serialize(frame: pd.DataFrame, file_format: FileFormat) -> bytes:
    if file_format == "csv":
        return frame.to_csv(index=False).encode()
    if file_format == "jsonl":
        return frame.to_json(orient="records", lines=True).encode()
    buffer = io.BytesIO()
    frame.astype(str).mask(frame.isna().to_numpy()).to_parquet(buffer, index=False)
    return buffer.getvalue()


def _sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))
