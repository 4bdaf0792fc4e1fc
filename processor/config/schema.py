"""Generic validation of TOML tables into frozen dataclasses, with one-line errors.

A config section is a frozen dataclass whose fields are declared with :func:`setting`, which
records the unit and the allowed range. :func:`build` walks the dataclass, rejects unknown keys,
wrong types and out-of-range values with a message naming the file, the dotted key and the
expected unit/range.
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin

from processor.errors import ConfigError

T = TypeVar("T")


def setting(
    default: Any,
    *,
    unit: str = "",
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    doc: str = "",
) -> Any:
    """Declare a config field with its unit and range (used as a dataclass field default)."""
    meta = {"unit": unit, "ge": ge, "le": le, "gt": gt, "lt": lt, "doc": doc}
    if dataclasses.is_dataclass(default) or isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: default, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _range_text(meta: Mapping[str, Any]) -> str:
    parts = []
    for key, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
        if meta.get(key) is not None:
            parts.append(f"{sym} {meta[key]:g}")
    text = " and ".join(parts)
    unit = meta.get("unit") or ""
    if unit:
        text = f"{text} {unit}".strip() if text else f"in {unit}"
    return text


def _toml_text(value: Any) -> str:
    """A value as it would be written in TOML (what the user typed, not Python's repr)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_text(v) for v in value) + "]"
    return str(value)


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return "a table of settings"
    if origin is Literal:
        return "one of " + ", ".join(_toml_text(a) for a in get_args(tp))
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"a list of {_type_name(get_args(tp)[0])}"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


class _MismatchError(Exception):
    """Internal: value does not fit the type."""


def _coerce(value: Any, tp: Any, meta: Mapping[str, Any], where: str, file: str) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise _MismatchError
        return build(typing.cast("type[Any]", tp), value, file=file, prefix=where)
    if origin is Literal:
        if value not in get_args(tp):
            raise _MismatchError
        return value
    if origin in (types.UnionType, typing.Union):
        for arg in get_args(tp):
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, meta, where, file)
            except _MismatchError:
                continue
        raise _MismatchError
    if origin is tuple:
        if not isinstance(value, list):
            raise _MismatchError
        item_tp = get_args(tp)[0]
        return tuple(_coerce(v, item_tp, meta, where, file) for v in value)
    if tp is bool:
        if not isinstance(value, bool):
            raise _MismatchError
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _MismatchError
        _check_range(float(value), meta, where, file, tp)
        return value
    if tp is float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise _MismatchError
        _check_range(float(value), meta, where, file, tp)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise _MismatchError
        return value
    raise _MismatchError


def _check_range(value: float, meta: Mapping[str, Any], where: str, file: str, tp: Any) -> None:
    checks: tuple[tuple[str, Callable[[float, float], bool]], ...] = (
        ("ge", operator.ge),
        ("le", operator.le),
        ("gt", operator.gt),
        ("lt", operator.lt),
    )
    for key, ok in checks:
        lim = meta.get(key)
        if lim is not None and not ok(value, lim):
            unit = f" {meta['unit']}" if meta.get("unit") else ""
            expected = f"{_type_name(tp)} {_range_text(meta)}"
            raise ConfigError(f"{file}: {where}: expected {expected}, got {value:g}{unit}")


def build(cls: type[T], data: Mapping[str, Any], *, file: str, prefix: str = "") -> T:
    """Build the frozen dataclass ``cls`` from a TOML table.

    Raises:
        ConfigError: unknown key, wrong type or out-of-range value (message names file and key).
    """
    if not dataclasses.is_dataclass(cls):  # pragma: no cover - programming error
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        known = ", ".join(sorted(fields)) or "(none)"
        raise ConfigError(f"{file}: unknown key {where!r} (known keys here: {known})")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        fld = fields[name]
        where = f"{prefix}.{name}" if prefix else name
        tp = hints[name]
        try:
            kwargs[name] = _coerce(value, tp, fld.metadata, where, file)
        except _MismatchError:
            rng = _range_text(fld.metadata)
            expected = f"{_type_name(tp)} {rng}".strip()
            got = _toml_text(value)
            raise ConfigError(f"{file}: {where}: expected {expected}, got {got}") from None
    try:
        return typing.cast("T", cls(**kwargs))
    except (ValueError, TypeError) as exc:  # cross-field checks in __post_init__
        raise ConfigError(f"{file}: {prefix or 'config'}: {exc}") from None


def describe(cls: type[Any], prefix: str = "") -> list[tuple[str, Any, str, str]]:
    """Flatten a config dataclass to (dotted key, default, unit/range, doc) rows (for docs/TOML)."""
    rows: list[tuple[str, Any, str, str]] = []
    hints = typing.get_type_hints(cls)
    for fld in dataclasses.fields(cls):
        key = f"{prefix}.{fld.name}" if prefix else fld.name
        tp = hints[fld.name]
        default = (
            fld.default_factory()
            if fld.default is dataclasses.MISSING and fld.default_factory is not dataclasses.MISSING
            else fld.default
        )
        if dataclasses.is_dataclass(tp):
            rows.extend(describe(typing.cast("type[Any]", tp), key))
        else:
            rows.append((key, default, _range_text(fld.metadata), fld.metadata.get("doc", "")))
    return rows
