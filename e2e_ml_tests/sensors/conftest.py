"""A deployment whose alerts go to a real HTTP server on loopback, driven tick by tick."""

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from e2e_ml.definitions import build_definitions
from e2e_ml.demo import raise_alerts, tick
from e2e_ml.deployments import Settings, provision, resources_for
from e2e_ml.simulate.land import land
from e2e_ml.simulate.telemetry import Anomaly, SimulationConfig, simulate
from e2e_ml_tests.servers import HttpServer

START = date(2026, 3, 2)


class Watched:
    """A local deployment whose notifier posts to a real HTTP server, driven tick by tick."""

    def __init__(self, home: Path, server: HttpServer, instance: dg.DagsterInstance, **settings):
        self.settings = Settings(home=home, **settings)
        provision(self.settings)
        self.defs = build_definitions(self.settings)
        self.server, self.instance = server, instance
        self.cursor: str | None = None
        self.alert_cursors: dict[str, str | None] = {}
        raise_alerts(self.defs, instance, self.alert_cursors)  # watching from before the first run

    def land(self, *anomalies: str, days: int = 4, players: int = 500) -> None:
        config = SimulationConfig(
            start=START, days=days, players=players, anomalies=tuple(map(Anomaly.parse, anomalies))
        )
        with dg.build_resources({"landing": resources_for(self.settings)["landing_zone"]}) as resources:
            land(simulate(config), resources.landing)

    def tick(self):
        outcome = tick(self.defs, self.instance, self.cursor, report=lambda line: None)
        self.cursor = outcome.cursor
        raise_alerts(self.defs, self.instance, self.alert_cursors)
        return outcome

    @property
    def alerts(self) -> list[str]:
        return [request.json()["text"] for request in self.server.requests]


@pytest.fixture
def watched(tmp_path, monkeypatch):
    with HttpServer() as server, dg.instance_for_test() as instance:
        monkeypatch.setenv("E2E_ML_WEBHOOK_URL", f"{server.url}/hook")
        monkeypatch.setenv("E2E_ML_WEBHOOK_FLAVOR", "slack")
        yield lambda **settings: Watched(tmp_path / "home", server, instance, **settings)
