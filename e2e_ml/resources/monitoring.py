"""What counts as late, slow or worth an alert, and where people follow links to."""

from __future__ import annotations

import dagster as dg


class MonitoringPolicy(dg.ConfigurableResource):
    max_silence_hours: float = 13.0  # dumps arrive every 6-12 h: longer than this is stale
    run_budget_seconds: int = 1800  # default time budget of a run; tag e2e_ml/max_runtime_seconds overrides
    alert_on_warn: bool = True  # alert on failed WARN checks (drift, rejected rows), not only ERROR
    alert_update_hours: float = 24.0  # at most one update per open incident in this many hours
    dagster_url: str = "http://127.0.0.1:3000"

    def run_link(self, run_id: str) -> str:
        return f"{self.dagster_url.rstrip('/')}/runs/{run_id}"

    def asset_link(self, asset_path: str) -> str:
        return f"{self.dagster_url.rstrip('/')}/assets/{asset_path}"
