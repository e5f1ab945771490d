"""Integrations with other frameworks: :class:`PredictBatch`, a pipeline as a Ray Data callable, and
:func:`albert_deployment`, the ``albert serve`` app as a Ray Serve deployment (:func:`serve_app` for
``serve run``).

Names are imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from albert_model._lazy import lazy_exports

if TYPE_CHECKING:
    from albert_model.integrations._ray import PredictBatch as PredictBatch
    from albert_model.integrations._ray_serve import DEFAULT_AUTOSCALING as DEFAULT_AUTOSCALING
    from albert_model.integrations._ray_serve import albert_deployment as albert_deployment
    from albert_model.integrations._ray_serve import serve_app as serve_app

_SOURCES = {
    "DEFAULT_AUTOSCALING": "._ray_serve",
    "PredictBatch": "._ray",
    "albert_deployment": "._ray_serve",
    "serve_app": "._ray_serve",
}
__all__ = ["DEFAULT_AUTOSCALING", "PredictBatch", "albert_deployment", "serve_app"]
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
