"""The prediction server behind ``albert serve``: an ASGI app over the pipelines.

Names are imported on first use."""

from __future__ import annotations

from albert_model._lazy import lazy_exports

_SOURCES: dict[str, str] = {}
__all__: list[str] = []
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
