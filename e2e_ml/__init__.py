"""e2e-ml: an end-to-end machine-learning workflow as a Dagster asset graph."""
