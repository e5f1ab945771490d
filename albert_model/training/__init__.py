"""Training: ``albert finetune`` and ``albert pretrain`` as Python functions and command-line
parsers, both set up around one training loop (its state, step, precision table, resumable checkpoints and
progress; data parallel under ``torchrun``, gradient accumulation), and the LAMB optimizer.

Names are imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from albert_model._lazy import lazy_exports

if TYPE_CHECKING:
    from albert_model.training._distributed import DistributedError as DistributedError
    from albert_model.training._finetune import FinetuneArgs as FinetuneArgs
    from albert_model.training._finetune import args_from_namespace as finetune_args
    from albert_model.training._finetune import build_parser as finetune_parser
    from albert_model.training._finetune import finetune as finetune
    from albert_model.training._lamb import Lamb as Lamb
    from albert_model.training._lamb import lamb_parameter_groups as lamb_parameter_groups
    from albert_model.training._pretrain import PretrainArgs as PretrainArgs
    from albert_model.training._pretrain import args_from_namespace as pretrain_args
    from albert_model.training._pretrain import build_parser as pretrain_parser
    from albert_model.training._pretrain import pretrain as pretrain
    from albert_model.training._pretraining_data import PretrainingCollator as PretrainingCollator

_SOURCES = {
    "DistributedError": "._distributed",
    "FinetuneArgs": "._finetune",
    "Lamb": "._lamb",
    "PretrainArgs": "._pretrain",
    "PretrainingCollator": "._pretraining_data",
    "finetune": "._finetune",
    "finetune_args": "._finetune:args_from_namespace",
    "finetune_parser": "._finetune:build_parser",
    "lamb_parameter_groups": "._lamb",
    "pretrain": "._pretrain",
    "pretrain_args": "._pretrain:args_from_namespace",
    "pretrain_parser": "._pretrain:build_parser",
}
__all__ = [
    "DistributedError",
    "FinetuneArgs",
    "Lamb",
    "PretrainArgs",
    "PretrainingCollator",
    "finetune",
    "finetune_args",
    "finetune_parser",
    "lamb_parameter_groups",
    "pretrain",
    "pretrain_args",
    "pretrain_parser",
]
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
