from datetime import date
from pathlib import Path

import pytest

from e2e_ml.core.contract import Contract, load_contract
from e2e_ml.deployments import DEFAULT_CONTRACT, Settings

START = date(2026, 1, 5)


@pytest.fixture
def contract() -> Contract:
    return load_contract(DEFAULT_CONTRACT)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")
