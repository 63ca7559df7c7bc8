"""The asset graph, one module per stage: ingest, prepare, train, predict, report."""
