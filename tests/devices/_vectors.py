"""Loading the byte-exact vector files in tests/devices/vectors/ (one TOML file per profile)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).parent / "vectors"


@dataclass(frozen=True)
class Vector:
    profile: str
    stream: str
    payload: bytes
    entry: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.profile}/{self.stream}/{self.payload[:6].hex()}"


def _load(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def vector_files() -> dict[str, Path]:
    return {_load(p)["meta"]["profile"]: p for p in sorted(VECTOR_DIR.glob("*.toml"))}


def vectors(kind: str) -> list[Vector]:
    out: list[Vector] = []
    for profile, path in vector_files().items():
        out.extend(
            Vector(profile, e["stream"], bytes.fromhex(e["hex"]), e) for e in _load(path)[kind]
        )
    return out
