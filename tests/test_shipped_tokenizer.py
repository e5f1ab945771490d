"""A tokenizer-only program reaches the shipped tokenizer from albert_tok, importing neither albert_model nor
torch."""

from __future__ import annotations

import subprocess
import sys

from albert_model import DEFAULT_MODEL
from albert_tok import DEFAULT_TOKENIZER, AlbertTokenizer, AlbertTokenizerFast

from .conftest import ROOT


def test_default_tokenizer_is_the_shipped_models_tokenizer():
    assert DEFAULT_TOKENIZER == DEFAULT_MODEL
    text = "Paris is the [MASK] of France, 1,000 km away."
    fast = AlbertTokenizerFast.from_pretrained(DEFAULT_TOKENIZER)
    assert fast(text)["input_ids"] == AlbertTokenizer.from_pretrained(DEFAULT_MODEL)(text)["input_ids"]


def test_loading_it_imports_neither_albert_model_nor_torch():
    code = (
        "import sys, albert_tok\n"
        "tok = albert_tok.AlbertTokenizerFast.from_pretrained(albert_tok.DEFAULT_TOKENIZER)\n"
        "assert tok('Hello world')['input_ids'] == [2, 10975, 126, 3]\n"
        "print(sorted(m for m in ('albert_model', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
