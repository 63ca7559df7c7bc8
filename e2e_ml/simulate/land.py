"""Write simulated dumps into a landing zone (a folder, a container: any storage URL)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from e2e_ml.resources.storage import LandingZone
from e2e_ml.simulate.telemetry import Dump


def land(
    dumps: Iterable[Dump], landing_zone: LandingZone, progress: Callable[[Dump], None] | None = None
) -> list[Dump]:
    landed = []
    for dump in dumps:
        landing_zone.write(dump.name, dump.content)
        landed.append(dump)
        if progress:
            progress(dump)
    return landed
