from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPIECE = ROOT / "fixtures" / "spiece.model"
SHARED = Path(os.environ.get("ALBERT_SHARED", ROOT.parent / "shared"))


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
