"""Write simulated dumps into a landing zone (a folder, a container: any storage URL)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import dagster as dg

from e2e_ml.deployments import Settings, provision, resources_for
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


def land_in(
    settings: Settings, dumps: Iterable[Dump], progress: Callable[[Dump], None] | None = None
) -> list[Dump]:
    """Land dumps in a deployment's landing and outcomes zones, created first if need be."""
    provision(settings)
    resources = resources_for(settings)
    zones = {role: resources[f"{role}_zone"] for role in ("landing", "outcomes")}
    with dg.build_resources(zones) as built:
        return land(dumps, built.landing, progress, outcomes_zone=built.outcomes)
