"""Where the tokenizer of the model this distribution ships lives, found without importing it."""

from __future__ import annotations

import importlib.util
import os

__all__ = ["DEFAULT_TOKENIZER"]


def _shipped_directory() -> str:
    # find_spec of a top-level package reads no code of it: albert_model (and torch) stay unimported
    spec = importlib.util.find_spec("albert_model")
    for location in list(spec.submodule_search_locations or []) if spec is not None else []:
        path = os.path.join(location, "default_model")
        if os.path.isdir(path):
            return path
    return os.path.join("albert_model", "default_model")  # not installed: loading it names the missing path


DEFAULT_TOKENIZER: str = _shipped_directory()
"""The tokenizer directory of the small model this distribution ships (``albert_model/default_model``):
``AlbertTokenizerFast.from_pretrained(albert_tok.DEFAULT_TOKENIZER)``. The real albert-base-v2 vocabulary."""
