"""Render a config dataclass as commented TOML (``configs/default.toml`` is this output).

Regenerate after changing a section: ``python -m processor.config.render > configs/default.toml``.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from typing import Any


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot render {value!r} as TOML")


def _render(cls: type[Any], instance: Any, prefix: str, out: list[str]) -> None:
    from processor.config.schema import _range_text  # noqa: PLC0415 - private helper, same package

    hints = typing.get_type_hints(cls)
    leaves = [f for f in dataclasses.fields(cls) if not dataclasses.is_dataclass(hints[f.name])]
    nested = [f for f in dataclasses.fields(cls) if dataclasses.is_dataclass(hints[f.name])]
    if prefix and leaves:
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        out.append("")
        if doc:
            out.append(f"# {doc}")
        out.append(f"[{prefix}]")
    for fld in leaves:
        note = ", ".join(x for x in (fld.metadata.get("doc", ""), _range_text(fld.metadata)) if x)
        line = f"{fld.name} = {_toml_value(getattr(instance, fld.name))}"
        out.append(f"{line:<40} # {note}" if note else line)
    for fld in nested:
        key = f"{prefix}.{fld.name}" if prefix else fld.name
        _render(typing.cast("type[Any]", hints[fld.name]), getattr(instance, fld.name), key, out)


def render_values(cls: type[Any], instance: Any, header: str) -> str:
    """The values of ``instance`` (a ``cls``) as TOML text under a comment header."""
    out = [header]
    _render(cls, instance, "", out)
    return "\n".join(out) + "\n"


def render_toml(cls: type[Any]) -> str:
    """The defaults of ``cls`` as TOML text, one commented line per key."""
    return render_values(
        cls,
        cls(),
        "# twitchwatch configuration: every key with its default, unit and range.\n"
        "# Copy this file, keep the keys you change, and pass it with --config FILE.",
    )


def main() -> None:
    """Print the default configuration as TOML."""
    from processor.config import AppConfig  # noqa: PLC0415 - avoids an import cycle at module load

    sys.stdout.write(render_toml(AppConfig))


if __name__ == "__main__":
    main()
