"""Where trained_model's work runs: the run's process, a local subprocess, or an Azure ML job.

The two external ways go through Dagster Pipes and run the same command,
`python -m e2e_ml.train_job`, which calls the same `train_day` as the in-process trainer: logs,
metadata, the quality check and the MLflow link reach Dagster alike, and an external failure
fails the step with the external error's text.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg

from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.storage import StorageLocation
from e2e_ml.resources.tracking import MlflowTracking
from e2e_ml.training import TrainingConfig, train_day

TRAIN_MODULE = "e2e_ml.train_job"
TRAIN_COMMAND = [sys.executable, "-m", TRAIN_MODULE]  # a child of this interpreter
JOB_COMMAND = f"python -m {TRAIN_MODULE}"  # in the Azure ML environment
PIPES_TRANSPORT = "E2E_ML_PIPES_TRANSPORT"  # "blob": context and messages through Blob storage
CLOSED_WITH_EXCEPTION = "external process pipes closed with exception"


@contextmanager
def without_pipes_preview_warning() -> Iterator[None]:
    """dagster's own Pipes clients call an API of theirs still in preview and warn so on every
    training: nothing a user of e2e-ml can act on, so not shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*expected_writer_count", category=dg.PreviewWarning)
        yield


class ExternalTrainingError(RuntimeError):
    """The external training failed; the message is the external error's own."""


@contextmanager
def external_errors_named(context: dg.AssetExecutionContext) -> Iterator[None]:
    """Fail the step with the external process's error, not only "failed with code 1": Pipes
    records the external exception in the run's event log, and the step failure says it."""
    try:
        yield
    except Exception as failure:  # the Pipes clients' error class is not public API
        records = context.instance.all_logs(context.run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
        for record in reversed(records):
            event = record.dagster_event
            error = getattr(event.event_specific_data, "error", None) if event else None
            if error is not None and CLOSED_WITH_EXCEPTION in record.user_message:
                raise ExternalTrainingError(f"{error.cls_name}: {error.message.strip()}") from failure
        raise


class Trainer(dg.ConfigurableResource):
    """Trains in the run's own process: the cheapest, for tests and the demo."""

    lake: StorageLocation
    contract: DataContract
    mlflow: MlflowTracking

    def train(
        self, context: dg.AssetExecutionContext, config: TrainingConfig, window_days: int
    ) -> dg.MaterializeResult:
        return train_day(
            context.partition_key,
            config,
            window_days,
            self.lake,
            self.contract,
            self.mlflow,
            context.run.run_id,
            context.log,
        )


def pipes_extras(config: TrainingConfig, window_days: int) -> dict[str, Any]:
    return {"config": config.model_dump(), "window_days": window_days}


class SubprocessTrainer(Trainer):
    """Trains in a child process through Pipes: a training that dies (out of memory, a crash in
    native code) fails the step, not the run's process. `environment` is the deployment as
    variables (no secrets: the child inherits those from the environment)."""

    environment: dict[str, str]

    def train(
        self, context: dg.AssetExecutionContext, config: TrainingConfig, window_days: int
    ) -> dg.MaterializeResult:
        client = dg.PipesSubprocessClient(env=self.environment)
        with external_errors_named(context), without_pipes_preview_warning():
            invocation = client.run(
                command=TRAIN_COMMAND, context=context, extras=pipes_extras(config, window_days)
            )
        return invocation.get_materialize_result()


class AzureMLTrainer(Trainer):
    """Trains in an Azure ML command job through dagster-azure's `PipesAzureMLClient`; context and
    messages travel through a Blob container (`pipes_container`) on the `pipes_account`. The job
    runs the same command in an Azure ML environment that has e2e-ml installed (the image of
    `deploy/Dockerfile`), with the deployment's variables; it reaches storage and MLflow by its
    managed identity."""

    environment: dict[str, str]
    pipes_container: str = "pipes"
    pipes_account_url: str | None = None  # https://<account>.blob.core.windows.net
    pipes_connection_string: str | None = None  # Azurite, or a key: set it with dg.EnvVar
    subscription_id: str = ""
    resource_group: str = ""
    workspace: str = ""
    compute: str = ""  # an Azure ML compute cluster
    job_environment: str = ""  # an Azure ML environment, e.g. e2e-ml@latest
    poll_interval_seconds: float = 10.0

    def blob_client(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        if self.pipes_connection_string:
            return BlobServiceClient.from_connection_string(self.pipes_connection_string)
        from azure.identity import DefaultAzureCredential

        return BlobServiceClient(self.pipes_account_url or "", credential=DefaultAzureCredential())

    def ml_client(self) -> Any:
        from azure.ai.ml import MLClient
        from azure.identity import DefaultAzureCredential

        return MLClient(DefaultAzureCredential(), self.subscription_id, self.resource_group, self.workspace)

    def job_variables(self) -> dict[str, str]:
        """What the job's process needs to reach the Pipes container."""
        variables = {**self.environment, PIPES_TRANSPORT: "blob"}
        if self.pipes_account_url:
            variables["E2E_ML_PIPES_ACCOUNT_URL"] = self.pipes_account_url
        return variables

    def train(
        self, context: dg.AssetExecutionContext, config: TrainingConfig, window_days: int
    ) -> dg.MaterializeResult:
        # Imported here: azure-ai-ml takes a second to import, which no other trainer should pay.
        from azure.ai.ml import command
        from dagster_azure.pipes import (
            PipesAzureBlobStorageContextInjector,
            PipesAzureBlobStorageMessageReader,
            PipesAzureMLClient,
        )

        blob = self.blob_client()
        client = PipesAzureMLClient(
            client=self.ml_client(),
            context_injector=PipesAzureBlobStorageContextInjector(
                container=self.pipes_container, client=blob
            ),
            message_reader=PipesAzureBlobStorageMessageReader(
                container=self.pipes_container, client=blob, interval=1.0
            ),
            poll_interval_seconds=self.poll_interval_seconds,
        )
        job = command(
            command=JOB_COMMAND,
            environment=self.job_environment or None,
            compute=self.compute or None,
            environment_variables=self.job_variables(),
            display_name=f"e2e-ml train {context.partition_key}",
        )
        with external_errors_named(context), without_pipes_preview_warning():
            invocation = client.run(context=context, extras=pipes_extras(config, window_days), command=job)
        return invocation.get_materialize_result()
