"""trained_model's work off the orchestrator, through Dagster Pipes: a local subprocess, and an
Azure ML job whose context and messages travel through Blob storage (Azurite here).

No Azure ML workspace can be reached from here: a local launcher stands in for Azure ML's job
service and runs the command job's own command with the job's own environment variables, as the
job's container would. Everything else is real: dagster-azure's PipesAzureMLClient, its Blob
context injector and message reader, Azurite, the MLflow store.
"""

import dataclasses
import os
import shlex
import subprocess
import sys
import uuid
import warnings
from datetime import date, timedelta
from types import SimpleNamespace

import dagster as dg
import pytest
from azure.storage.blob import BlobServiceClient

from e2e_ml.definitions import build_definitions
from e2e_ml.demo import QUIET_LOGS
from e2e_ml.deployments import Settings
from e2e_ml.resources.training import AzureMLTrainer
from e2e_ml.simulate.land import land_in
from e2e_ml.simulate.telemetry import SimulationConfig, simulate
from e2e_ml_tests.conftest import azurite_settings

START, DAYS = date(2026, 2, 2), 4
COMPARED = (
    "status",
    "model_version",
    "roc_auc",
    "baseline_roc_auc",
    "train_rows",
    "holdout_rows",
    "decision",
)


class LocalAzureML:
    """Azure ML's job service, as far as PipesAzureMLClient uses it: a job runs its command with
    its environment variables (and the storage secret, which a job gets from its identity)."""

    def __init__(self, secrets: dict[str, str]):
        self.secrets, self.processes, self.commands = secrets, {}, []
        self.jobs = self

    def create_or_update(self, job):
        name = f"e2e-ml-job-{len(self.processes) + 1}"
        argv = [sys.executable if word == "python" else word for word in shlex.split(job.command)]
        environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
        self.commands.append(job.command)
        self.processes[name] = subprocess.Popen(
            argv, env={**environment, **self.secrets, **job.environment_variables}
        )
        return SimpleNamespace(name=name)

    def get(self, name: str):
        code = self.processes[name].poll()
        return SimpleNamespace(status="Running" if code is None else "Completed" if code == 0 else "Failed")

    def begin_cancel(self, name: str) -> None:
        self.processes[name].terminate()


def run_days(
    settings: Settings, training: dict | None = None, days: int = DAYS
) -> list[dg.ExecuteInProcessResult]:
    land_in(settings, simulate(SimulationConfig(start=START, days=DAYS, players=600)))
    job = build_definitions(settings).resolve_job_def("daily_pipeline")
    config = {**QUIET_LOGS, "ops": {"trained_model": {"config": training or {}}}}
    with dg.instance_for_test() as instance:
        return [
            job.execute_in_process(
                partition_key=(START + timedelta(days=day)).isoformat(),
                instance=instance,
                run_config=config,
                raise_on_error=False,
            )
            for day in range(days)
        ]


def trained(run: dg.ExecuteInProcessResult) -> tuple[dict, list[tuple]]:
    """The trained_model materialization's figures and its check results, as a run recorded them."""
    [event] = [
        e for e in run.get_asset_materialization_events() if e.asset_key == dg.AssetKey("trained_model")
    ]
    metadata = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
    checks = [
        (e.asset_check_evaluation_data.check_name, e.asset_check_evaluation_data.passed)
        for e in run.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name == "no_quality_regression"
    ]
    return {k: metadata.get(k) for k in COMPARED}, checks


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> list[tuple[dict, list[tuple]]]:
    runs = run_days(Settings(home=tmp_path_factory.mktemp("in_process") / "home"))
    assert all(run.success for run in runs)
    return [trained(run) for run in runs]


def failure_text(run: dg.ExecuteInProcessResult) -> str:
    [failure] = [e for e in run.all_events if e.is_step_failure and e.step_key == "trained_model"]
    return str(failure.step_failure_data.error)


def test_training_in_a_local_subprocess_decides_as_in_process_training(in_process, tmp_path):
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        runs = run_days(Settings(home=tmp_path / "home", training="subprocess"))
    assert all(run.success for run in runs)
    assert not [w for w in warned if issubclass(w.category, dg.PreviewWarning)], "dagster's, not the user's"
    assert [trained(run) for run in runs] == in_process
    url = next(
        e.materialization.metadata["mlflow_run"]
        for e in runs[-1].get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("trained_model")
    )
    assert isinstance(url, dg.UrlMetadataValue) and "/runs/" in url.url  # the MLflow link, typed as one


def test_a_failing_subprocess_fails_the_step_with_its_own_error(tmp_path):
    runs = run_days(
        Settings(home=tmp_path / "home", training="subprocess", step_retries=0), {"max_iter": -1}, 3
    )
    assert not runs[2].success
    assert "InvalidParameterError" in failure_text(runs[2]) and "max_iter" in failure_text(runs[2])


@pytest.fixture
def azureml(tmp_path, azurite, monkeypatch):
    settings = dataclasses.replace(
        azurite_settings(tmp_path / "home", azurite, monkeypatch),
        training="azureml",
        step_retries=0,
        azureml={
            "subscription_id": "00000000-0000-0000-0000-000000000000",
            "resource_group": "ml",
            "workspace": "e2e-ml",
            "compute": "cpu-cluster",
            "job_environment": "e2e-ml@latest",
            "pipes_container": f"pipes-{uuid.uuid4().hex[:12]}",
            "poll_interval_seconds": "1",
        },
    )
    settings.validate()
    BlobServiceClient.from_connection_string(azurite.connection_string).create_container(
        settings.azureml["pipes_container"]
    )
    service = LocalAzureML({"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string})
    monkeypatch.setattr(AzureMLTrainer, "ml_client", lambda self: service)
    return settings, service


def test_training_as_an_azure_ml_job_through_blob_storage_decides_as_in_process(in_process, azureml):
    settings, service = azureml
    runs = run_days(settings)
    assert all(run.success for run in runs)
    assert [trained(run) for run in runs] == in_process
    assert service.commands == ["python -m e2e_ml.train_job"] * DAYS  # one job a day, the same command
    job_names = [
        e.materialization.metadata.get("AzureML Job Name")
        for run in runs
        for e in run.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("trained_model")
    ]
    assert all(name and name.value.startswith("e2e-ml-job-") for name in job_names)


def test_a_failing_azure_ml_job_fails_the_step_with_its_own_error(azureml):
    settings, _ = azureml
    runs = run_days(settings, {"max_iter": -1}, 3)
    assert not runs[2].success
    assert "max_iter" in failure_text(runs[2])
