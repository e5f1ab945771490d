"""The prediction server behind ``albert serve``: an ASGI app over the pipelines.

``create_app(ServeConfig(model=DIR))`` is the FastAPI app (text-embeddings-inference's routes plus
``/fill-mask``, ``/tag`` and ``/answer``), micro-batched by a token budget in one worker thread per model;
``add_serve_parser`` and ``run_serve`` are the command. Names are imported on first use: parsing the command
imports neither torch nor FastAPI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from albert_model._lazy import lazy_exports

if TYPE_CHECKING:
    from albert_model.serving._app import create_app as create_app
    from albert_model.serving._command import add_serve_parser as add_serve_parser
    from albert_model.serving._command import run_serve as run_serve
    from albert_model.serving._engine import ServeConfig as ServeConfig
    from albert_model.serving._engine import choose_threads as choose_threads
    from albert_model.serving._limits import Limits as Limits

_SOURCES = {
    "Limits": "._limits",
    "ServeConfig": "._engine",
    "add_serve_parser": "._command",
    "choose_threads": "._engine",
    "create_app": "._app",
    "run_serve": "._command",
}
__all__ = ["Limits", "ServeConfig", "add_serve_parser", "choose_threads", "create_app", "run_serve"]
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
