"""Command-line flags from a dataclass of arguments (``albert pretrain``, ``albert finetune``).

One flag per field, named by the field (``max_seq_length`` -> ``--max-seq-length``), its help from the field's
metadata (:func:`help_text`), its type, default and requiredness from the field itself: a ``bool`` that defaults
to True becomes ``--no-NAME``, a ``list`` takes one or more values. Flags left out parse as None, and
:func:`from_namespace` then keeps the dataclass default, so the defaults have one home: the dataclass.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Callable, Collection
from typing import Any, TypeVar

__all__ = ["add_dataclass_flags", "flag", "from_namespace", "help_text"]

T = TypeVar("T")
# Adds the flag of one field its own way: (parser, help text).
CustomFlag = Callable[[argparse.ArgumentParser, str], None]
# Fields parsed as None when left out only where that differs from their own default.
_ALWAYS_GIVEN = ("resume", "progress")


def help_text(text: str) -> dict[str, str]:
    """A field's metadata holding its ``--help`` text."""
    return {"help": text}


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type, custom: dict[str, CustomFlag] | None = None,
                        default_not_shown: Collection[str] = ()) -> argparse.ArgumentParser:
    """One flag per field of the dataclass ``cls`` on ``parser``; ``custom`` adds the named fields' flags
    itself; ``default_not_shown``: fields whose default the help leaves out (a long path, say)."""
    custom = custom or {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        help_ = f.metadata.get("help", "")
        kind = hints[f.name]
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if f.name in custom:
            custom[f.name](parser, help_)
        elif kind is bool and f.default is True:
            parser.add_argument("--no-" + f.name.replace("_", "-"), dest=f.name, action="store_false", help=help_)
        elif kind is bool:
            parser.add_argument(flag(f.name), action="store_true", help=help_)
        elif typing.get_origin(kind) is list:
            parser.add_argument(flag(f.name), nargs="+", required=required, help=help_)
        else:
            base = next((t for t in typing.get_args(kind) if t is not type(None)), kind)
            default = None if required or f.name in default_not_shown else f.default
            parser.add_argument(flag(f.name), type=base, required=required,
                                help=f"{help_} (default: {default})" if default is not None else help_)
    parser.set_defaults(**{f.name: None for f in dataclasses.fields(cls) if f.name not in _ALWAYS_GIVEN})
    return parser


def from_namespace(cls: type[T], ns: argparse.Namespace) -> T:
    """The dataclass ``cls`` from parsed flags; flags left out keep its defaults."""
    given: dict[str, Any] = {f.name: getattr(ns, f.name) for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                             if getattr(ns, f.name, None) is not None}
    return cls(**given)
