"""Packages whose names are imported on first use (PEP 562), so importing a package costs nothing until a
name is used: ``import albert_model`` and ``import albert_model.cli`` import no torch."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, sources: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``.

    Args:
        package: the package's ``__name__``.
        sources: each public name and where it is defined, as ``".module"`` (the same name there) or
            ``".module:attribute"``, relative to ``package``.

    Returns:
        ``(__getattr__, __dir__)``: the first imports a name's module on first use and keeps the value in
        the package, so later lookups skip it; the second lists the names with the package's own.

    Raises:
        AttributeError: from ``__getattr__``, for a name that is not in ``sources``.
    """

    def __getattr__(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = sources[name].partition(":")
        value = getattr(importlib.import_module(module, package), attribute or name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(sources))

    return __getattr__, __dir__
