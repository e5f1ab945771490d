"""Hugging Face-format tokenizer directories: atomic writes, config files, and reading them back.

A directory holds ``spiece.model`` (SentencePiece), ``tokenizer.json`` (Rust ``tokenizers``),
``tokenizer_config.json`` and ``special_tokens_map.json``. Files are written to a temporary name in the
target directory, flushed and renamed, so an interrupted save never leaves a half-written file; a new
directory is built beside its final name and renamed into place as a whole.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from .special_tokens import SpecialTokens

__all__ = ["SPIECE", "TOKENIZER_JSON", "TOKENIZER_CONFIG", "SPECIAL_TOKENS_MAP", "write_atomically",
           "config_files", "TokenizerDirectory", "read_directory"]

SPIECE = "spiece.model"
TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_file(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, sync it and rename it into place."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; saved files are ordinary ones
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_atomically(directory: str, contents: dict[str, bytes], prefix: str | None = None,
                     create: bool = False) -> list[str]:
    """Write ``contents`` (file name -> bytes) into ``directory``; return the written paths.

    Every file is first written and synced in a staging directory; only then are they renamed into
    place (a new directory is renamed as a whole), so a failure while writing changes nothing.
    With ``create`` a missing directory is made.
    """
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(f"{directory!r} exists and is not a directory")
    exists = os.path.isdir(directory)
    if not exists and not create:
        raise FileNotFoundError(f"directory {directory!r} does not exist")
    names = {name: (f"{prefix}-{name}" if prefix else name) for name in contents}
    parent = directory if exists else os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tmp-", dir=parent)
    try:
        for name, data in contents.items():
            _write_file(os.path.join(staging, names[name]), data)
        if exists:
            for name in contents:
                os.replace(os.path.join(staging, names[name]), os.path.join(directory, names[name]))
            os.rmdir(staging)
        else:
            os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes a 0700 directory
            os.rename(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [os.path.join(directory, names[name]) for name in contents]


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def config_files(options: dict[str, Any], special_ids: dict[str, int]) -> dict[str, bytes]:
    """``tokenizer_config.json`` and ``special_tokens_map.json`` as transformers writes them."""
    specials: SpecialTokens = options["special_tokens"]
    token_map = specials.to_map()
    config: dict[str, Any] = {
        "tokenizer_class": "AlbertTokenizer",
        "do_lower_case": options["do_lower_case"],
        "remove_space": options["remove_space"],
        "keep_accents": options["keep_accents"],
        "model_max_length": options["model_max_length"],
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
    """What :func:`read_directory` found: file paths (or None) and constructor options."""

    spiece: str | None
    tokenizer_json: str | None
    options: dict[str, Any]


def _read_json(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(data).__name__}")
    return data


def read_directory(directory: str | os.PathLike[str]) -> TokenizerDirectory:
    """Locate the tokenizer files of ``directory`` and read its options."""
    path = os.fspath(directory)
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
    config: dict[str, Any] = {}
    token_map: dict[str, Any] = {}
    if os.path.isfile(os.path.join(path, TOKENIZER_CONFIG)):
        config = _read_json(os.path.join(path, TOKENIZER_CONFIG))
    if os.path.isfile(os.path.join(path, SPECIAL_TOKENS_MAP)):
        token_map = _read_json(os.path.join(path, SPECIAL_TOKENS_MAP))
    options: dict[str, Any] = {
        key: config[key] for key in ("do_lower_case", "remove_space", "keep_accents") if key in config
    }
    max_len = config.get("model_max_length")
    if isinstance(max_len, int) and 3 <= max_len <= 1_000_000:  # transformers writes 1e30 for "unbounded"
        options["model_max_length"] = max_len
    options["special_tokens"] = SpecialTokens.from_map({**config, **token_map})
    return TokenizerDirectory(found_spiece, found_json, options)
