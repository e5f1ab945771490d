"""Checkpoints on disk: pure state-dict conversion and load reports, finding, reading and sharding
weight files safely, the checkpoint this package ships (:data:`DEFAULT_MODEL`), and model cards
(``README.md`` with the hub's metadata: :func:`render_card`, :func:`card_contents`), and Google's TensorFlow
checkpoints converted without TensorFlow (:func:`convert_tf_checkpoint`).

Names are imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from albert_model._lazy import lazy_exports

if TYPE_CHECKING:
    from albert_model.checkpoints._card import CARD_FILE as CARD_FILE
    from albert_model.checkpoints._card import CardFacts as CardFacts
    from albert_model.checkpoints._card import Origin as Origin
    from albert_model.checkpoints._card import SourceFile as SourceFile
    from albert_model.checkpoints._card import card_contents as card_contents
    from albert_model.checkpoints._card import command_line as command_line
    from albert_model.checkpoints._card import dataset_ids as dataset_ids
    from albert_model.checkpoints._card import front_matter as front_matter
    from albert_model.checkpoints._card import hub_metric_ids as hub_metric_ids
    from albert_model.checkpoints._card import markdown_text as markdown_text
    from albert_model.checkpoints._card import origin_of as origin_of
    from albert_model.checkpoints._card import read_front_matter as read_front_matter
    from albert_model.checkpoints._card import render_card as render_card
    from albert_model.checkpoints._card import write_card as write_card
    from albert_model.checkpoints._shipped import DEFAULT_MODEL as DEFAULT_MODEL
    from albert_model.checkpoints._state_dict import FINE_TUNE_HINT as FINE_TUNE_HINT
    from albert_model.checkpoints._state_dict import HeadInitializedWarning as HeadInitializedWarning
    from albert_model.checkpoints._state_dict import LoadReport as LoadReport
    from albert_model.checkpoints._state_dict import MissingHeadError as MissingHeadError
    from albert_model.checkpoints._state_dict import load_into as load_into
    from albert_model.checkpoints._state_dict import save_model as save_model
    from albert_model.checkpoints._tf import TFCheckpointError as TFCheckpointError
    from albert_model.checkpoints._tf import add_arguments as add_convert_tf_arguments
    from albert_model.checkpoints._tf import convert_tf_checkpoint as convert_tf_checkpoint
    from albert_model.checkpoints._tf import run as run_convert_tf
    from albert_model.checkpoints._weight_files import CheckpointError as CheckpointError
    from albert_model.checkpoints._weight_files import resolve_inside as resolve_inside
    from albert_model.checkpoints._weight_files import weight_file as weight_file

_SOURCES = {
    "CARD_FILE": "._card",
    "CardFacts": "._card",
    "CheckpointError": "._weight_files",
    "DEFAULT_MODEL": "._shipped",
    "FINE_TUNE_HINT": "._state_dict",
    "HeadInitializedWarning": "._state_dict",
    "LoadReport": "._state_dict",
    "MissingHeadError": "._state_dict",
    "Origin": "._card",
    "SourceFile": "._card",
    "TFCheckpointError": "._tf",
    "add_convert_tf_arguments": "._tf:add_arguments",
    "card_contents": "._card",
    "command_line": "._card",
    "convert_tf_checkpoint": "._tf",
    "dataset_ids": "._card",
    "front_matter": "._card",
    "hub_metric_ids": "._card",
    "markdown_text": "._card",
    "load_into": "._state_dict",
    "origin_of": "._card",
    "read_front_matter": "._card",
    "render_card": "._card",
    "resolve_inside": "._weight_files",
    "run_convert_tf": "._tf:run",
    "save_model": "._state_dict",
    "weight_file": "._weight_files",
    "write_card": "._card",
}
__all__ = [
    "CARD_FILE",
    "DEFAULT_MODEL",
    "FINE_TUNE_HINT",
    "CardFacts",
    "CheckpointError",
    "HeadInitializedWarning",
    "LoadReport",
    "MissingHeadError",
    "Origin",
    "SourceFile",
    "TFCheckpointError",
    "add_convert_tf_arguments",
    "card_contents",
    "command_line",
    "convert_tf_checkpoint",
    "dataset_ids",
    "front_matter",
    "hub_metric_ids",
    "load_into",
    "markdown_text",
    "origin_of",
    "read_front_matter",
    "render_card",
    "resolve_inside",
    "run_convert_tf",
    "save_model",
    "weight_file",
    "write_card",
]
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
