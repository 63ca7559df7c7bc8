"""Run one day of the pipeline and die by SIGKILL halfway through writing `clean_dataset`.

`python -m e2e_ml_tests.kill_mid_write YYYY-MM-DD`, with the deployment in the environment
(E2E_ML_DEPLOYMENT, E2E_ML_HOME, E2E_ML_*_URL, AZURE_STORAGE_CONNECTION_STRING). The table is
spooled as a stream, then published: on a file system half its bytes stay in the temporary file
beside the partition; on Blob storage half are staged as a block that is never
committed. Either way a real signal ends the process mid-write.
"""

import base64
import os
import signal
import sys
from pathlib import Path

import dagster as dg
from azure.storage.blob import BlobServiceClient
from fsspec.implementations.local import LocalFileSystem
from fsspec.spec import AbstractFileSystem

from e2e_ml.definitions import build_definitions
from e2e_ml.deployments import Settings
from e2e_ml.jobs import DAILY_PIPELINE
from e2e_ml.resources import storage

TARGET = "/clean_dataset/"
real_publish_file = storage.publish_file


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def half_then_die(fs: AbstractFileSystem, local: Path, path: str) -> None:
    """Publishing clean_dataset: half its bytes reach the temporary file beside the partition,
    or are staged as a Blob block that is never committed; then the process dies."""
    if TARGET not in f"/{path}":
        return real_publish_file(fs, local, path)
    size = local.stat().st_size
    if isinstance(fs, LocalFileSystem):
        with local.open("r+b") as partial:
            partial.truncate(size // 2)
            partial.flush()
            os.fsync(partial.fileno())
        die()
    container, blob = path.split("/", 1)
    service = BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])
    block = base64.b64encode(b"block-0").decode()
    service.get_blob_client(container, blob).stage_block(block, local.read_bytes()[: size // 2])
    die()


def main(day: str) -> None:
    storage.publish_file = half_then_die
    settings = Settings.from_env()
    job = build_definitions(settings).resolve_job_def(DAILY_PIPELINE)
    with dg.DagsterInstance.ephemeral() as instance:
        job.execute_in_process(partition_key=day, instance=instance)
    raise SystemExit("the run finished: the write was never interrupted")


if __name__ == "__main__":
    main(sys.argv[1])
