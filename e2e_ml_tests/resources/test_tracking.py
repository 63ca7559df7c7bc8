import os

import mlflow
import pandas as pd
from sklearn.linear_model import LogisticRegression

from e2e_ml.resources.tracking import MLFLOW_URI_VARIABLES, MlflowTracking


def test_logging_a_model_leaves_the_environment_as_it_was(tmp_path, monkeypatch):
    for name in MLFLOW_URI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "sqlite:///somewhere-else.db")  # a user's own setting
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking = MlflowTracking(tracking_uri=uri, artifact_location=(tmp_path / "artifacts").as_uri())
    rows = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(rows, [0, 0, 1, 1])

    logged = tracking.log_model(
        model=model,
        model_name="m",
        input_example=rows,
        params={},
        metrics={},
        tags={},
        run_name="r",
    )

    assert "MLFLOW_TRACKING_URI" not in os.environ, "a child process would inherit it as configuration"
    assert os.environ["MLFLOW_REGISTRY_URI"] == "sqlite:///somewhere-else.db"
    assert mlflow.get_tracking_uri() == uri, "in this process MLflow still uses the resource's store"
    assert tracking.load("m", logged.version).predict(rows).tolist() == [0, 0, 1, 1]
