"""Checkpoints on disk: pure state-dict conversion and load reports, finding, reading and sharding
weight files safely, and the checkpoint this package ships (:data:`DEFAULT_MODEL`).

Names are imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from albert_model._lazy import lazy_exports

if TYPE_CHECKING:
    from albert_model.checkpoints._shipped import DEFAULT_MODEL as DEFAULT_MODEL
    from albert_model.checkpoints._state_dict import FINE_TUNE_HINT as FINE_TUNE_HINT
    from albert_model.checkpoints._state_dict import HeadInitializedWarning as HeadInitializedWarning
    from albert_model.checkpoints._state_dict import LoadReport as LoadReport
    from albert_model.checkpoints._state_dict import MissingHeadError as MissingHeadError
    from albert_model.checkpoints._state_dict import load_into as load_into
    from albert_model.checkpoints._state_dict import save_model as save_model
    from albert_model.checkpoints._weight_files import CheckpointError as CheckpointError
    from albert_model.checkpoints._weight_files import resolve_inside as resolve_inside
    from albert_model.checkpoints._weight_files import weight_file as weight_file

_SOURCES = {
    "CheckpointError": "._weight_files",
    "DEFAULT_MODEL": "._shipped",
    "FINE_TUNE_HINT": "._state_dict",
    "HeadInitializedWarning": "._state_dict",
    "LoadReport": "._state_dict",
    "MissingHeadError": "._state_dict",
    "load_into": "._state_dict",
    "resolve_inside": "._weight_files",
    "save_model": "._state_dict",
    "weight_file": "._weight_files",
}
__all__ = [
    "DEFAULT_MODEL",
    "FINE_TUNE_HINT",
    "CheckpointError",
    "HeadInitializedWarning",
    "LoadReport",
    "MissingHeadError",
    "load_into",
    "resolve_inside",
    "save_model",
    "weight_file",
]
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
