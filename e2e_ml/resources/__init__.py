"""Dagster resources: storage (landing zone, IO managers), tracking (MLflow), the contract."""
