"""`e2e-ml serve`: the champion over HTTP on a free loopback port, as clients call it."""

import json
import math
import threading
import time
import urllib.request
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.error import HTTPError

import dagster as dg
import pandas as pd
import pytest

from e2e_ml.core.features import feature_frame
from e2e_ml.definitions import build_definitions
from e2e_ml.demo import QUIET_LOGS
from e2e_ml.deployments import Settings, resources_for
from e2e_ml.serve import ChampionFollower, make_server
from e2e_ml.simulate.land import land_in
from e2e_ml.simulate.telemetry import SimulationConfig, simulate

START, DAYS = date(2026, 6, 1), 5


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Five days through the real graph: a champion, and its batch scores for the last day."""
    settings = Settings(home=tmp_path_factory.mktemp("serve") / "home")
    land_in(settings, simulate(SimulationConfig(start=START, days=DAYS, players=500)))
    job = build_definitions(settings).resolve_job_def("daily_pipeline")
    with dg.instance_for_test() as instance:
        for day in range(DAYS):
            job.execute_in_process(
                partition_key=(START + timedelta(days=day)).isoformat(),
                instance=instance,
                run_config=QUIET_LOGS,
            )
    resources = resources_for(settings)
    return settings, resources["mlflow"], resources["contract"]


@contextmanager
def running(served, **options):
    _, tracking, contract = served
    follower = ChampionFollower(tracking, contract.model_name, refresh_seconds=0.2)
    server = make_server(follower, contract.load(), port=0, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    follower.follow()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        follower.stop()
        server.shutdown()
        server.server_close()


def post(url: str, body: bytes, content_type: str = "application/json", headers: dict | None = None):
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": content_type, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except HTTPError as error:
        return error.code, json.loads(error.read())


def last_day(settings: Settings, contract) -> tuple[pd.DataFrame, pd.DataFrame]:
    day = (START + timedelta(days=DAYS - 1)).isoformat()
    clean = pd.read_parquet(Path(settings.lake_url) / "clean_dataset" / f"date={day}" / "part.parquet")
    batch = pd.read_parquet(Path(settings.outputs_url) / "daily_predictions" / f"date={day}" / "part.parquet")
    return feature_frame(clean, contract.load()).assign(entity_id=clean["player_id"].astype(str)), batch


def split(frame: pd.DataFrame) -> bytes:
    rows = [
        [None if isinstance(v, float) and math.isnan(v) else v for v in row]
        for row in frame.to_numpy().tolist()
    ]
    return json.dumps({"dataframe_split": {"columns": list(frame.columns), "data": rows}}).encode()


def test_scores_match_batch_scoring_in_every_format(served):
    settings, _, contract = served
    inputs, batch = last_day(settings, contract)
    rows = inputs.head(200)
    with running(served) as url:
        status, answer = post(url, split(rows.drop(columns="entity_id")))
        assert status == 200
        expected = batch.set_index("entity_id").loc[rows["entity_id"], "score"].to_numpy()
        assert answer["predictions"] == pytest.approx(expected.tolist(), abs=1e-9)
        assert str(answer["model_version"]) == str(batch["model_version"].iloc[0])
        records = json.dumps({"dataframe_records": rows.drop(columns="entity_id").head(3).to_dict("records")})
        assert post(url, records.encode())[1]["predictions"] == pytest.approx(expected[:3].tolist(), abs=1e-9)
        csv = rows.drop(columns="entity_id").head(3).to_csv(index=False).encode()
        assert post(url, csv, "text/csv")[1]["predictions"] == pytest.approx(expected[:3].tolist(), abs=1e-9)


def test_a_promotion_is_followed_without_refusing_a_request(served):
    settings, tracking, contract = served
    inputs, _ = last_day(settings, contract)
    one_row = split(inputs.drop(columns="entity_id").head(1))
    before = str(tracking.champion(contract.model_name).version)
    other = "1" if before != "1" else "2"
    answers: list[tuple[int, str]] = []
    with running(served) as url:
        try:
            assert post(url, one_row)[1]["model_version"] == before
            tracking.pin(contract.model_name, other)  # a person rolls back; a promotion moves it the same way
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                status, answer = post(url, one_row)
                answers.append((status, answer.get("model_version")))
                if answer.get("model_version") == other:
                    break
                time.sleep(0.05)
        finally:
            tracking.pin(contract.model_name, before)
            tracking.pin(contract.model_name, None)
    assert answers[-1] == (200, other)
    assert all(status == 200 for status, _ in answers)


def test_bad_requests_get_4xx_answers_with_their_rule(served):
    settings, _, contract = served
    inputs, _ = last_day(settings, contract)
    rows = inputs.drop(columns="entity_id").head(2)
    with running(served, max_body_bytes=4_000) as url:
        cases = {
            "malformed JSON": (post(url, b"{not json"), 400),
            "missing column(s): sessions": (post(url, split(rows.drop(columns="sessions"))), 400),
            "unexpected column(s): shoe_size": (post(url, split(rows.assign(shoe_size=42))), 400),
            "column sessions: expected a number": (post(url, split(rows.assign(sessions="lots"))), 400),
            "'xbox' in row 0 is not among the contract's values": (
                post(url, split(rows.assign(platform="xbox"))),
                400,
            ),
            "over the limit": (post(url, split(inputs.drop(columns="entity_id").head(200))), 413),
            "application/json or text/csv": (post(url, b"x", "application/xml"), 400),
        }
    for rule, ((status, answer), expected) in cases.items():
        assert status == expected, rule
        assert rule in answer["error"]
        assert "Traceback" not in answer["error"]


def test_a_token_is_required_when_one_is_set_and_off_loopback(served):
    settings, tracking, contract = served
    inputs, _ = last_day(settings, contract)
    one_row = split(inputs.drop(columns="entity_id").head(1))
    with running(served, token="s3cret-for-tests") as url:
        assert post(url, one_row)[0] == 401
        assert post(url, one_row, headers={"Authorization": "Bearer wrong"})[0] == 401
        assert post(url, one_row, headers={"Authorization": "Bearer s3cret-for-tests"})[0] == 200
    follower = ChampionFollower(tracking, contract.model_name)
    with pytest.raises(ValueError, match="needs a bearer token"):
        make_server(follower, contract.load(), host="0.0.0.0", port=0)
