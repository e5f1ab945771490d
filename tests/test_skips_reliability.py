"""The suite cannot shrink in silence: with CI set, a test skipped for a reason outside SKIPS_ALLOWED_IN_CI
fails, and no test importorskips a package that .ci/run installs (it imports it, so a broken install fails)."""

from __future__ import annotations

import ast
import importlib.metadata
import re

import pytest
from packaging.requirements import Requirement

from .conftest import ROOT, in_ci, skip_allowed_in_ci

SUITE = """
import pytest

def test_runs():
    pass

def test_needs_an_extra_that_is_missing():
    pytest.importorskip("no_such_module_anywhere")

@pytest.mark.skipif(True, reason="needs os.fork")
def test_platform_check():
    pass

def test_needs_a_gpu():
    pytest.skip("needs a GPU")

@pytest.mark.skipif(True, reason="../shared/corpora is not present")
def test_needs_shared_data():
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
"""


def run_suite(pytester, monkeypatch, ci: str | None, source: str):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    pytester.makeconftest("from tests.conftest import pytest_make_collect_report, pytest_runtest_makereport\n")
    pytester.makepyfile(test_suite=source)
    return pytester.runpytest("-p", "no:cacheprovider", "-rA")


def test_in_ci_a_skip_for_a_reason_ci_should_not_have_fails_the_run(pytester, monkeypatch):
    result = run_suite(pytester, monkeypatch, "true", SUITE)
    # the importorskip fails in the call; the skipif mark is evaluated in setup, so it fails as an error there
    result.assert_outcomes(passed=1, failed=1, errors=1, skipped=2, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*skipped in CI for a reason CI should not have: \"could not import 'no_such*",
            "*skipped in CI for a reason CI should not have: 'needs os.fork'*",
        ]
    )


def test_outside_ci_skips_stay_skips(pytester, monkeypatch):
    result = run_suite(pytester, monkeypatch, None, SUITE)
    result.assert_outcomes(passed=1, skipped=4, xfailed=1)
    assert result.ret == pytest.ExitCode.OK


def test_in_ci_a_module_level_skip_is_judged_too(pytester, monkeypatch):
    missing = run_suite(
        pytester, monkeypatch, "true", 'import pytest\npytest.importorskip("no_such_module")\ndef test_x():\n    pass\n'
    )
    missing.assert_outcomes(errors=1)
    assert missing.ret != pytest.ExitCode.OK
    allowed = run_suite(
        pytester,
        monkeypatch,
        "1",
        'import pytest\npytest.skip("needs a GPU", allow_module_level=True)\ndef test_x():\n    pass\n',
    )
    allowed.assert_outcomes(skipped=1)
    assert allowed.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("true", True),
        ("1", True),
        ("yes", True),
        ("", False),
        ("0", False),
        ("false", False),
        ("False", False),
        (None, False),
    ],
)
def test_ci_is_read_from_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert in_ci() is expected


@pytest.mark.parametrize(
    "reason, allowed",
    [
        ("needs a GPU", True),
        ("CUDA is not available", True),
        ("docs/pipelines.md:163: needs a Ray cluster", True),
        ("needs a Ray cluster and an S3 bucket", True),
        ("root ignores directory permissions", True),
        ("needs root and mount(8)", True),
        ("mount is not permitted here", True),
        ("cannot mount here: unshare: Operation not permitted", True),
        ("../shared/corpora is not present", True),
        ("needs bench/.venv-tf5", True),
        ("could not import 'torch': No module named 'torch'", False),
        ("the [ray] extra is not installed", False),
        ("transformers<5 is the reference implementation", False),
        ("needs os.fork", False),
        ("reads VmHWM from /proc", False),
        ("renameat2 is Linux-only", False),
        ("Skipped", False),
    ],
)
def test_allowed_reasons_are_what_ci_cannot_have(reason, allowed):
    assert skip_allowed_in_ci(reason) is allowed


# -- no importorskip of what CI installs --------------------------------------------------------------------
def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", requirement).lower()


def installed_by_ci() -> set[str]:
    """The distributions `pip install torch && pip install -e ".[test,ray]"` brings, with their dependencies."""
    wanted, seen = [("torch", set()), ("albert", {"test", "ray"})], set()
    while wanted:
        name, extras = wanted.pop()
        if _name(name) in seen:
            continue
        seen.add(_name(name))
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # an optional dependency of a dependency, not installed here: CI lacks it too
        for line in requires:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras or {""}):
                wanted.append((req.name, set(req.extras)))
    return seen


def importorskipped(source: str) -> list[str]:
    """The module names passed to pytest.importorskip in SOURCE."""
    return [
        node.args[0].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "importorskip"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]


def test_importorskipped_finds_the_calls():
    source = (
        'import pytest\nT = pytest.importorskip("transformers", reason="x")\ndef f():\n    pytest.importorskip("a.b")\n'
    )
    assert importorskipped(source) == ["transformers", "a.b"]


def test_no_test_importorskips_what_ci_installs():
    ci = installed_by_ci()
    assert {"torch", "transformers", "onnxruntime", "ray", "pyarrow", "hypothesis", "huggingface-hub"} <= ci
    modules = importlib.metadata.packages_distributions()
    wrong = [
        (path.name, module)
        for path in sorted((ROOT / "tests").glob("*.py"))
        for module in importorskipped(path.read_text(encoding="utf-8"))
        if any(_name(d) in ci for d in modules.get(module.split(".")[0], []))
    ]
    assert not wrong, f"import these instead (CI installs them): {wrong}"
