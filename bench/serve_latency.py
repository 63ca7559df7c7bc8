"""The live endpoint's latency and throughput, against scoring the same rows in-process.

A champion is made by five simulated days through the real graph; `e2e-ml serve`'s server runs
on a free loopback port. Reference: `predict_proba` on the same rows in this process (the
model's own cost). Measured: p50/p99 latency and rows/s of single-row and 1,000-row requests
over HTTP (JSON, dataframe_split, on a kept-alive connection), and the time from a change of
the champion alias to the first answer from the new version, a request every 20 ms meanwhile.
Aims: single-row p99 < 20 ms; 1,000-row requests at >= 1/3 of in-process rows/s; the new
version answering within 60 s of its promotion.

Usage: python -m bench.serve_latency [requests]
"""

from __future__ import annotations

import http.client
import json
import math
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import numpy as np
import pandas as pd

from bench.common import save, table
from e2e_ml.core.features import feature_frame
from e2e_ml.definitions import build_definitions
from e2e_ml.demo import QUIET_LOGS
from e2e_ml.deployments import Settings, resources_for
from e2e_ml.serve import ChampionFollower, make_server
from e2e_ml.simulate.land import land_in
from e2e_ml.simulate.telemetry import SimulationConfig, simulate

START, DAYS = date(2026, 6, 1), 5
REFRESH_SECONDS = 5.0  # the CLI's default


def body(frame: pd.DataFrame) -> bytes:
    rows = [
        [None if isinstance(v, float) and math.isnan(v) else v for v in r] for r in frame.to_numpy().tolist()
    ]
    return json.dumps({"dataframe_split": {"columns": list(frame.columns), "data": rows}}).encode()


def timed_posts(url: str, payload: bytes, count: int) -> list[float]:
    """`count` requests on one kept-alive connection, as a client with a session sends them."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
    seconds = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request(
                "POST", address.path, body=payload, headers={"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
            seconds.append(time.perf_counter() - started)
    finally:
        connection.close()
    return seconds


def main(requests: int = 300) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(home=Path(folder))
        land_in(settings, simulate(SimulationConfig(start=START, days=DAYS, players=2_000)))
        job = build_definitions(settings).resolve_job_def("daily_pipeline")
        with dg.instance_for_test() as instance:
            for day in range(DAYS):
                job.execute_in_process(
                    partition_key=(START + timedelta(days=day)).isoformat(),
                    instance=instance,
                    run_config=QUIET_LOGS,
                )
        resources = resources_for(settings)
        tracking, contract = resources["mlflow"], resources["contract"]
        spec = contract.load()
        clean = pd.concat(
            pd.read_parquet(p) for p in sorted(Path(settings.lake_url, "clean_dataset").glob("*/*.parquet"))
        )
        inputs = feature_frame(clean, spec).head(1000)
        follower = ChampionFollower(tracking, contract.model_name, refresh_seconds=REFRESH_SECONDS)
        model = follower.champion.model if follower.champion else None
        assert model is not None
        server = make_server(follower, spec, port=0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        follower.follow()
        url = f"http://127.0.0.1:{server.server_address[1]}/invocations"
        figures: dict[str, float] = {}
        for label, rows in (("single_row", inputs.head(1)), ("rows_1000", inputs)):
            count = requests if len(rows) == 1 else max(10, requests // 10)
            reference = []
            for _ in range(count):
                started = time.perf_counter()
                model.predict_proba(rows)
                reference.append(time.perf_counter() - started)
            http = timed_posts(url, body(rows), count)
            figures |= {
                f"{label}_http_p50_ms": round(1000 * float(np.percentile(http, 50)), 2),
                f"{label}_http_p99_ms": round(1000 * float(np.percentile(http, 99)), 2),
                f"{label}_in_process_p50_ms": round(1000 * float(np.percentile(reference, 50)), 2),
                f"{label}_http_rows_per_s": round(len(rows) / float(np.median(http)), 1),
                f"{label}_in_process_rows_per_s": round(len(rows) / float(np.median(reference)), 1),
            }
            figures[f"{label}_http_over_in_process_rows_per_s"] = round(
                figures[f"{label}_http_rows_per_s"] / figures[f"{label}_in_process_rows_per_s"], 3
            )
        before = str(tracking.champion(contract.model_name).version)
        other = "1" if before != "1" else "2"
        one = body(inputs.head(1))
        refused, started = 0, time.perf_counter()
        tracking.pin(contract.model_name, other)
        while time.perf_counter() - started < 90:
            request = urllib.request.Request(url, data=one, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    if json.loads(response.read())["model_version"] == other:
                        break
            except OSError:
                refused += 1
            time.sleep(0.02)
        figures["promotion_to_first_answer_s"] = round(time.perf_counter() - started, 2)
        figures["requests_refused_during_switch"] = refused
        tracking.pin(contract.model_name, None)
        follower.stop()
        server.shutdown()
        server.server_close()
    print(f"Live endpoint on loopback ({requests} single-row requests; refresh every {REFRESH_SECONDS:g} s)")
    print(table([(key, str(value)) for key, value in figures.items()]))
    saved = save("serve_latency", {"requests": requests, "refresh_seconds": REFRESH_SECONDS, **figures})
    print(f"results: {saved}")
    return figures


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
