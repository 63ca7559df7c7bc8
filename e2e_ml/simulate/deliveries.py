"""A second, differently shaped dataset: parcel deliveries as an export job writes them.

Not the telemetry simulator with other names: one row per order (not per entity and day),
events every hour around the clock, ISO-8601 UTC timestamps ending in `Z` plus an epoch
milliseconds column, files grouped by the *local* business day of a US operation in hive
folders (`dt=YYYY-MM-DD/hour=HH/part-0000N.jsonl.gz`, gzip'd JSON lines), a `_SUCCESS`
marker and an uploader's hidden temporary file beside the data, and a feature whose missing
value means something (a first order has no time since the previous one).

Whether an order arrives late depends on its store (300 of them: a high-cardinality
category), the hour, distance, the courier backlog, the vehicle, a first order, and a
weather effect per day, so the naive rate per store is a baseline worth beating.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from e2e_ml.simulate.telemetry import Dump

ZONE = ZoneInfo("America/Chicago")
CITIES = ("chicago", "houston", "dallas", "austin", "memphis", "tulsa")
VEHICLES = ("bike", "scooter", "car", "van")
VEHICLE_EFFECT = np.array([0.3, 0.15, 0.0, -0.2])
# Orders per hour of the local day (lunch and dinner peaks), and how those hours run late.
HOURLY_SHARE = np.array([1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 6, 9, 10, 8, 6, 5, 6, 8, 10, 11, 9, 6, 4, 2], float)
RUSH_EFFECT = np.array(
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.2, 0.6, 0.7, 0.4, 0, 0, 0, 0.3, 0.7, 0.8, 0.4, 0, 0, 0]
)


@dataclass(frozen=True)
class DeliveriesConfig:
    start: date
    days: int = 30
    orders_per_day: int = 900
    stores: int = 300
    seed: int = 11


def deliveries(config: DeliveriesConfig) -> Iterator[Dump]:
    """Every file of the period, day by day, as the export job would upload them."""
    rng = np.random.default_rng(config.seed)
    store_effect = rng.normal(0.0, 0.8, config.stores)
    store_city = rng.integers(0, len(CITIES), config.stores)
    store_weight = rng.dirichlet(np.full(config.stores, 2.0))
    for offset in range(config.days):
        day = config.start + timedelta(days=offset)
        weather = rng.normal(0.0, 0.35)  # a day-level shock: rain makes everyone late
        yield from _day_files(day, config, rng, store_effect, store_city, store_weight, weather)


def _day_files(
    day: date,
    config: DeliveriesConfig,
    rng: np.random.Generator,
    store_effect: np.ndarray,
    store_city: np.ndarray,
    store_weight: np.ndarray,
    weather: float,
) -> Iterator[Dump]:
    """One local day, hour by hour of UTC time, so daylight-saving days get 23 or 25 hours."""
    local_midnight = datetime(day.year, day.month, day.day, tzinfo=ZONE)
    start = local_midnight.astimezone(UTC)
    end = (local_midnight + timedelta(days=1)).replace(tzinfo=ZONE).astimezone(UTC)
    hours = int((end - start).total_seconds() // 3600)
    sequence = 0
    for hour in range(hours):
        hour_start = start + timedelta(hours=hour)
        local_hour = hour_start.astimezone(ZONE).hour
        count = rng.poisson(config.orders_per_day * HOURLY_SHARE[local_hour] / HOURLY_SHARE.sum())
        if count == 0:
            continue
        stores = rng.choice(config.stores, size=count, p=store_weight)
        vehicle = rng.integers(0, len(VEHICLES), count)
        distance = rng.gamma(2.0, 2.0, count)
        backlog = rng.poisson(3 + 6 * RUSH_EFFECT[local_hour], count)
        first_order = rng.random(count) < 0.4
        logit = (
            -1.9
            + store_effect[stores]
            + RUSH_EFFECT[local_hour]
            + 0.18 * (distance - 4)
            + 0.08 * (backlog - 5)
            + VEHICLE_EFFECT[vehicle]
            + 0.7 * first_order
            + weather
        )
        late = rng.random(count) < 1 / (1 + np.exp(-logit))
        seconds = np.sort(rng.integers(0, 3600, count))
        records = []
        for i in range(count):
            sequence += 1
            moment = hour_start + timedelta(seconds=int(seconds[i]))
            records.append(
                {
                    "order_id": f"o{day:%y%m%d}{sequence:05d}",
                    "created_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "created_ms": int(moment.timestamp() * 1000),
                    "store_id": f"s{stores[i] + 1:04d}",
                    "city": CITIES[store_city[stores[i]]],
                    "vehicle": VEHICLES[vehicle[i]],
                    "items": int(rng.integers(1, 12)),
                    "basket_usd": round(float(rng.gamma(3.0, 12.0)), 2),
                    "distance_km": round(float(distance[i]), 2),
                    "courier_backlog": int(backlog[i]),
                    "minutes_since_previous_order": None
                    if first_order[i]
                    else round(float(rng.exponential(9000.0)), 1),
                    "late": int(late[i]),
                }
            )
        folder = f"dt={day.isoformat()}/hour={local_hour:02d}"
        parts = [records] if count < 30 else [records[: count // 2], records[count // 2 :]]
        for index, part in enumerate(parts):
            name = f"{folder}/part-{hour * 10 + index:05d}.jsonl.gz"
            content = gzip.compress("".join(json.dumps(r) + "\n" for r in part).encode(), mtime=0)
            yield Dump(name=name, day=day, content=content, rows=len(part))
        if hour == 12:  # an uploader's leftover beside the final file
            yield Dump(name=f"{folder}/.part-upload.jsonl.gz.tmp", day=day, content=b"\x1f\x8b", rows=0)
    yield Dump(name=f"dt={day.isoformat()}/_SUCCESS", day=day, content=b"", rows=0)
