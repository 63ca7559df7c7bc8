"""MLflow: one run per trained partition, a registered version per model, a `champion` alias.

`daily_predictions` loads `models:/<name>@champion`, so whoever moves the alias (a promotion, or
a person rolling back in the MLflow UI) decides what scores tomorrow's data.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.metadata import version
from typing import Any

import dagster as dg
import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

CHAMPION = "champion"
PINNED = "champion_pinned"
TRAINED_FOR = "trained_for"  # version tag: the day a version was trained to score (from days before it)
PROMOTED = "promoted"
DIAGNOSTICS = "diagnostics"  # run artifacts: tables that say where a model is weak
MLFLOW_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
# skops refuses to load types it does not know. Ours: the gradient-boosting predictor, and what
# the model keeps for its native categories (a partial of sklearn's check_array; skops audits
# the function a partial wraps on its own, so trusting `partial` admits nothing else) and dtypes.
TRUSTED_TYPES = [
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "functools.partial",
    "sklearn.utils.validation.check_array",
    "numpy.dtype",
]


@dataclass(frozen=True)
class LoggedModel:
    run_id: str
    version: str
    run_url: str


class MlflowTracking(dg.ConfigurableResource):
    """An MLflow tracking server and model registry, addressed by URI."""

    tracking_uri: str
    experiment_name: str = "e2e-ml"
    artifact_location: str | None = None
    ui_url: str = "http://127.0.0.1:5000"  # where people open the MLflow UI, for links in metadata

    def _activate(self) -> str:
        # MLflow's URI setters also write MLFLOW_TRACKING_URI and MLFLOW_REGISTRY_URI into
        # os.environ, for its subprocesses. Ours (a step process, a test's daemon) and
        # `Settings.from_env` would read them as configuration, so they stay as they were; in this
        # process MLflow's own global holds the URI and takes precedence.
        with _environment_unchanged(*MLFLOW_URI_VARIABLES):
            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_registry_uri(self.tracking_uri)
        experiment = mlflow.get_experiment_by_name(self.experiment_name)
        if experiment is not None:
            return experiment.experiment_id
        return mlflow.create_experiment(self.experiment_name, self.artifact_location)

    def client(self) -> MlflowClient:
        self._activate()
        return MlflowClient(self.tracking_uri, self.tracking_uri)

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"

    def log_model(
        self,
        *,
        model: Any,
        model_name: str,
        input_example: pd.DataFrame,
        params: dict[str, Any],
        metrics: dict[str, float],
        tags: dict[str, str],
        run_name: str,
        version_tags: dict[str, str] | None = None,
        tables: dict[str, pd.DataFrame] | None = None,
    ) -> LoggedModel:
        """Log a fitted model with its evidence and register it as a new version, tagged at birth.

        Registered through the client rather than `log_model(registered_model_name=...)`, which
        prints its progress to stderr between the pipeline's own lines."""
        experiment_id = self._activate()
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
            mlflow.log_params(params)
            mlflow.log_metrics({k: v for k, v in metrics.items() if v == v})
            for name, table in (tables or {}).items():
                mlflow.log_text(table.to_json(orient="records"), f"{DIAGNOSTICS}/{name}.json")
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=infer_signature(input_example, model.predict(input_example)),
                input_example=input_example,
                pip_requirements=_pip_requirements(),
                skops_trusted_types=TRUSTED_TYPES,
            )
        client = self.client()
        try:
            client.create_registered_model(model_name)
        except MlflowException as error:
            if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                raise
        version = client.create_model_version(
            model_name, info.model_uri, run_id=run.info.run_id, tags=version_tags, model_id=info.model_id
        )
        return LoggedModel(
            run_id=run.info.run_id,
            version=str(version.version),
            run_url=self.run_url(experiment_id, run.info.run_id),
        )

    def champion(self, model_name: str) -> ModelVersion | None:
        try:
            return self.client().get_model_version_by_alias(model_name, CHAMPION)
        except MlflowException as error:
            if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise

    def trained_for(self, version: ModelVersion) -> str | None:
        """The partition (day) a registered version was trained for: its tag, else its run's."""
        if version.tags.get(TRAINED_FOR):
            return version.tags[TRAINED_FOR]
        if not version.run_id:
            return None
        return self.client().get_run(version.run_id).data.tags.get("dagster/partition")

    def training_days(self, version: ModelVersion) -> list[str]:
        """The days whose rows the version learned from (its run's window), oldest first."""
        params = self.client().get_run(version.run_id).data.params if version.run_id else {}
        if not params.get("window_start") or not params.get("window_end"):
            return []
        first, last = date.fromisoformat(params["window_start"]), date.fromisoformat(params["window_end"])
        return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]

    def champion_for(self, model_name: str, day: str) -> ModelVersion | None:
        """The model that could have scored `day`, also when `day` is re-processed later.

        Days on or after the day the `champion` alias holder was trained for are scored by it,
        so a pin or a rollback applies to them. An earlier day is scored by what was champion
        then: the latest promoted version trained for a day no later than it. Every candidate
        learned only from days before the day it was trained for, so never from `day` itself.
        """
        champion = self.champion(model_name)
        if champion is not None and (self.trained_for(champion) or "9999") <= day:
            return champion
        try:
            versions = self.client().search_model_versions(f"name = '{model_name}'")
        except MlflowException:
            return None
        earlier = [
            v for v in versions if v.tags.get(PROMOTED) == "true" and v.tags.get(TRAINED_FOR, "9999") <= day
        ]
        return max(earlier, key=lambda v: (v.tags[TRAINED_FOR], int(v.version)), default=None)

    def promote(self, model_name: str, model_version: str) -> None:
        self.client().set_registered_model_alias(model_name, CHAMPION, model_version)

    def is_pinned(self, model_name: str) -> bool:
        """A person pinned the champion (registered-model tag): no automatic promotion."""
        try:
            model = self.client().get_registered_model(model_name)
        except MlflowException:
            return False
        return model.tags.get(PINNED) == "true"

    def pin(self, model_name: str, model_version: str | None) -> None:
        """Pin `model_version` as champion, or unpin with None; what `e2e-ml model` does."""
        client = self.client()
        if model_version is None:
            client.delete_registered_model_tag(model_name, PINNED)
            return
        client.set_registered_model_alias(model_name, CHAMPION, model_version)
        client.set_registered_model_tag(model_name, PINNED, "true")

    def tag_version(self, model_name: str, model_version: str, tags: dict[str, str]) -> None:
        client = self.client()
        for key, value in tags.items():
            client.set_model_version_tag(model_name, model_version, key, value)

    def load(self, model_name: str, model_version: str) -> Any:
        self._activate()
        with _no_progress_bars():
            return mlflow.sklearn.load_model(f"models:/{model_name}/{model_version}")

    def champion_table(self, model_name: str, name: str) -> pd.DataFrame:
        """A diagnostics table the champion's run logged, with its version; empty if none."""
        champion = self.champion(model_name)
        if champion is None or not champion.run_id:
            return pd.DataFrame()
        self._activate()
        try:
            with _no_progress_bars():
                text = mlflow.artifacts.load_text(f"runs:/{champion.run_id}/{DIAGNOSTICS}/{name}.json")
        except (MlflowException, OSError):
            return pd.DataFrame()  # trained before diagnostics were logged
        table = pd.read_json(io.StringIO(text), orient="records", dtype=False)
        return table.assign(model_name=model_name, model_version=str(champion.version))

    def version_metrics(self, model_name: str, versions: Iterable[str]) -> dict[str, dict[str, float]]:
        """The metrics each version's run logged when it was trained (holdout, baselines)."""
        client, metrics = self.client(), {}
        for number in sorted(set(versions)):
            run_id = client.get_model_version(model_name, number).run_id
            metrics[number] = dict(client.get_run(run_id).data.metrics) if run_id else {}
        return metrics

    def versions(self, model_name: str) -> pd.DataFrame:
        """Every registered version with its run's metrics and tags, for the report."""
        client = self.client()
        try:
            versions = client.search_model_versions(f"name = '{model_name}'")
        except MlflowException:
            return pd.DataFrame()
        champion = self.champion(model_name)
        rows = []
        for v in versions:
            run = client.get_run(v.run_id) if v.run_id else None
            rows.append(
                {
                    "model_name": model_name,
                    "model_version": str(v.version),
                    "run_id": v.run_id,
                    "created_at": pd.Timestamp(v.creation_timestamp, unit="ms"),
                    "partition": run.data.tags.get("dagster/partition") if run else None,
                    "promoted": v.tags.get(PROMOTED) == "true",
                    "is_champion": champion is not None and champion.version == v.version,
                    **{f"metric_{k}": val for k, val in (run.data.metrics.items() if run else [])},
                }
            )
        return pd.DataFrame(rows).sort_values("created_at", ignore_index=True) if rows else pd.DataFrame()


@contextmanager
def _environment_unchanged(*names: str) -> Iterator[None]:
    """These environment variables as they were before the block, whatever happened inside."""
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """MLflow draws a download progress bar per artifact on stderr, between the pipeline's lines."""
    with _environment_unchanged(PROGRESS_BAR):
        os.environ[PROGRESS_BAR] = "false"
        yield


def _pip_requirements() -> list[str]:
    """Pinned from this environment: skips MLflow's slow requirement inference (~3 s a run)."""
    return [
        f"{package}=={version(package)}" for package in ("mlflow", "scikit-learn", "pandas", "numpy", "skops")
    ]
