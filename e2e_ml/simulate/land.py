"""Write simulated dumps into a landing zone (a folder, a container: any storage URL)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from e2e_ml.resources.storage import LandingZone
from e2e_ml.simulate.telemetry import Dump


def land(
    dumps: Iterable[Dump],
    landing_zone: LandingZone,
    progress: Callable[[Dump], None] | None = None,
    outcomes_zone: LandingZone | None = None,
) -> list[Dump]:
    """Write each dump into its zone: data into the landing zone, labels into the outcomes zone."""
    landed = []
    for dump in dumps:
        zone = landing_zone if dump.zone == "landing" else outcomes_zone
        if zone is None:
            raise ValueError(f"{dump.name}: an outcomes dump needs the outcomes zone")
        zone.write(dump.name, dump.content)
        landed.append(dump)
        if progress:
            progress(dump)
    return landed
