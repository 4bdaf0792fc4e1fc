"""The project's own error types; third-party exceptions are translated into these at adapters."""

from __future__ import annotations


class ProcessorError(Exception):
    """Root of every error raised by the processor package."""


class InputError(ProcessorError):
    """Bad user input (a file, a key, a value): shown as one line, exit code 2, no traceback.

    The message must name the file (or option) and say what was expected.
    """


class ConfigError(InputError):
    """A config file is unreadable, has an unknown key, a wrong type or an out-of-range value."""


class RecordingError(InputError):
    """A recording cannot be read: missing, unknown format, bad header, bad values."""


class DeviceError(ProcessorError):
    """A wearable misbehaved: not found, missing characteristic, no answer to the handshake."""


class SinkError(ProcessorError):
    """An output (MQTT broker, event log, history database) failed."""
