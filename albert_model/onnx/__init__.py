"""ONNX: exporting a checkpoint's task class (fp32 or int8, cached beside the checkpoint) and running it
with ONNX Runtime behind the same outputs as the torch model.

Names are imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from albert_model._lazy import lazy_exports

if TYPE_CHECKING:
    from albert_model.onnx._export import cached_export as cached_export
    from albert_model.onnx._export import export_onnx as export_onnx
    from albert_model.onnx._runtime import DEFAULT_THREADS as DEFAULT_THREADS
    from albert_model.onnx._runtime import OnnxAlbertModel as OnnxAlbertModel
    from albert_model.onnx._runtime import load as load_onnx_model

_SOURCES = {
    "DEFAULT_THREADS": "._runtime",
    "OnnxAlbertModel": "._runtime",
    "cached_export": "._export",
    "export_onnx": "._export",
    "load_onnx_model": "._runtime:load",
}
__all__ = ["DEFAULT_THREADS", "OnnxAlbertModel", "cached_export", "export_onnx", "load_onnx_model"]
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
