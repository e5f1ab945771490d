"""Integrations with other frameworks: :class:`PredictBatch`, a pipeline as a Ray Data callable.

Names are imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from albert_model._lazy import lazy_exports

if TYPE_CHECKING:
    from albert_model.integrations._ray import PredictBatch as PredictBatch

_SOURCES = {
    "PredictBatch": "._ray",
}
__all__ = ["PredictBatch"]
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
