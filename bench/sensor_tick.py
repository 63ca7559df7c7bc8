"""Landing-zone sensor tick against the size of the landing zone, local and on Azurite.

Reference: listing the same zone with fsspec (`find`), the least any tick must do. Measured:
a full tick (listing, fingerprints, cursor, run requests, freshness) and the files it read
(must be 0). With a lookback (`E2E_ML_SENSOR_LOOKBACK_DAYS`), old history should not cost.
"""

from __future__ import annotations

import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from bench.common import best_of, save, table
from e2e_ml.azurite import Azurite
from e2e_ml.resources.monitoring import MonitoringPolicy
from e2e_ml.resources.storage import AzureStorageAccount, LandingZone, StorageLocation
from e2e_ml.sensors.landing_zone import landing_zone_sensor

FILES_PER_DAY = 10


def populate(zone: LandingZone, files: int, newest: date) -> None:
    """`files` tiny dumps, FILES_PER_DAY a day, ending at `newest`."""
    names = [
        f"{newest - timedelta(days=i // FILES_PER_DAY):%Y/%m/%d}/dump_{i % FILES_PER_DAY:02d}.csv"
        for i in range(files)
    ]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda name: zone.write(name, b"player_id\np000001\n"), names))


def measure(zone: LandingZone, repeat: int) -> dict[str, float]:
    fs, root = zone.filesystem()
    reads: list[str] = []
    original = LandingZone.read_bytes

    def counting_read(self: StorageLocation, relative: str) -> bytes:
        reads.append(relative)
        return original(self, relative)

    LandingZone.read_bytes = counting_read  # type: ignore[method-assign]
    try:
        listing, _ = best_of(repeat, lambda: fs.find(root))

        no_outcomes = LandingZone(url=tempfile.mkdtemp())  # the tick lists the outcomes zone too: empty here
        resources = {"landing_zone": zone, "outcomes_zone": no_outcomes, "monitoring": MonitoringPolicy()}
        with dg.instance_for_test() as instance:

            def one_tick() -> None:
                with dg.build_sensor_context(instance=instance, cursor=None, resources=resources) as context:
                    landing_zone_sensor(context)

            tick, _ = best_of(repeat, one_tick)
    finally:
        LandingZone.read_bytes = original  # type: ignore[method-assign]
    return {
        "listing_s": round(listing, 4),
        "tick_s": round(tick, 4),
        "tick_over_listing": round(tick / listing, 2),
        "files_read": len(reads),
    }


def main(sizes: list[int]) -> dict:
    today = datetime.now(UTC).date()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder, Azurite(Path(folder) / "azurite") as azurite:
        account = AzureStorageAccount(connection_string=azurite.connection_string)
        for size in sizes:
            local = LandingZone(url=f"{folder}/local-{size}")
            cloud = LandingZone(url=f"abfs://landing-{size}", account=account)
            cloud.filesystem()[0].mkdir(f"landing-{size}")
            for name, zone in (("local", local), ("azurite", cloud)):
                if name == "azurite" and size > 10_000:
                    continue  # 100,000 uploads to the emulator take minutes; local shows the trend
                populate(zone, size, today)
                results[f"{name}_{size}"] = measure(zone, repeat=3)
                recent = LandingZone(url=zone.url, account=zone.account, lookback_days=7)
                results[f"{name}_{size}_lookback7"] = measure(recent, repeat=3)
    rows = [
        (
            key,
            f"tick {v['tick_s']:.3f} s = {v['tick_over_listing']:.2f}x listing; files read {v['files_read']}",
        )
        for key, v in results.items()
    ]
    print("Landing-zone sensor tick (best of 3)")
    print(table(rows))
    print(f"saved {save('sensor_tick', {'files_per_day': FILES_PER_DAY, 'results': results})}")
    return results


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 10_000, 100_000])
