"""Command-line flags from a dataclass of arguments (``albert pretrain``, ``albert finetune``).

One flag per field, named by the field (``max_seq_length`` -> ``--max-seq-length``), its help from the field's
metadata (:func:`help_text`), its type, default and requiredness from the field itself: a ``bool`` that defaults
to True becomes ``--no-NAME``, a ``list`` takes one or more values. Flags left out parse as None, and
:func:`from_namespace` then keeps the dataclass default, so the defaults have one home: the dataclass.

The dataclasses check their fields in ``__post_init__`` with :func:`check_int` and :func:`check_float`, whose
``ValueError`` names the flag, the value and the accepted range, the same for the command line and for Python.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import typing
from collections.abc import Callable, Collection
from typing import Any, TypeVar

__all__ = ["add_dataclass_flags", "check_float", "check_int", "flag", "from_namespace", "help_text"]

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


def _int_range(low: int, high: int | None) -> str:
    if high is None:
        return "a positive int" if low == 1 else f"an int >= {low}"
    return f"a positive int (1..{high})" if low == 1 else f"an int in {low}..{high}"


def check_int(value: Any, name: str, low: int, high: int | None = None) -> int:
    """``value`` when it is an int (not a bool) in ``low..high``; otherwise a ``ValueError`` naming the flag
    of field ``name``, the value and the range."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        raise ValueError(f"{flag(name)} must be {_int_range(low, high)}, got {value!r}")
    return value


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def check_float(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` when it is a finite number (int or float, not a bool) within the bounds (``low_open``,
    ``high_open``: the bound itself excluded); otherwise a ``ValueError`` naming the flag of field ``name``, the
    value and the range. NaN and infinities are never accepted."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if low is not None and high is not None:
            bounds = f"in {'(' if low_open else '['}{_number(low)}, {_number(high)}{')' if high_open else ']'}"
        elif low is not None:
            bounds = f"{'>' if low_open else '>='} {_number(low)}"
        elif high is not None:
            bounds = f"{'<' if high_open else '<='} {_number(high)}"
        else:
            bounds = ""
        raise ValueError(f"{flag(name)} must be a finite number {bounds}".rstrip() + f", got {value!r}")
    return float(value)


def add_dataclass_flags(
    parser: argparse.ArgumentParser,
    cls: type,
    custom: dict[str, CustomFlag] | None = None,
    default_not_shown: Collection[str] = (),
) -> argparse.ArgumentParser:
    """One flag per field of the dataclass ``cls`` on ``parser``; ``custom`` adds the named fields' flags
    itself; ``default_not_shown``: fields whose default the help leaves out (a long path, say)."""
    custom = custom or {}
    hints = typing.get_type_hints(cls)
    # a class's own fields first, then the keyword-only ones it shares (the loop's flags of both commands)
    for f in sorted(dataclasses.fields(cls), key=lambda f: bool(f.kw_only)):
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
            parser.add_argument(
                flag(f.name),
                type=base,
                required=required,
                help=f"{help_} (default: {default})" if default is not None else help_,
            )
    parser.set_defaults(**{f.name: None for f in dataclasses.fields(cls) if f.name not in _ALWAYS_GIVEN})
    return parser


def from_namespace(cls: type[T], ns: argparse.Namespace) -> T:
    """The dataclass ``cls`` from parsed flags; flags left out keep its defaults."""
    given: dict[str, Any] = {
        f.name: getattr(ns, f.name)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if getattr(ns, f.name, None) is not None
    }
    return cls(**given)
