from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SPIECE = ROOT / "fixtures" / "spiece.model"
EVAL = ROOT / "fixtures" / "eval"  # copies of ../shared/eval, so the suite runs without ../shared
SHARED = Path(os.environ.get("ALBERT_SHARED", ROOT.parent / "shared"))

# Example counts live here, not in the tests: "ci" (the default) keeps the suite fast on two shared
# cores; HYPOTHESIS_PROFILE=thorough runs many more before a release or after touching the tokenizer.
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]}
settings.register_profile("ci", max_examples=60, **_COMMON)
settings.register_profile("thorough", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["pytester"]  # tests/test_skips_reliability.py runs small suites through the CI skip guard

# -- In CI a test is skipped only for what CI cannot have ----------------------------------------------------
# .ci/run installs every extra the tests use, so tests import them outright. A skip there is allowed only for
# a reason matching one of these patterns; any other skip is turned into a failure (with CI set, as CI runs), so
# that the suite cannot shrink in silence. Platform checks (/proc, fork, renameat2) are not here: CI is Linux.
SKIPS_ALLOWED_IN_CI = {
    "CI has no GPU": re.compile(r"\b(GPU|CUDA)\b"),
    "CI has no cluster, no network and no bucket (docs blocks marked skip)": re.compile(
        r"\b(cluster|network|S3|download)\b"
    ),
    "CI's user may be root (which ignores permissions) or may lack the right to mount": re.compile(r"\broot\b|\bmount"),
    "../shared (or ALBERT_SHARED) lies beside a working copy, not in a clean checkout": re.compile(r"\.\./shared"),
    "the transformers 5 environment is made by bench/setup_reference.sh, not by CI": re.compile(r"\.venv-tf5"),
}


_KILLED_AFTER_CHECKPOINT = """
import os, signal, sys
sys.path.insert(0, {root!r})
import albert_model.training._loop as L
from albert_model.training import {module} as M
original = L.save_training_state
def save(*a, **k):
    original(*a, **k)
    if a[3]["step"] == {at}:
        os.kill(os.getpid(), signal.SIGKILL)
L.save_training_state = save
M.{function}(M.{args_class}(**{kwargs!r}))
"""


def run_killed_after_checkpoint(command: str, args: Any, at: int, timeout: float) -> subprocess.CompletedProcess:
    """Run ``pretrain(args)`` or ``finetune(args)`` (``command``) in a child process that kills itself with
    SIGKILL right after writing the step-``at`` checkpoint (kill -9 at the worst moment for a resume)."""
    module, args_class = {"pretrain": ("_pretrain", "PretrainArgs"), "finetune": ("_finetune", "FinetuneArgs")}[command]
    code = _KILLED_AFTER_CHECKPOINT.format(
        root=str(ROOT), module=module, function=command, args_class=args_class, at=at, kwargs=vars(args)
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=False)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_allowed_in_ci(reason: str) -> bool:
    return any(pattern.search(reason) for pattern in SKIPS_ALLOWED_IN_CI.values())


def _forbid_skip_in_ci(report):
    """Turn a skipped report into a failure, in CI, where its reason is not in SKIPS_ALLOWED_IN_CI."""
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr  # (path, line, reason) for a skip
    reason = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr).removeprefix("Skipped: ")
    if not skip_allowed_in_ci(reason):
        report.outcome = "failed"
        report.longrepr = (
            f"skipped in CI for a reason CI should not have: {reason!r} (CI installs every "
            "extra the tests use; allowed reasons: SKIPS_ALLOWED_IN_CI in tests/conftest.py)"
        )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    _forbid_skip_in_ci(report)
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(collector):
    report = yield  # a module-level skip (importorskip, allow_module_level=True) is a skipped collect report
    _forbid_skip_in_ci(report)
    return report


@pytest.fixture(scope="session")
def spiece_path() -> Path:
    return SPIECE


@pytest.fixture(scope="session")
def slow():
    from albert_tok import AlbertTokenizer

    return AlbertTokenizer(SPIECE)


@pytest.fixture(scope="session")
def fast():
    from albert_tok import AlbertTokenizerFast

    return AlbertTokenizerFast(SPIECE)


@pytest.fixture(scope="session", params=["slow", "fast"])
def tokenizer(request, slow, fast):
    return slow if request.param == "slow" else fast
