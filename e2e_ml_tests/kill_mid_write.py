"""Run one day of the pipeline and die by SIGKILL halfway through writing `clean_dataset`.

`python -m e2e_ml_tests.kill_mid_write YYYY-MM-DD`, with the deployment in the environment
(E2E_ML_DEPLOYMENT, E2E_ML_HOME, E2E_ML_*_URL, AZURE_STORAGE_CONNECTION_STRING). On a file
system half the bytes reach the temporary file; on Blob storage half the bytes are staged as a
block that is never committed. Either way a real signal ends the process mid-write.
"""

import base64
import os
import signal
import sys
from pathlib import Path
from typing import Any

import dagster as dg
from azure.storage.blob import BlobServiceClient
from fsspec.implementations.local import LocalFileSystem
from fsspec.spec import AbstractFileSystem

from e2e_ml.definitions import build_definitions
from e2e_ml.deployments import Settings
from e2e_ml.jobs import DAILY_PIPELINE
from e2e_ml.resources import storage

TARGET = "/clean_dataset/"
real_local_pipe = LocalFileSystem.pipe_file
real_write_whole = storage.write_whole


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def half_then_die_on_disk(self: LocalFileSystem, path: str, value: bytes, **kwargs: Any) -> None:
    if TARGET not in path:
        return real_local_pipe(self, path, value, **kwargs)
    with Path(path).open("wb") as partial:
        partial.write(value[: len(value) // 2])
        partial.flush()
        os.fsync(partial.fileno())
    die()


def half_then_die_on_blob(fs: AbstractFileSystem, path: str, data: bytes) -> None:
    if TARGET not in f"/{path}" or isinstance(fs, LocalFileSystem):
        return real_write_whole(fs, path, data)
    container, blob = path.split("/", 1)
    service = BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])
    block = base64.b64encode(b"block-0").decode()
    service.get_blob_client(container, blob).stage_block(block, data[: len(data) // 2])
    die()


def main(day: str) -> None:
    LocalFileSystem.pipe_file = half_then_die_on_disk  # type: ignore[method-assign]
    storage.write_whole = half_then_die_on_blob
    settings = Settings.from_env()
    job = build_definitions(settings).resolve_job_def(DAILY_PIPELINE)
    with dg.DagsterInstance.ephemeral() as instance:
        job.execute_in_process(partition_key=day, instance=instance)
    raise SystemExit("the run finished: the write was never interrupted")


if __name__ == "__main__":
    main(sys.argv[1])
