"""Seeded synthetic game telemetry with injectable anomalies."""
