from __future__ import annotations

import os
from pathlib import Path

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
