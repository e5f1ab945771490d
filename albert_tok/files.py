"""Hugging Face-format tokenizer directories: writing them atomically, config files, reading them back.

A directory holds ``spiece.model`` (SentencePiece), ``tokenizer.json`` (Rust ``tokenizers``),
``tokenizer_config.json`` and ``special_tokens_map.json``. A save replaces them all in one step
(:func:`albert_tok.atomic.write_directory`), keeping the directory's other files (a model saved beside
its tokenizer, a ``checkpoint/`` sub-directory).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from . import atomic
from .padding import MAX_LENGTH_LIMIT
from .special_tokens import SpecialTokens
from .text import Preprocessing

__all__ = [
    "MODEL_MAX_LENGTH_LIMIT",
    "SPECIAL_TOKENS_MAP",
    "SPIECE",
    "TOKENIZER_CONFIG",
    "TOKENIZER_JSON",
    "TokenizerDirectory",
    "config_files",
    "read_directory",
    "write_atomically",
]

SPIECE = "spiece.model"
TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"
# transformers writes a huge model_max_length (1e30) for "unbounded"; such values are not read.
MODEL_MAX_LENGTH_LIMIT = MAX_LENGTH_LIMIT

# Kept for the corpus writer until it imports albert_tok.atomic.write_file itself.
_write_file = atomic.write_file


def write_atomically(directory: str, contents: dict[str, bytes], prefix: str | None = None,
                     create: bool = False) -> list[str]:
    """Write ``contents`` (file name -> bytes) into ``directory`` in one atomic step; return the paths.

    Files are named ``{prefix}-{name}`` with a ``prefix``. Other entries of the directory are kept. With
    ``create`` a missing directory is made. See :func:`albert_tok.atomic.write_directory`.
    """
    names = {(f"{prefix}-{name}" if prefix else name): data for name, data in contents.items()}
    # _write_file is looked up per call, so a test can stand in a failing disk for it.
    return atomic.write_directory(directory, names, create=create, writer=lambda p, d: _write_file(p, d))


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def config_files(preprocessing: Preprocessing, specials: SpecialTokens, model_max_length: int,
                 special_ids: dict[str, int]) -> dict[str, bytes]:
    """``tokenizer_config.json`` and ``special_tokens_map.json`` as transformers writes them."""
    token_map = specials.to_map()
    config: dict[str, Any] = {
        "tokenizer_class": "AlbertTokenizer",
        **preprocessing.as_dict(),
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": {
            str(i): {**specials.entry(t), "special": True} for t, i in special_ids.items()
        },
    }
    for name, entry in token_map.items():  # plain strings; lstrip lives in added_tokens_decoder
        config[name] = entry["content"]
    return {TOKENIZER_CONFIG: _json_bytes(config), SPECIAL_TOKENS_MAP: _json_bytes(token_map)}


@dataclass(frozen=True)
class TokenizerDirectory:
    """What :func:`read_directory` found: file paths (or None) and constructor options
    (``preprocessing``, ``special_tokens`` and, when the config sets a usable one, ``model_max_length``)."""

    spiece: str | None
    tokenizer_json: str | None
    options: dict[str, Any]


# A wrong JSON type inside a file is bad file content, so these raise ValueError (like malformed JSON),
# never TypeError, which would point at the caller's arguments.


def _read_json(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(data).__name__}")  # noqa: TRY004
    return data


def _preprocessing(config: dict[str, Any], path: str) -> Preprocessing:
    switches: dict[str, bool] = {}
    for key in Preprocessing().as_dict():
        value = config.get(key)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise ValueError(f"{path}: {key} must be true or false, got {value!r:.60}")  # noqa: TRY004
        switches[key] = value
    return Preprocessing(**switches)


def _model_max_length(config: dict[str, Any], path: str) -> int | None:
    value = config.get("model_max_length")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{path}: model_max_length must be a number, got {value!r:.60}")  # noqa: TRY004
    if isinstance(value, int) and 3 <= value <= MODEL_MAX_LENGTH_LIMIT:
        return value
    return None  # "unbounded" or unusable: the tokenizer keeps its default


def read_directory(directory: str | os.PathLike[str]) -> TokenizerDirectory:
    """Locate the tokenizer files of ``directory`` and read its options.

    A malformed ``tokenizer_config.json`` or ``special_tokens_map.json`` raises ``ValueError`` naming the
    file and the key. A save that was killed halfway (where ``renameat2`` is unavailable) is completed
    first.
    """
    path = os.fspath(directory)
    atomic.recover(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"tokenizer directory {path!r} does not exist (no model hub here: pass "
                                f"a local directory holding {SPIECE} or {TOKENIZER_JSON})")
    spiece = os.path.join(path, SPIECE)
    tok_json = os.path.join(path, TOKENIZER_JSON)
    found_spiece = spiece if os.path.isfile(spiece) else None
    found_json = tok_json if os.path.isfile(tok_json) else None
    if found_spiece is None and found_json is None:
        raise FileNotFoundError(f"{path!r} holds neither {SPIECE} nor {TOKENIZER_JSON}; "
                                f"it is not a tokenizer directory")
    config_path = os.path.join(path, TOKENIZER_CONFIG)
    map_path = os.path.join(path, SPECIAL_TOKENS_MAP)
    config = _read_json(config_path) if os.path.isfile(config_path) else {}
    token_map = _read_json(map_path) if os.path.isfile(map_path) else {}
    tokens = {**SpecialTokens.entries_of(config, config_path), **SpecialTokens.entries_of(token_map, map_path)}
    options: dict[str, Any] = {"preprocessing": _preprocessing(config, config_path),
                               "special_tokens": SpecialTokens(**tokens)}
    max_len = _model_max_length(config, config_path)
    if max_len is not None:
        options["model_max_length"] = max_len
    return TokenizerDirectory(found_spiece, found_json, options)
