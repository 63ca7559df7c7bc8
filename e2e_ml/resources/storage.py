"""Storage on one path abstraction (fsspec): the deployment changes base URLs, nothing else.

A local folder, an Azurite container and an ADLS Gen2 account are all addressed by URL, so the
landing zone, the lake and the outputs share this code on every deployment.
"""

from __future__ import annotations

import io
import shutil
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import fsspec
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from adlfs import AzureBlobFileSystem
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.storage.blob.aio import BlobServiceClient, ExponentialRetry
from fsspec.implementations.local import LocalFileSystem
from fsspec.spec import AbstractFileSystem
from pydantic import PrivateAttr

from e2e_ml.core.landing import LandedFile, layout_named
from e2e_ml.core.scratch import scratch_folder
from e2e_ml.core.tables import LAKE_COMPRESSION, pandas_table

PARTITION_FIELD = "date"
PART_FILE = "part.parquet"


class StorageUnavailableError(ConnectionError):
    """A store that did not answer, after the SDK's retries: names the store, never a credential."""


class RetryingBlobFileSystem(AzureBlobFileSystem):
    """adlfs with our retry policy: adlfs does not pass retry settings on to the Blob client
    (fsspec/adlfs#502), whose default waits 15+3, 15+9, 15+27 s: 80 s before a refused
    connection is reported. Here request n waits `backoff_seconds` + 2**n s, +/- 1 s of jitter."""

    def __init__(self, *args: Any, retries: int = 3, backoff_seconds: float = 1.0, **kwargs: Any):
        self.retry_policy = ExponentialRetry(
            initial_backoff=backoff_seconds,  # type: ignore[arg-type]  # used as a float
            increment_base=2,
            retry_total=retries,
            random_jitter_range=1,
        )
        super().__init__(*args, **kwargs)

    def do_connect(self) -> None:
        super().do_connect()
        default: BlobServiceClient = self.service_client  # type: ignore[has-type]
        self.service_client = BlobServiceClient(
            account_url=default.url, credential=default.credential, retry_policy=self.retry_policy
        )


def open_filesystem(url: str, storage_options: dict[str, Any]) -> tuple[AbstractFileSystem, str]:
    if url.startswith(("abfs://", "az://")):
        return RetryingBlobFileSystem(**storage_options), RetryingBlobFileSystem._strip_protocol(url).rstrip(
            "/"
        )
    fs, root = fsspec.core.url_to_fs(url, **storage_options)
    return fs, root.rstrip("/")


@contextmanager
def reaching(url: str) -> Iterator[None]:
    """Turn a store that does not answer into one clear error naming the store."""
    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as error:
        raise StorageUnavailableError(
            f"{url}: storage unreachable after retries ({error.message})"
        ) from error
    except HttpResponseError as error:
        if error.status_code not in (500, 503):
            raise
        raise StorageUnavailableError(
            f"{url}: storage busy or failing after retries (HTTP {error.status_code}, {error.reason})"
        ) from error


@contextmanager
def writing(fs: AbstractFileSystem, path: str) -> Iterator[Path]:
    """A local file to write `path` into, published whole when the block ends without error.

    Readers see the old object or the new one, never a part. On a file system the file is a
    temporary beside `path`, renamed into place; on Blob storage it is written to local scratch
    and uploaded as staged blocks committed at once (one Put Blob when small). (fsspec's
    `transaction` would do the former, but it lives on the shared filesystem instance: not
    thread-safe.) The file is written as a stream, so a table never has to fit in memory.
    """
    parent, name = path.rsplit("/", 1)
    fs.makedirs(parent, exist_ok=True)
    with ExitStack() as scratch:
        local_fs = isinstance(fs, LocalFileSystem)
        folder = Path(parent) if local_fs else scratch.enter_context(scratch_folder())
        temporary = folder / f".{name}.{uuid.uuid4().hex}.partial"
        try:
            yield temporary
            publish_file(fs, temporary, path)
        finally:
            temporary.unlink(missing_ok=True)


def publish_file(fs: AbstractFileSystem, local: Path, path: str) -> None:
    """Make a finished local file visible at `path` in one step."""
    if isinstance(fs, LocalFileSystem):
        local.replace(path)
    else:
        fs.put_file(str(local), path)


class AzureStorageAccount(dg.ConfigurableResource):
    """How to reach an Azure storage account (or Azurite). Set secrets with `dg.EnvVar`.

    The first credential given wins: a connection string, a SAS token, an account key; with
    none, `DefaultAzureCredential` (managed identity, workload identity, `az login`).
    """

    account_name: str | None = None
    connection_string: str | None = None
    sas_token: str | None = None
    account_key: str | None = None
    retries: int = 3  # per request, by the Blob client, before a step fails
    backoff_seconds: float = 1.0  # request n waits this + 2**n s: 3, 5, 9 s by default

    def storage_options(self) -> dict[str, Any]:
        retry = {"retries": self.retries, "backoff_seconds": self.backoff_seconds}
        if self.connection_string:
            return {"connection_string": self.connection_string, **retry}
        if not self.account_name:
            raise ValueError("Azure storage needs AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT")
        if self.sas_token:
            return {"account_name": self.account_name, "sas_token": self.sas_token, **retry}
        if self.account_key:
            return {"account_name": self.account_name, "account_key": self.account_key, **retry}
        return {"account_name": self.account_name, "anon": False, **retry}


class StorageLocation(dg.ConfigurableResource):
    """A base URL on some storage: a folder, or `abfs://container/prefix` with an account."""

    url: str
    account: AzureStorageAccount | None = None

    def filesystem(self) -> tuple[AbstractFileSystem, str]:
        return open_filesystem(self.url, self.account.storage_options() if self.account else {})

    def display_url(self, relative: str = "") -> str:
        return f"{self.url.rstrip('/')}/{relative}" if relative else self.url

    def write(self, relative: str, data: bytes) -> str:
        with self.writing(relative) as local:
            local.write_bytes(data)
        return self.display_url(relative)

    @contextmanager
    def writing(self, relative: str) -> Iterator[Path]:
        """A local file to write `relative` into as a stream; published whole (see `writing`)."""
        fs, root = self.filesystem()
        with reaching(self.url), writing(fs, f"{root}/{relative}") as local:
            yield local

    @contextmanager
    def local_copy(self, relative: str) -> Iterator[Path]:
        """The object as a local file for the block: itself on a file system, else a download to
        local scratch, streamed to disk and removed after."""
        fs, root = self.filesystem()
        if isinstance(fs, LocalFileSystem):
            yield Path(f"{root}/{relative}")
            return
        with scratch_folder() as folder:
            local = folder / relative.rsplit("/", 1)[-1]
            with reaching(self.url):
                fs.get_file(f"{root}/{relative}", str(local))
            yield local

    def read_bytes(self, relative: str) -> bytes:
        fs, root = self.filesystem()
        with reaching(self.url):
            return bytes(fs.cat_file(f"{root}/{relative}"))

    def read_table(self, relative: str, columns: list[str] | None = None) -> pd.DataFrame:
        return pandas_table(pq.read_table(io.BytesIO(self.read_bytes(relative)), columns=columns))

    def row_count(self, relative: str) -> int:
        """Rows in a Parquet table, from its footer: no data is read or decoded."""
        fs, root = self.filesystem()
        with reaching(self.url), fs.open(f"{root}/{relative}", "rb") as handle:
            return pq.ParquetFile(handle).metadata.num_rows

    def read_table_sample(self, relative: str, columns: list[str] | None, rows: int) -> pd.DataFrame:
        """At most `rows` rows of a table, a fixed random sample (every row if it has fewer),
        read batch by batch from a local copy: the table is never whole in memory."""
        total = self.row_count(relative)
        if total <= rows:
            return self.read_table(relative, columns)
        chosen = np.sort(np.random.default_rng(0).choice(total, size=rows, replace=False))
        with self.local_copy(relative) as local:
            kept, offset = [], 0
            for batch in pq.ParquetFile(local).iter_batches(columns=columns):
                first, end = np.searchsorted(chosen, [offset, offset + batch.num_rows])
                kept.append(batch.take(pa.array(chosen[first:end] - offset)))
                offset += batch.num_rows
        return pandas_table(pa.Table.from_batches(kept))

    def read_frame(self, relative: str) -> pl.DataFrame:
        return pl.read_parquet(io.BytesIO(self.read_bytes(relative)))

    def partitions(self, asset: str) -> set[str]:
        """Which daily partitions of `asset` exist: one listing, not one probe per partition."""
        fs, root = self.filesystem()
        prefix = f"{PARTITION_FIELD}="
        with reaching(self.url):
            found = fs.glob(f"{root}/{asset}/{prefix}*/{PART_FILE}")
        return {path.rsplit("/", 2)[-2][len(prefix) :] for path in found}

    def present_partitions(self, asset: str, keys: list[str] | None = None) -> list[str]:
        """Which of the given partitions (all by default) exist."""
        existing = self.partitions(asset)
        return sorted(existing) if keys is None else [key for key in keys if key in existing]

    def read_partitions(
        self, asset: str, keys: list[str] | None = None, columns: list[str] | None = None
    ) -> tuple[pd.DataFrame, list[str]]:
        """The given partitions (all by default) that exist, concatenated, and which keys those were."""
        present = self.present_partitions(asset, keys)
        return self.read_existing(asset, present, columns), present

    def read_existing(self, asset: str, keys: list[str], columns: list[str] | None = None) -> pd.DataFrame:
        """Partitions known to exist, concatenated: no listing."""
        frames = [self.read_table(table_path(asset, key), columns) for key in keys]
        non_empty = [frame for frame in frames if len(frame)]
        if not non_empty:
            return frames[0] if frames else pd.DataFrame(columns=columns)
        return pd.concat(non_empty, ignore_index=True)

    def create(self) -> None:
        """Make the folder, or the container at the head of the URL; no-op if it exists."""
        fs, root = self.filesystem()
        if self.account is None:
            fs.makedirs(root, exist_ok=True)
            return
        container = root.split("/", 1)[0]
        with reaching(self.url):
            if not fs.exists(container):
                fs.mkdir(container)


class LandingZone(StorageLocation):
    """Where upstream systems drop their dumps, in one of the layouts of `core.landing.LAYOUTS`."""

    layout: str = "ymd"  # a name in LAYOUTS, or name:<pattern> (the date inside file names)
    # 0 lists the whole zone each tick; N lists only the months that cover the last N days
    # (YYYY/MM/DD/ layout), so a tick's cost stops growing with history (older files are not noticed).
    lookback_days: int = 0
    quiet_seconds: int = 0  # a day runs only once its newest file is at least this old

    def list_recent(self, today: date) -> list[LandedFile]:
        """Names, sizes and versions only: listing never reads a file's content."""
        layout = layout_named(self.layout)
        if not self.lookback_days:
            return self._list([""])
        since = today - timedelta(days=self.lookback_days)
        months = pd.period_range(since, today, freq="M").to_timestamp()
        prefixes = sorted({layout.month_prefix(month) for month in months}) if layout.month_prefix else [""]
        return [f for f in self._list(prefixes) if f.day is None or f.day >= since]

    def list_day(self, day: date) -> list[LandedFile]:
        """Every name the layout places on `day`: data, and skipped names with their reason."""
        prefix = layout_named(self.layout).day_prefix
        return [f for f in self._list([prefix(day) if prefix else ""]) if f.day == day]

    def _list(self, prefixes: list[str]) -> list[LandedFile]:
        fs, root = self.filesystem()
        layout = layout_named(self.layout)
        found: dict[str, dict[str, Any]] = {}
        with reaching(self.url):
            for prefix in prefixes:
                found.update(fs.find(f"{root}/{prefix}", detail=True))
        return sorted(
            (
                layout.place(
                    path[len(root) + 1 :],
                    size=int(info.get("size") or 0),
                    version=str(info.get("etag") or info.get("mtime") or info.get("last_modified")),
                    modified=_modified(info),
                )
                for path, info in found.items()
                if info.get("type", "file") == "file"
            ),
            key=lambda f: f.name,
        )


@dataclass(frozen=True)
class SpooledTable:
    """A table already written as Parquet to a local file, batch by batch (row groups), for the
    IO manager to publish as the partition: a day's table never has to be in memory."""

    path: Path


@contextmanager
def spooling(name: str) -> Iterator[Path]:
    """A scratch file to spool a table into, removed when the block ends (after its Output is
    handled: Dagster stores an output when it is yielded)."""
    with scratch_folder() as folder:
        yield folder / f"{name}.parquet"


class ParquetIOManager(dg.ConfigurableIOManager):
    """Tables as Parquet in a store, one file per daily partition in hive layout.

    `<base>/<asset>/date=YYYY-MM-DD/part.parquet` for partitioned assets and
    `<base>/<asset>/part.parquet` otherwise, so DuckDB, Spark and Power BI read them as they are.
    A `SpooledTable` output is published as it is, streamed; a frame is written whole. An input
    annotated `pl.LazyFrame` is scanned from disk (a download to local scratch on Blob storage),
    so a step can stream a day of any size.
    """

    store: StorageLocation
    _copies: ExitStack = PrivateAttr(default_factory=ExitStack)  # inputs downloaded to scratch

    def handle_output(
        self, context: dg.OutputContext, obj: pd.DataFrame | pl.DataFrame | SpooledTable
    ) -> None:
        partition = context.partition_key if context.has_partition_key else None
        relative = table_path("/".join(context.asset_key.path), partition)
        if isinstance(obj, SpooledTable):
            with self.store.writing(relative) as local:
                shutil.move(obj.path, local)  # a rename when scratch and the lake share a disk
                metadata = pq.read_metadata(local)
                rows, size = metadata.num_rows, local.stat().st_size
                types = [(field.name, str(field.type)) for field in metadata.schema.to_arrow_schema()]
        else:
            data = parquet_bytes(obj)
            with self.store.writing(relative) as local:
                local.write_bytes(data)
            rows, size = len(obj), len(data)
            types = [
                (str(c), str(t))
                for c, t in (obj.schema.items() if isinstance(obj, pl.DataFrame) else obj.dtypes.items())
            ]
        context.add_output_metadata(
            {
                "rows": dg.MetadataValue.int(rows),
                "bytes": dg.MetadataValue.int(size),
                "url": dg.MetadataValue.path(self.store.display_url(relative)),
                "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in types]),
            }
        )

    def load_input(self, context: dg.InputContext) -> pd.DataFrame | pl.DataFrame | pl.LazyFrame:
        """A pandas frame, or a polars one for an input annotated `pl.DataFrame`, or a scan for
        one annotated `pl.LazyFrame` (large days)."""
        asset = "/".join(context.asset_key.path)
        kind = context.dagster_type.typing_type
        if context.has_asset_partitions:
            wanted = sorted(context.asset_partition_keys)
            present = self.store.present_partitions(asset, wanted)
            if len(present) < len(wanted):
                context.log.info(
                    f"{asset}: {len(present)} of {len(wanted)} requested partitions exist; read those"
                )
            paths = [table_path(asset, key) for key in present]
        else:
            paths = [table_path(asset, None)]
        if kind is pl.LazyFrame:  # days whose columns differ line up as in the other kinds
            scans = [pl.scan_parquet(self._local(path)) for path in paths]
            return pl.concat(scans, how="diagonal_relaxed") if scans else pl.LazyFrame()
        if kind is pl.DataFrame:
            frames = [self.store.read_frame(path) for path in paths]
            return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
        if not context.has_asset_partitions:
            return self.store.read_table(paths[0])
        return self.store.read_existing(asset, present)

    def _local(self, relative: str) -> Path:
        """The partition as a local file until the run's teardown (see `local_copy`)."""
        return self._copies.enter_context(self.store.local_copy(relative))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._copies.close()


def _modified(info: dict[str, Any]) -> datetime | None:
    """Modification time from a listing: `mtime` on file systems, `last_modified` on Blob."""
    if isinstance(info.get("last_modified"), datetime):
        return info["last_modified"]
    if info.get("mtime") is not None:
        return datetime.fromtimestamp(float(info["mtime"]), UTC)
    return None


def table_path(asset: str, partition_key: str | None) -> str:
    if partition_key is None:
        return f"{asset}/{PART_FILE}"
    return f"{asset}/{PARTITION_FIELD}={partition_key}/{PART_FILE}"


def parquet_bytes(frame: pd.DataFrame | pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    if isinstance(frame, pl.DataFrame):
        frame.write_parquet(buffer, compression=LAKE_COMPRESSION)
    else:
        frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
