"""The data contract as a resource, so a deployment (or a test) can point at another dataset."""

from __future__ import annotations

from functools import cache

import dagster as dg

from e2e_ml.core.contract import Contract, load_contract


@cache
def _load(path: str) -> Contract:
    return load_contract(path)


class DataContract(dg.ConfigurableResource):
    path: str

    def load(self) -> Contract:
        return _load(self.path)

    @property
    def model_name(self) -> str:
        return f"e2e-ml-{self.load().name}"
