"""Reading what the pipeline wrote with pandas and fsspec, not through its own IO manager."""

import os

import fsspec
import pandas as pd

from e2e_ml.deployments import Settings


def storage_options(settings: Settings) -> dict[str, str]:
    if settings.deployment == "azurite":
        return {"connection_string": os.environ["AZURE_STORAGE_CONNECTION_STRING"]}
    return {}


def read_table(settings: Settings, role: str, relative: str) -> pd.DataFrame:
    url = f"{settings.url(role)}/{relative}"
    if url.endswith(".csv"):
        return pd.read_csv(url, storage_options=storage_options(settings) or None)
    return pd.read_parquet(url, storage_options=storage_options(settings) or None)


def read_partitions(settings: Settings, role: str, asset: str) -> dict[str, pd.DataFrame]:
    fs, root = fsspec.core.url_to_fs(f"{settings.url(role)}/{asset}", **storage_options(settings))
    days = sorted(
        path.split("/")[-2].removeprefix("date=") for path in fs.glob(f"{root}/date=*/part.parquet")
    )
    return {day: read_table(settings, role, f"{asset}/date={day}/part.parquet") for day in days}


def read_day(settings: Settings, asset: str, day: str, role: str = "lake") -> pd.DataFrame:
    return read_table(settings, role, f"{asset}/date={day}/part.parquet")
