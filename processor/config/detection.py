"""Detection pipeline settings (section ``[detection]``). Owned by the pipeline; units in names."""

from __future__ import annotations

from dataclasses import dataclass

from processor.config.schema import setting


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """Placeholder until the pipeline lands: the pipeline issue replaces these fields."""

    spasm_confirm_ms: float = setting(
        3000.0, unit="ms", ge=500, le=60000, doc="spasm confirmed after"
    )
