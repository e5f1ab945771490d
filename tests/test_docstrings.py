"""Every public class, function and method says what each argument does, what it returns and what it raises.

Public: the names in the ``__all__`` of the packages a user imports (``albert_tok``, ``albert_tok.data``,
``albert_model`` and its user-facing subpackages), of the subpackages that are layer interfaces inside a package
(``albert_tok.rules``, ``engines``, ``api``, ``io``; ``albert_model.checkpoints``), of ``albert_tok.io.atomic``
and of the two command-line modules (``albert_tok.cli``, ``albert_model.cli``), and the methods and properties
of those classes (with what they inherit from this project's own base classes) whose names do not start with
``_`` (``__call__`` included).

The docstring (Google style) must name every parameter under ``Args:``, have ``Returns:`` (or ``Yields:``)
unless the function returns None, and have ``Raises:`` when the function itself contains a ``raise``. A
class's constructor may be documented in the class docstring or in ``__init__``'s.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

PUBLIC_MODULES = (
    "albert_tok",
    "albert_tok.data",
    "albert_tok.rules",
    "albert_tok.engines",
    "albert_tok.api",
    "albert_tok.io",
    "albert_tok.io.atomic",
    "albert_tok.cli",
    "albert_model",
    "albert_model.modeling",
    "albert_model.pipelines",
    "albert_model.onnx",
    "albert_model.training",
    "albert_model.serving",
    "albert_model.integrations",
    "albert_model.checkpoints",
    "albert_model.cli",
)


def _own_members(cls: type) -> Iterator[tuple[str, Any]]:
    seen: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith(("albert_tok", "albert_model")):
            continue
        for name, value in vars(klass).items():
            if name in seen or (name.startswith("_") and name != "__call__"):
                continue
            seen.add(name)
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property):
                value = value.fget
            if inspect.isfunction(value):
                yield name, value


def _targets() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.ismodule(value) or not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            if not getattr(value, "__module__", "").startswith(("albert_tok", "albert_model")):
                continue
            key = f"{value.__module__}.{value.__qualname__}"
            found[key] = value
            if inspect.isclass(value):
                for _member_name, member in _own_members(value):
                    found[f"{member.__module__}.{member.__qualname__}"] = member
    return found


TARGETS = _targets()


def _section(doc: str, title: str) -> str:
    lines = doc.splitlines()
    out: list[str] = []
    inside = False
    for line in lines:
        stripped = line.strip()
        if stripped.endswith(":") and stripped[:-1] in (
            "Args",
            "Returns",
            "Yields",
            "Raises",
            "Example",
            "Examples",
            "Attributes",
            "Note",
            "Notes",
        ):
            inside = stripped[:-1] == title
            continue
        if inside:
            out.append(line)
    return "\n".join(out)


def _entries(section: str) -> set[str]:
    """The names an ``Args:``/``Attributes:`` section documents: its least-indented ``name:`` or
    ``name (type):`` lines (``*args``/``**kwargs`` without their stars)."""
    lines = [line for line in section.splitlines() if line.strip()]
    if not lines:
        return set()
    indent = min(len(line) - len(line.lstrip()) for line in lines)
    names = set()
    for line in lines:
        if len(line) - len(line.lstrip()) == indent:
            head = line.strip().split(":", 1)[0]
            names.update(part.strip().split(" ")[0].lstrip("*") for part in head.split(","))
    return names


def _raises_itself(func: Any) -> bool:
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return False
    tree = ast.parse(source)
    body = tree.body[0]

    def walk(node: ast.AST) -> Iterator[ast.AST]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue  # a nested function's raise is its own
            yield child
            yield from walk(child)

    return any(isinstance(n, ast.Raise) and n.exc is not None for n in walk(body))


def problems(qualname: str, obj: Any) -> list[str]:
    doc = inspect.cleandoc(obj.__doc__ or "")  # its own: getdoc would lend it a parent's
    if not doc.strip():
        return [f"{qualname}: no docstring"]
    if inspect.isclass(obj):
        init = vars(obj).get("__init__")
        if init is None and not hasattr(obj, "__dataclass_fields__"):
            return []
        params = list(inspect.signature(obj).parameters.values())
        documented = doc + "\n" + (inspect.cleandoc(init.__doc__ or "") if init else "")
        args = _entries(_section(documented, "Args")) | _entries(_section(documented, "Attributes"))
        return [
            f"{qualname}: argument {p.name!r} not under Args:"
            for p in params
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in args
        ]
    out = []
    sig = inspect.signature(obj)
    params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
    if obj.__name__ == "__init__":
        return []  # documented with the class
    args = _entries(_section(doc, "Args"))
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name not in args:
            out.append(f"{qualname}: argument {p.name!r} not under Args:")
    is_property = qualname.rsplit(".", 1)[-1] in {n for n, v in vars(_owner(obj)).items() if isinstance(v, property)}
    returns = sig.return_annotation
    if (
        not is_property
        and returns not in (None, "None", inspect.Signature.empty)
        and not (_section(doc, "Returns") or _section(doc, "Yields"))
    ):
        out.append(f"{qualname}: no Returns:")
    if _raises_itself(obj) and not _section(doc, "Raises"):
        out.append(f"{qualname}: raises, but no Raises:")
    return out


def _owner(func: Any) -> Any:
    module = importlib.import_module(func.__module__)
    owner: Any = module
    for part in func.__qualname__.split(".")[:-1]:
        owner = getattr(owner, part, None)
        if owner is None:
            return type("_", (), {})
    return owner if inspect.isclass(owner) else type("_", (), {})


@pytest.mark.parametrize("qualname", sorted(TARGETS))
def test_public_api_is_documented(qualname: str) -> None:
    assert problems(qualname, TARGETS[qualname]) == []


def test_the_check_finds_an_undocumented_argument() -> None:
    def documented(a: int, b: int) -> int:
        """Adds.

        Args:
            a: the first.

        Returns:
            the sum.
        """
        if a < 0:
            raise ValueError("negative")
        return a + b

    assert problems("documented", documented) == [
        "documented: argument 'b' not under Args:",
        "documented: raises, but no Raises:",
    ]
