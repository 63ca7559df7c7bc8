"""Pure logic of the pipeline: no Dagster imports, so it is tested and benchmarked directly."""
