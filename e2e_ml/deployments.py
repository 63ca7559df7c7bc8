"""Resources per deployment, read from the environment; one variable picks the deployment.

| E2E_ML_DEPLOYMENT | landing zone, lake, outputs                    | MLflow                       |
|-------------------|------------------------------------------------|------------------------------|
| local (default)   | folders under E2E_ML_HOME                      | SQLite under E2E_ML_HOME     |
| azurite           | containers on an Azurite emulator (Blob API)   | SQLite under E2E_ML_HOME     |
| azure             | Blob containers; the lake on ADLS Gen2         | MLFLOW_TRACKING_URI          |

Secrets are passed as `dg.EnvVar`, so the UI and run metadata show the variable's name only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from e2e_ml.core.landing import layout_named
from e2e_ml.resources.contract import DataContract
from e2e_ml.resources.monitoring import MonitoringPolicy
from e2e_ml.resources.notify import AzureDevOpsChannel, EmailChannel, Notifier, WebhookChannel
from e2e_ml.resources.storage import AzureStorageAccount, LandingZone, ParquetIOManager, StorageLocation
from e2e_ml.resources.tracking import MlflowTracking
from e2e_ml.resources.training import AzureMLTrainer, SubprocessTrainer, Trainer

DEFAULT_CONTRACT = Path(__file__).resolve().parent.parent / "contracts" / "game_telemetry.yaml"
DEPLOYMENTS = ("local", "azurite", "azure")
# Where upstream systems drop data, and (later) the outcomes that label it; the lake; the outputs.
CLOUD_CONTAINERS = {
    "landing": "abfs://landing",
    "outcomes": "abfs://outcomes",
    "lake": "abfs://lake",
    "outputs": "abfs://outputs",
}
TRAINING_PLACES = ("in_process", "subprocess", "azureml")
AZUREML_VARIABLES = {
    "subscription_id": "AZUREML_SUBSCRIPTION_ID",
    "resource_group": "AZUREML_RESOURCE_GROUP",
    "workspace": "AZUREML_WORKSPACE",
    "compute": "AZUREML_COMPUTE",
    "job_environment": "AZUREML_ENVIRONMENT",
    "pipes_account_url": "E2E_ML_PIPES_ACCOUNT_URL",
    "pipes_container": "E2E_ML_PIPES_CONTAINER",
    "poll_interval_seconds": "AZUREML_POLL_SECONDS",
}
CREDENTIAL_VARIABLES = ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_KEY")


@dataclass(frozen=True)
class Settings:
    deployment: str = "local"
    home: Path = Path(".e2e-ml")
    contract: Path = DEFAULT_CONTRACT
    start_date: date = date(2026, 1, 1)
    training_window_days: int = 14
    sensor_interval_seconds: int = 3600
    sensor_lookback_days: int = 0
    landing_layout: str = "ymd"  # see core.landing.LAYOUTS; name:<pattern> for a date in file names
    quiet_seconds: int = 0  # a day runs only once its newest file is at least this old
    mlflow_tracking_uri: str | None = None
    mlflow_ui_url: str = "http://127.0.0.1:5000"
    urls: dict[str, str] = field(default_factory=dict)  # overrides of landing, outcomes, lake, outputs
    azure_account: str | None = None
    lake_account: str | None = None  # the ADLS Gen2 account, if not the Blob one
    credential_variables: tuple[str, ...] = ()  # which AZURE_STORAGE_* secrets are set
    alert_log_file: Path | None = None  # E2E_ML_ALERT_LOG; by default <home>/alerts.jsonl off Azure
    storage_retries: int = 3  # per storage request, by the Azure SDK
    storage_backoff_seconds: float = 1.0
    step_retries: int = 3  # per failed step, by Dagster, for faults that outlast the SDK's retries
    step_retry_delay_seconds: float = 10.0
    training: str = "in_process"  # in_process, subprocess or azureml: where trained_model's work runs
    azureml: dict[str, str] = field(default_factory=dict)  # the Azure ML workspace, compute, environment

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        deployment = env.get("E2E_ML_DEPLOYMENT", "local")
        if deployment not in DEPLOYMENTS:
            raise ValueError(f"E2E_ML_DEPLOYMENT={deployment!r}: expected one of {DEPLOYMENTS}")
        settings = cls(
            deployment=deployment,
            home=Path(env.get("E2E_ML_HOME", ".e2e-ml")).resolve(),
            contract=Path(env.get("E2E_ML_CONTRACT", str(DEFAULT_CONTRACT))).resolve(),
            start_date=date.fromisoformat(env.get("E2E_ML_START_DATE", "2026-01-01")),
            training_window_days=_positive(env, "E2E_ML_TRAINING_WINDOW_DAYS", 14),
            sensor_interval_seconds=_positive(env, "E2E_ML_SENSOR_INTERVAL_SECONDS", 3600),
            sensor_lookback_days=int(env.get("E2E_ML_SENSOR_LOOKBACK_DAYS", "0")),
            landing_layout=env.get("E2E_ML_LANDING_LAYOUT", "ymd"),
            quiet_seconds=int(env.get("E2E_ML_QUIET_SECONDS", "0")),
            mlflow_tracking_uri=env.get("MLFLOW_TRACKING_URI"),
            mlflow_ui_url=env.get("E2E_ML_MLFLOW_UI_URL", "http://127.0.0.1:5000"),
            urls={
                role: env[f"E2E_ML_{role.upper()}_URL"]
                for role in CLOUD_CONTAINERS
                if env.get(f"E2E_ML_{role.upper()}_URL")
            },
            azure_account=env.get("AZURE_STORAGE_ACCOUNT"),
            lake_account=env.get("E2E_ML_LAKE_ACCOUNT"),
            credential_variables=tuple(v for v in CREDENTIAL_VARIABLES if env.get(v)),
            alert_log_file=Path(env["E2E_ML_ALERT_LOG"]).resolve() if env.get("E2E_ML_ALERT_LOG") else None,
            storage_retries=int(env.get("E2E_ML_STORAGE_RETRIES", "3")),
            storage_backoff_seconds=float(env.get("E2E_ML_STORAGE_BACKOFF_SECONDS", "1")),
            step_retries=int(env.get("E2E_ML_STEP_RETRIES", "3")),
            step_retry_delay_seconds=float(env.get("E2E_ML_STEP_RETRY_DELAY_SECONDS", "10")),
            training=env.get("E2E_ML_TRAINING", "subprocess"),
            azureml={name: env[var] for name, var in AZUREML_VARIABLES.items() if env.get(var)},
        )
        settings.validate()
        return settings

    def environment(self) -> dict[str, str]:
        """These settings as the variables `from_env` reads: how an external process (a training
        subprocess, an Azure ML job) is told the deployment. Secrets are never among them."""
        variables = {
            "E2E_ML_DEPLOYMENT": self.deployment,
            "E2E_ML_HOME": str(self.home),
            "E2E_ML_CONTRACT": str(self.contract),
            "E2E_ML_START_DATE": self.start_date.isoformat(),
            "E2E_ML_TRAINING_WINDOW_DAYS": str(self.training_window_days),
            "E2E_ML_STORAGE_RETRIES": str(self.storage_retries),
            "E2E_ML_STORAGE_BACKOFF_SECONDS": str(self.storage_backoff_seconds),
            **{f"E2E_ML_{role.upper()}_URL": url for role, url in self.urls.items()},
        }
        if self.mlflow_tracking_uri:  # else the child derives the same SQLite store from its home
            variables["MLFLOW_TRACKING_URI"] = self.mlflow_tracking_uri
        if self.azure_account:
            variables["AZURE_STORAGE_ACCOUNT"] = self.azure_account
        if self.lake_account:
            variables["E2E_ML_LAKE_ACCOUNT"] = self.lake_account
        return variables

    def validate(self) -> None:
        layout_named(self.landing_layout)  # an unknown layout fails at load, naming the choices
        if self.training not in TRAINING_PLACES:
            raise ValueError(f"E2E_ML_TRAINING={self.training!r}: expected one of {TRAINING_PLACES}")
        optional = {"pipes_container", "poll_interval_seconds"} | (
            {"pipes_account_url"} if "AZURE_STORAGE_CONNECTION_STRING" in self.credential_variables else set()
        )
        missing = sorted(set(AZUREML_VARIABLES) - optional - set(self.azureml))
        if self.training == "azureml" and missing:
            raise ValueError(
                "E2E_ML_TRAINING=azureml needs " + ", ".join(AZUREML_VARIABLES[name] for name in missing)
            )
        if (
            self.deployment == "azurite"
            and "AZURE_STORAGE_CONNECTION_STRING" not in self.credential_variables
        ):
            raise ValueError(
                "E2E_ML_DEPLOYMENT=azurite needs AZURE_STORAGE_CONNECTION_STRING (see `e2e-ml azurite`)"
            )
        if self.deployment == "azure" and not (
            self.azure_account or "AZURE_STORAGE_CONNECTION_STRING" in self.credential_variables
        ):
            raise ValueError("E2E_ML_DEPLOYMENT=azure needs AZURE_STORAGE_ACCOUNT (or a connection string)")

    def url(self, role: str) -> str:
        if role in self.urls:
            return self.urls[role]
        if self.deployment == "local":
            return str(self.home / role)
        return CLOUD_CONTAINERS[role]

    @property
    def landing_url(self) -> str:
        return self.url("landing")

    @property
    def outcomes_url(self) -> str:
        return self.url("outcomes")

    @property
    def lake_url(self) -> str:
        return self.url("lake")

    @property
    def outputs_url(self) -> str:
        return self.url("outputs")

    @property
    def alert_log(self) -> Path | None:
        """Where the notifier also writes every alert: the local and azurite deployments' inbox."""
        if self.alert_log_file is not None:
            return self.alert_log_file
        return None if self.deployment == "azure" else self.home / "alerts.jsonl"

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.home / 'mlflow' / 'mlflow.db'}"

    def account(self, role: str) -> AzureStorageAccount | None:
        """Credentials for a role's storage: secrets by reference, resolved when a run starts."""
        if self.deployment == "local" and not self.urls.get(role, "").startswith("abfs://"):
            return None
        secrets = {
            "connection_string": "AZURE_STORAGE_CONNECTION_STRING",
            "sas_token": "AZURE_STORAGE_SAS_TOKEN",
            "account_key": "AZURE_STORAGE_KEY",
        }
        return AzureStorageAccount(
            account_name=(self.lake_account if role == "lake" and self.lake_account else self.azure_account),
            retries=self.storage_retries,
            backoff_seconds=self.storage_backoff_seconds,
            **{field: dg.EnvVar(var) for field, var in secrets.items() if var in self.credential_variables},
        )


def _positive(env: dict[str, str], name: str, default: int) -> int:
    value = int(env.get(name, default))
    if value <= 0:
        raise ValueError(f"{name}={value}: must be a positive number")
    return value


def resources_for(settings: Settings) -> dict[str, Any]:
    lake = StorageLocation(url=settings.lake_url, account=settings.account("lake"))
    outputs = StorageLocation(url=settings.outputs_url, account=settings.account("outputs"))
    zones = {
        f"{role}_zone": LandingZone(
            url=settings.url(role),
            account=settings.account(role),
            lookback_days=settings.sensor_lookback_days,
            layout=settings.landing_layout,
            quiet_seconds=settings.quiet_seconds,
        )
        for role in ("landing", "outcomes")
    }
    tracking = MlflowTracking(
        tracking_uri=settings.tracking_uri,
        ui_url=settings.mlflow_ui_url,
        artifact_location=None
        if settings.mlflow_tracking_uri
        else (settings.home / "mlflow" / "artifacts").as_uri(),
    )
    contract = DataContract(path=str(settings.contract))
    return {
        **zones,
        "lake": lake,
        "outputs": outputs,
        "lake_io_manager": ParquetIOManager(store=lake),
        "outputs_io_manager": ParquetIOManager(store=outputs),
        "mlflow": tracking,
        "contract": contract,
        "trainer": trainer_for(settings, lake, tracking, contract),
        "monitoring": MonitoringPolicy(
            max_silence_hours=float(os.environ.get("E2E_ML_MAX_SILENCE_HOURS", 13)),
            run_budget_seconds=int(os.environ.get("E2E_ML_RUN_BUDGET_SECONDS", 1800)),
            alert_on_warn=os.environ.get("E2E_ML_ALERT_ON_WARN", "true").lower() == "true",
            alert_update_hours=float(os.environ.get("E2E_ML_ALERT_UPDATE_HOURS", 24)),
            dagster_url=os.environ.get("E2E_ML_DAGSTER_URL", "http://127.0.0.1:3000"),
        ),
        "notifier": notifier_from_env(settings),
    }


def trainer_for(
    settings: Settings, lake: StorageLocation, tracking: MlflowTracking, contract: DataContract
) -> Trainer:
    """Where trained_model's work runs, by E2E_ML_TRAINING (see resources/training.py)."""
    if settings.training == "subprocess":
        return SubprocessTrainer(
            lake=lake, mlflow=tracking, contract=contract, environment=settings.environment()
        )
    if settings.training == "azureml":
        connection = "AZURE_STORAGE_CONNECTION_STRING" in settings.credential_variables
        workspace = settings.azureml
        return AzureMLTrainer(
            lake=lake,
            mlflow=tracking,
            contract=contract,
            environment=settings.environment(),
            pipes_connection_string=dg.EnvVar("AZURE_STORAGE_CONNECTION_STRING") if connection else None,
            pipes_account_url=workspace.get("pipes_account_url"),
            pipes_container=workspace.get("pipes_container", "pipes"),
            subscription_id=workspace.get("subscription_id", ""),
            resource_group=workspace.get("resource_group", ""),
            workspace=workspace.get("workspace", ""),
            compute=workspace.get("compute", ""),
            job_environment=workspace.get("job_environment", ""),
            poll_interval_seconds=float(workspace.get("poll_interval_seconds", 10)),
        )
    return Trainer(lake=lake, mlflow=tracking, contract=contract)


def notifier_from_env(settings: Settings) -> Notifier:
    """Channels are on when their variables are set; secrets stay references to variables."""
    env = os.environ
    email = None
    if env.get("E2E_ML_SMTP_HOST"):
        email = EmailChannel(
            host=env["E2E_ML_SMTP_HOST"],
            port=int(env.get("E2E_ML_SMTP_PORT", 587)),
            sender=env.get("E2E_ML_SMTP_SENDER", "e2e-ml@localhost"),
            recipients=[r.strip() for r in env.get("E2E_ML_SMTP_RECIPIENTS", "").split(",") if r.strip()],
            username=env.get("E2E_ML_SMTP_USERNAME"),
            password=dg.EnvVar("E2E_ML_SMTP_PASSWORD") if env.get("E2E_ML_SMTP_PASSWORD") else None,
            starttls=env.get("E2E_ML_SMTP_STARTTLS", "true").lower() == "true",
            ca_file=env.get("E2E_ML_SMTP_CA_FILE"),
        )
    webhook = None
    if env.get("E2E_ML_WEBHOOK_URL"):
        flavor = env.get("E2E_ML_WEBHOOK_FLAVOR", "teams")
        if flavor not in ("teams", "slack"):
            raise ValueError(f"E2E_ML_WEBHOOK_FLAVOR={flavor!r}: expected teams or slack")
        webhook = WebhookChannel(url=dg.EnvVar("E2E_ML_WEBHOOK_URL"), flavor=flavor)  # type: ignore[arg-type]
    devops = None
    if env.get("E2E_ML_DEVOPS_ORG_URL"):
        devops = AzureDevOpsChannel(
            organization_url=env["E2E_ML_DEVOPS_ORG_URL"],
            project=env.get("E2E_ML_DEVOPS_PROJECT", ""),
            personal_access_token=dg.EnvVar("E2E_ML_DEVOPS_PAT"),
            work_item_type=env.get("E2E_ML_DEVOPS_WORK_ITEM_TYPE", "Bug"),
            area_path=env.get("E2E_ML_DEVOPS_AREA_PATH"),
        )
    return Notifier(
        alert_log=str(settings.alert_log) if settings.alert_log else None,
        email=email,
        webhook=webhook,
        devops=devops,
    )


def provision(settings: Settings) -> None:
    """Create what the deployment writes into: local folders, or the containers."""
    if settings.mlflow_tracking_uri is None:
        (settings.home / "mlflow").mkdir(parents=True, exist_ok=True)
    with dg.build_resources(
        {
            role: StorageLocation(url=settings.url(role), account=settings.account(role))
            for role in CLOUD_CONTAINERS
        }
    ) as stores:
        for role in CLOUD_CONTAINERS:
            getattr(stores, role).create()


def step_retry_policy(settings: Settings) -> dg.RetryPolicy | None:
    """Exponential backoff with jitter, so steps failed by one outage do not retry in lockstep."""
    if settings.step_retries <= 0:
        return None
    return dg.RetryPolicy(
        max_retries=settings.step_retries,
        delay=settings.step_retry_delay_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )


def executor_for(settings: Settings) -> dg.ExecutorDefinition:
    """In-process: a process per step costs ~4 s a step on 2 cores (bench/orchestration). Only
    Azure with training in the run's own process keeps a process per step, so that a training
    that dies cannot take the run down; training elsewhere (a subprocess, an Azure ML job)
    already isolates the heavy step (bench/pipes_training)."""
    isolated = settings.deployment == "azure" and settings.training == "in_process"
    return dg.multiprocess_executor if isolated else dg.in_process_executor
