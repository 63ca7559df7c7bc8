"""Asset checks, one module per concern: freshness, volume, contract, drift, quality."""
