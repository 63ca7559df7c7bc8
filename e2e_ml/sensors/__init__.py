"""Sensors: the landing-zone trigger and, later, the alert sensors."""
