"""The external side of trained_model: `python -m e2e_ml.train_job`, launched through Dagster Pipes.

It reads the deployment from its environment, trains the partition it is given with the run
config it is given (`train_day`, as in-process training does), and reports the materialization
and the quality check back. Context and messages come through files and environment variables
(a local subprocess) or through a Blob container (`E2E_ML_PIPES_TRANSPORT=blob`: an Azure ML job).
An exception here is reported to Dagster with its text, and fails the step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any

import dagster as dg
from dagster_pipes import (
    PipesAzureBlobStorageContextLoader,
    PipesAzureBlobStorageMessageWriter,
    PipesContext,
    open_dagster_pipes,
)

from e2e_ml.checks.quality import QUALITY
from e2e_ml.deployments import Settings, resources_for
from e2e_ml.resources.training import PIPES_TRANSPORT
from e2e_ml.training import TrainingConfig, train_day


def main() -> None:
    with ExitStack() as stack:
        pipes = stack.enter_context(open_dagster_pipes(**_transport()))
        settings = Settings.from_env()
        wanted = {key: resources_for(settings)[key] for key in ("lake", "contract", "mlflow")}
        resources = stack.enter_context(dg.build_resources(wanted))
        result = train_day(
            pipes.partition_key,
            TrainingConfig(**pipes.extras["config"]),
            int(pipes.extras["window_days"]),
            resources.lake,
            resources.contract,
            resources.mlflow,
            pipes.run_id,
            pipes.log,
        )
        report(pipes, result)


def _transport() -> dict[str, Any]:
    if os.environ.get(PIPES_TRANSPORT) != "blob":
        return {}  # Pipes' defaults: context in a file, messages to a file
    from azure.storage.blob import BlobServiceClient

    if os.environ.get("AZURE_STORAGE_CONNECTION_STRING"):
        client = BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])
    else:
        from azure.identity import DefaultAzureCredential

        client = BlobServiceClient(
            os.environ["E2E_ML_PIPES_ACCOUNT_URL"], credential=DefaultAzureCredential()
        )
    return {
        "context_loader": PipesAzureBlobStorageContextLoader(client),
        "message_writer": PipesAzureBlobStorageMessageWriter(client, interval=1.0),
    }


def report(pipes: PipesContext, result: dg.MaterializeResult) -> None:
    """The materialization and its checks, as Pipes messages."""
    pipes.report_asset_materialization(metadata=pipes_metadata(result.metadata or {}))
    for check in result.check_results or []:
        pipes.report_asset_check(
            check_name=check.check_name or QUALITY,  # the one check trained_model reports
            passed=check.passed,
            severity="WARN" if check.severity == dg.AssetCheckSeverity.WARN else "ERROR",
            metadata=pipes_metadata(
                {**(check.metadata or {}), **({"verdict": check.description} if check.description else {})}
            ),
        )


def pipes_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Dagster metadata as Pipes carries it: URLs typed as such, the rest as raw values."""
    converted: dict[str, Any] = {}
    for key, value in metadata.items():
        if isinstance(value, dg.UrlMetadataValue):
            converted[key] = {"raw_value": value.url, "type": "url"}
        elif isinstance(value, dg.MetadataValue):
            converted[key] = value.value
        else:
            converted[key] = value
    return converted


if __name__ == "__main__":
    main()
