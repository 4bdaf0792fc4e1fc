"""Context-manager support shared by the recording readers and the writer."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class ClosesOnExit:
    """Mixin: ``with obj:`` returns ``obj`` and calls its ``close()`` on the way out."""

    def close(self) -> None:
        """Release what the object holds (idempotent); subclasses implement it."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
