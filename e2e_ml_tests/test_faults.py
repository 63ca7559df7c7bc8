"""Fault injection on the real local and Azurite deployments: nothing lost, nothing doubled.

Each test breaks something for real (a day of broken files, a file re-uploaded, a process
killed by SIGKILL while it writes, Azurite stopped mid-run or down for good) and then checks
that the file ledger balances: every landed row is clean or quarantined, exactly once.
"""

import dataclasses
import io
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import dagster as dg
import fsspec
import pandas as pd
import pytest
from azure.storage.blob import BlobServiceClient

from e2e_ml.azurite import Azurite
from e2e_ml.definitions import build_definitions
from e2e_ml.demo import QUIET_LOGS, raise_alerts, tick
from e2e_ml.deployments import CLOUD_CONTAINERS, Settings, provision, resources_for
from e2e_ml.jobs import DAILY_PIPELINE
from e2e_ml.simulate.telemetry import Dump, SimulationConfig, serialize, simulate_day
from e2e_ml_tests.conftest import azurite_settings, child_environment
from e2e_ml_tests.stores import read_day, storage_options

DAY = date(2026, 2, 2)
KEY = DAY.isoformat()
ROOT = Path(__file__).resolve().parent.parent


def day_dumps(day: date = DAY, players: int = 300, seed: int = 7) -> list[Dump]:
    return simulate_day(SimulationConfig(start=day, days=1, players=players, seed=seed), 0)


def land(settings: Settings, files: dict[str, bytes]) -> None:
    with dg.build_resources({"landing": resources_for(settings)["landing_zone"]}) as resources:
        for name, content in files.items():
            resources.landing.write(name, content)


def run_day(settings: Settings, instance: dg.DagsterInstance, key: str = KEY) -> dg.ExecuteInProcessResult:
    job = build_definitions(settings).resolve_job_def(DAILY_PIPELINE)
    return job.execute_in_process(
        partition_key=key, instance=instance, run_config=QUIET_LOGS, raise_on_error=False
    )


def landed_names(settings: Settings, key: str = KEY) -> set[str]:
    fs, root = fsspec.core.url_to_fs(settings.landing_url, **storage_options(settings))
    day = date.fromisoformat(key)
    return {path[len(root.rstrip("/")) + 1 :] for path in fs.find(f"{root.rstrip('/')}/{day:%Y/%m/%d}/")}


def assert_ledger_balances(settings: Settings, key: str = KEY) -> pd.DataFrame:
    """Every landed file is in the ledger; every landed row is clean or quarantined, once."""
    raw, clean, quarantined, ledger = (
        read_day(settings, asset, key)
        for asset in ("raw_stream", "clean_dataset", "quarantined_rows", "file_ledger")
    )
    current = ledger[ledger["status"] != "superseded"]
    assert set(current["file"]) == landed_names(settings, key)
    assert (current["rows"] == current["clean"] + current["quarantined"]).all(), current
    assert current["rows"].sum() == len(raw) == len(clean) + len(quarantined)
    outcomes = [
        *zip(clean["_source_file"], clean["_source_row"], strict=True),
        *zip(quarantined["_source_file"], quarantined["_source_row"], strict=True),
    ]
    assert len(set(outcomes)) == len(outcomes), "a row came out twice"
    assert set(outcomes) == set(zip(raw["_source_file"], raw["_source_row"], strict=True)), "a row was lost"
    return ledger.set_index("file")


@pytest.fixture(params=["local", "azurite"])
def deployment(request, tmp_path, monkeypatch) -> Settings:
    home = tmp_path / "home"
    if request.param == "azurite":
        settings = azurite_settings(home, request.getfixturevalue("azurite"), monkeypatch)
    else:
        settings = Settings(home=home)
    provision(settings)
    return settings


def broken_files(good: Dump) -> dict[str, bytes]:
    """One file per way upstream breaks things, all landed on the same day as good files."""
    frame = pd.read_csv(io.BytesIO(good.content), dtype=str).head(20)
    folder = good.name.rsplit("/", 1)[0]

    def csv(rows: pd.DataFrame) -> bytes:
        return rows.to_csv(index=False).encode()

    parquet = serialize(frame, "parquet")
    latin1 = frame.assign(region="café").to_csv(index=False).encode("latin-1")
    return {
        f"{folder}/empty.csv": b"",
        f"{folder}/truncated.parquet": parquet[: len(parquet) // 2],
        f"{folder}/binary.csv": bytes(range(256)) * 8,
        f"{folder}/latin1.csv": latin1,
        f"{folder}/missing_column.csv": csv(frame.drop(columns="minutes_played")),
        f"{folder}/extra_column.csv": csv(
            frame.assign(player_id="p9" + frame["player_id"].str.slice(2), shoe_size="42")
        ),
        f"{folder}/wrong_types.csv": csv(
            frame.assign(player_id="p8" + frame["player_id"].str.slice(2), sessions="many")
        ),
        f"{folder}/out_of_range.csv": csv(
            frame.assign(player_id="p7" + frame["player_id"].str.slice(2), minutes_played="5000")
        ),
        f"{folder}/zz_duplicates.csv": csv(frame),  # lands last: it supersedes the good file's copies
        f"{folder}/huge.csv": csv(
            pd.concat([frame] * 100, ignore_index=True).assign(player_id=[f"p6{i:05d}" for i in range(2000)])
        ),
    }


def test_a_day_of_broken_files_is_accounted_for_and_the_good_files_flow(deployment):
    good = day_dumps()
    broken = broken_files(good[0])
    land(deployment, {dump.name: dump.content for dump in good} | broken)
    with dg.instance_for_test() as instance:
        run = run_day(deployment, instance)
    assert run.success

    ledger = assert_ledger_balances(deployment)
    folder = good[0].name.rsplit("/", 1)[0]
    reason = ledger["reason"].fillna("")
    for name, expected in {
        "empty.csv": "empty file",
        "truncated.parquet": "not a readable parquet",
        "binary.csv": "line 2: encoding: not UTF-8",  # byte 10 is a newline
        "latin1.csv": "line 2: encoding: not UTF-8",
    }.items():
        assert ledger.loc[f"{folder}/{name}", "status"] == "refused"
        assert f"{folder}/{name}" in reason[f"{folder}/{name}"] and expected in reason[f"{folder}/{name}"]
    assert reason[f"{folder}/extra_column.csv"] == "extra columns kept in raw_stream only: ['shoe_size']"
    assert ledger.loc[f"{folder}/extra_column.csv", ["clean", "quarantined"]].tolist() == [20, 0]
    assert ledger.loc[f"{folder}/huge.csv", ["rows", "clean"]].tolist() == [2000, 2000]
    for dump in good[1:]:  # the first good file lost its 20 rows to the later duplicates
        assert ledger.loc[dump.name, ["rows", "clean"]].tolist() == [dump.rows, dump.rows]

    quarantined = read_day(deployment, "quarantined_rows", KEY)
    rule = quarantined.set_index(["_source_file", "_source_row"])["_rejected_because"]
    assert rule[(f"{folder}/missing_column.csv", 2)].startswith(
        "columns:file lacks contract columns ['minutes_played']"
    )
    assert rule[(f"{folder}/wrong_types.csv", 2)].startswith("type:sessions not a valid Int64 (got 'many')")
    assert rule[(f"{folder}/out_of_range.csv", 2)].startswith("check:minutes_played in_range")
    assert (
        rule[(good[0].name, 2)]
        == f"duplicate:key (player_id, event_date) superseded by {folder}/zz_duplicates.csv row 2"
    )


def test_a_reupload_with_new_content_reprocesses_its_day_once(deployment):
    dumps = day_dumps()
    land(deployment, {dump.name: dump.content for dump in dumps})
    defs = build_definitions(deployment)
    with dg.instance_for_test() as instance:
        first = tick(defs, instance, cursor=None, report=lambda line: None)
        before = assert_ledger_balances(deployment)
        replaced = dumps[0].name
        new_content = day_dumps(seed=99)[0].content  # other rows, same day, same name
        land(deployment, {replaced: new_content})
        second = tick(defs, instance, cursor=first.cursor, report=lambda line: None)
        third = tick(defs, instance, cursor=second.cursor, report=lambda line: None)

    assert [r.dagster_run.tags["dagster/partition"] for r in first.runs + second.runs] == [KEY, KEY]
    assert all(r.success for r in first.runs + second.runs) and not third.runs
    after = assert_ledger_balances(deployment)
    raw = read_day(deployment, "raw_stream", KEY)
    landed_rows = len(pd.read_csv(io.BytesIO(new_content)))
    assert (
        (raw["_source_file"] == replaced).sum()
        == after.loc[replaced].query("status != 'superseded'")["rows"].iat[0]
        == landed_rows
    )
    old = after.loc[replaced].query("status == 'superseded'")
    assert old["version"].tolist() == [before.loc[replaced, "version"]]
    assert old["reason"].tolist() == ["replaced by a newer version"]


def test_a_run_killed_mid_write_leaves_no_partial_partition_and_the_rerun_completes(deployment):
    dumps = day_dumps()
    land(deployment, {dump.name: dump.content for dump in dumps[:-1]})
    with dg.instance_for_test() as instance:
        assert run_day(deployment, instance).success
        complete = read_day(deployment, "clean_dataset", KEY)
        land(deployment, {dumps[-1].name: dumps[-1].content})

        environment = child_environment(**deployment_environment(deployment))
        killed = subprocess.run(
            [sys.executable, "-m", "e2e_ml_tests.kill_mid_write", KEY],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert killed.returncode == -9, killed.stderr[-2000:]
        assert_write_was_interrupted(deployment)
        # Readers still see the last complete partition, not half of the new one.
        pd.testing.assert_frame_equal(read_day(deployment, "clean_dataset", KEY), complete)

        rerun = run_day(deployment, instance)
    assert rerun.success
    ledger = assert_ledger_balances(deployment)
    assert ledger.loc[dumps[-1].name, "clean"] == dumps[-1].rows
    assert len(read_day(deployment, "clean_dataset", KEY)) == len(complete) + dumps[-1].rows


def deployment_environment(settings: Settings) -> dict[str, str]:
    return {
        "E2E_ML_DEPLOYMENT": settings.deployment,
        "E2E_ML_HOME": str(settings.home),
        **{f"E2E_ML_{role.upper()}_URL": settings.url(role) for role in CLOUD_CONTAINERS},
    }


def assert_write_was_interrupted(settings: Settings) -> None:
    """The killed write left its trace where no reader looks: a temporary file, an uncommitted block."""
    relative = f"clean_dataset/date={KEY}"
    if settings.deployment == "local":
        partials = list((settings.home / "lake" / relative).glob(".part.parquet.*.partial"))
        assert len(partials) == 1 and partials[0].stat().st_size > 0
        return
    container = settings.url("lake").removeprefix("abfs://")
    blob = BlobServiceClient.from_connection_string(
        os.environ["AZURE_STORAGE_CONNECTION_STRING"]
    ).get_blob_client(container, f"{relative}/part.parquet")
    _, uncommitted = blob.get_block_list("all")
    assert len(uncommitted) == 1


@pytest.fixture
def own_azurite(tmp_path):
    """An emulator of this test's own, since the test stops it."""
    with Azurite(tmp_path / "azurite") as emulator:
        yield emulator


def test_storage_stopped_mid_run_is_retried_and_the_run_completes(own_azurite, tmp_path, monkeypatch):
    settings = dataclasses.replace(
        azurite_settings(tmp_path / "home", own_azurite, monkeypatch),
        storage_retries=1,  # the outage outlasts the SDK's retries: the step retries take over
        storage_backoff_seconds=0.0,
        step_retries=6,
        step_retry_delay_seconds=1.0,
    )
    provision(settings)
    dumps = day_dumps(players=2000)
    land(settings, {dump.name: dump.content for dump in dumps})
    fs, root = fsspec.core.url_to_fs(
        f"{settings.lake_url}/raw_stream/date={KEY}", **storage_options(settings)
    )
    with dg.instance_for_test() as instance:
        outcome: list[dg.ExecuteInProcessResult] = []
        runner = threading.Thread(target=lambda: outcome.append(run_day(settings, instance)))
        runner.start()
        deadline = time.monotonic() + 120
        while not fs.exists(f"{root}/part.parquet", refresh=True) and time.monotonic() < deadline:
            time.sleep(0.02)
        own_azurite.stop()  # mid-run: raw_stream is written, the rest of the day is not
        time.sleep(3)
        own_azurite.start()
        runner.join(timeout=300)
    run = outcome[0]
    assert run.success
    retried = [e.step_key for e in run.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retried, "the outage never reached the run"
    assert_ledger_balances(settings)
    assert {
        len(read_day(settings, "clean_dataset", KEY)) + len(read_day(settings, "quarantined_rows", KEY))
    } == {sum(dump.rows for dump in dumps)}


def test_storage_down_fails_the_run_clearly_and_raises_one_alert(own_azurite, tmp_path, monkeypatch):
    settings = dataclasses.replace(
        azurite_settings(tmp_path / "home", own_azurite, monkeypatch),
        storage_retries=1,
        storage_backoff_seconds=0.0,
        step_retries=1,
        step_retry_delay_seconds=0.5,
    )
    provision(settings)
    land(settings, {dump.name: dump.content for dump in day_dumps()})
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        cursors: dict[str, str | None] = {}
        raise_alerts(defs, instance, cursors)
        own_azurite.stop()
        run = run_day(settings, instance)
        raise_alerts(defs, instance, cursors)
        raise_alerts(defs, instance, cursors)
    assert not run.success
    retried = [e for e in run.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert sorted(e.step_key for e in retried) == ["ingest", "outcomes_feed"]  # both read a zone
    alerts = [json.loads(line) for line in settings.alert_log.read_text().splitlines()]
    assert [a["title"] for a in alerts] == [f"Run of daily_pipeline for {KEY} failed"]
    summary = alerts[0]["summary"]
    assert summary.startswith(f"{settings.landing_url}: storage unreachable after retries")
    key = os.environ["AZURE_STORAGE_CONNECTION_STRING"].split("AccountKey=")[1].split(";")[0]
    assert key not in json.dumps(alerts) and all(key not in str(event) for event in run.all_events)
