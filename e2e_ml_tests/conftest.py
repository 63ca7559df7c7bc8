import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from e2e_ml.azurite import Azurite
from e2e_ml.core.contract import Contract, load_contract
from e2e_ml.deployments import CLOUD_CONTAINERS, DEFAULT_CONTRACT, Settings

START = date(2026, 1, 5)


@pytest.fixture
def contract() -> Contract:
    return load_contract(DEFAULT_CONTRACT)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One real Azurite per test worker, on a free loopback port, stopped at the end."""
    with Azurite(tmp_path_factory.mktemp("azurite")) as emulator:
        yield emulator


def azurite_settings(home: Path, emulator: Azurite, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The azurite deployment with containers of its own, so tests sharing an emulator never meet."""
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", emulator.connection_string)
    suffix = uuid.uuid4().hex[:10]
    return Settings(
        deployment="azurite",
        home=home,
        urls={role: f"abfs://{role}-{suffix}" for role in CLOUD_CONTAINERS},
        credential_variables=("AZURE_STORAGE_CONNECTION_STRING",),
    )


def child_environment(**variables: str) -> dict[str, str]:
    """This process's environment for a child process, without MLFLOW_* variables: the
    developer's own tracking server (or one a library set) must not become the child's store.
    (MlflowTracking keeps os.environ as it was; test_tracking.py holds it to that.)"""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    return {**inherited, **variables}
