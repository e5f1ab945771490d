"""The package layout keeps one home per name: no re-export modules, no names kept under an earlier name.

A module's ``__all__`` lists what that module defines; a package ``__init__`` is the one place that gathers
names from its modules. Read from the source with ``ast`` (nothing is imported), so the check is cheap.
"""

from __future__ import annotations

import ast
import re

import pytest

from .conftest import ROOT


def _modules() -> list[str]:
    return sorted(
        str(p.relative_to(ROOT))
        for package in ("albert_tok", "albert_model")
        for p in (ROOT / package).rglob("*.py")
        if p.name != "__init__.py"
    )


def exported_but_not_defined(source: str) -> list[str]:
    """Names in the module's ``__all__`` that it does not define itself (top-level def, class or assignment)."""
    tree = ast.parse(source)
    exported: list[str] = []
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            defined |= names
            if "__all__" in names and isinstance(node.value, (ast.List, ast.Tuple)):
                exported = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
    return [name for name in exported if name not in defined]


@pytest.mark.parametrize("module", [m for m in _modules()])
def test_modules_export_only_what_they_define(module):
    assert exported_but_not_defined((ROOT / module).read_text(encoding="utf-8")) == [], module


def aliases(source: str) -> list[str]:
    """Top-level ``NAME = OTHER`` bindings: one value under a second name."""
    return [
        ast.unparse(node)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name)
    ]


@pytest.mark.parametrize("module", _modules())
def test_no_value_is_kept_under_a_second_name(module):
    assert aliases((ROOT / module).read_text(encoding="utf-8")) == [], module


def test_the_check_sees_a_re_export():
    assert exported_but_not_defined("from .x import a\ndef b(): pass\n__all__ = ['a', 'b']\n") == ["a"]
    assert exported_but_not_defined("A = 1\nB: int = 2\n__all__ = ('A', 'B')\n") == []
    assert aliases("from .x import LIMIT\nOLD_LIMIT = LIMIT\n_hook = x.write\n") == ["OLD_LIMIT = LIMIT"]


def base_dependencies() -> set[str]:
    """The import names of the packages every install has (pyproject's ``dependencies``)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # tomllib is Python 3.11+
    listed = re.search(r"^dependencies = \[(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    assert listed, "pyproject.toml has no dependencies list"
    return {
        re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].replace("-", "_")
        for spec in re.findall(r'"([^"]+)"', listed.group(1))
    }


def guarded_imports(source: str) -> list[str]:
    """Modules imported inside a ``try`` whose handlers catch ImportError: code for when they are missing."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Try) and any(
            h.type is not None
            and any(
                isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in ast.walk(h.type)
            )
            for h in node.handlers
        ):
            for inner in (n for stmt in node.body for n in ast.walk(stmt)):
                if isinstance(inner, ast.Import):
                    found += [a.name.split(".")[0] for a in inner.names]
                elif isinstance(inner, ast.ImportFrom) and inner.module and not inner.level:
                    found.append(inner.module.split(".")[0])
    return found


@pytest.mark.parametrize("module", _modules())
def test_no_fallback_for_a_base_dependency(module):
    """A base dependency is always installed: code for its absence is dead, and would hide a broken install."""
    dead = base_dependencies() & set(guarded_imports((ROOT / module).read_text(encoding="utf-8")))
    assert not dead, f"{module} has an ImportError fallback for {sorted(dead)}"


def test_the_fallback_check_sees_one():
    assert {"tqdm", "numpy", "sentencepiece"} <= base_dependencies()
    assert guarded_imports("try:\n    from tqdm import tqdm\nexcept ImportError:\n    tqdm = None\n") == ["tqdm"]
    assert guarded_imports("try:\n    import torch\nexcept (ImportError, OSError):\n    pass\n") == ["torch"]
    assert guarded_imports("try:\n    import tqdm\nexcept ValueError:\n    pass\n") == []
