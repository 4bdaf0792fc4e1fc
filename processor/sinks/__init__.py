"""Sinks: where events go (console, event log, local history, MQTT)."""
