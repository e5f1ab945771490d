"""Hugging Face-format tokenizer directories: writing them atomically, config files, reading them back.

A directory holds ``spiece.model`` (SentencePiece), ``tokenizer.json`` (Rust ``tokenizers``),
``tokenizer_config.json`` and ``special_tokens_map.json``; directories as published read as well: either
vocabulary file alone, ``added_tokens.json``, and the ``tokenizer_config.json`` of transformers 4.x or 5.x.
A save writes each of them atomically and commits them as one save
(:func:`albert_tok.io.atomic.write_directory`), ``tokenizer_config.json`` last; it touches no other file of the
directory (a model saved beside its tokenizer, a ``checkpoint/`` sub-directory, a user's files), so the
directory may be a mount point or sit under a read-only parent.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from albert_tok.api._added_tokens import ReadTokens
from albert_tok.api._encoding import MODEL_INPUT_NAMES
from albert_tok.engines import ALBERT_CONTROL_PIECES, ModelFormatError, model_from_tokenizer_json
from albert_tok.io import atomic, read_json, regular_file
from albert_tok.rules import MAX_LENGTH_LIMIT, AddedToken, Preprocessing, SpecialTokens, resolve_side

__all__ = [
    "ADDED_TOKENS",
    "BOOKKEEPING_KEYS",
    "CONFIG_KEYS",
    "FOREIGN_FILES",
    "SPECIAL_TOKENS_MAP",
    "SPIECE",
    "STALE_WITHOUT_ADDED_TOKENS",
    "TOKENIZER_CONFIG",
    "TOKENIZER_JSON",
    "V5_KEYS",
    "SavedOptions",
    "TokenizerDirectory",
    "config_files",
    "read_directory",
    "write_atomically",
]

SPIECE = "spiece.model"
TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"
ADDED_TOKENS = "added_tokens.json"
# Files a tokenizer save removes when it does not write them: a stale added_tokens.json would bring back
# tokens this save does not have.
STALE_WITHOUT_ADDED_TOKENS = (ADDED_TOKENS,)
# Files of other tokenizers: a directory holding one is not (only) an ALBERT tokenizer, and guessing which
# vocabulary was meant would drop the other silently.
FOREIGN_FILES = (
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spm.model",
    "tokenizer.model",
    "source.spm",
    "target.spm",
    "bpe.codes",
    "sentencepiece.model",
)
# tokenizer_config.json keys that are read (sp_model_kwargs and split_special_tokens only when they ask for
# nothing this loader lacks).
CONFIG_KEYS = (
    "tokenizer_class",
    "do_lower_case",
    "remove_space",
    "keep_accents",
    "model_max_length",
    "padding_side",
    "truncation_side",
    "clean_up_tokenization_spaces",
    "added_tokens_decoder",
    "additional_special_tokens",
    *SpecialTokens.__dataclass_fields__,
    "sp_model_kwargs",
    "split_special_tokens",
)
# Keys transformers writes that say nothing about tokenization (names, where files were, auto classes), and
# keys read only when they hold transformers' default (model_input_names, extra_special_tokens). Any other
# key is refused by name: dropping a setting silently would change ids or outputs behind the user's back.
BOOKKEEPING_KEYS = (
    "name_or_path",
    "auto_map",
    "processor_class",
    "tokenizer_file",
    "vocab_file",
    "special_tokens_map_file",
    "use_fast",
    "model_input_names",
    "extra_special_tokens",
)
# Keys transformers 5.x's AlbertTokenizer writes beside those, read in a config that says transformers 5.x wrote
# it (its "backend" key, which 5.x always writes): the backend that ran the tokenizer, where the files came from
# (is_local, local_files_only), a copy of the vocabulary's unknown id (unk_id: the vocabulary files decide, as in
# transformers 5.x), and two switches read only when they hold what every ALBERT tokenizer does (a space before
# the first word, offsets without the space). In a config without "backend" they are unknown keys, as before.
V5_KEYS = ("backend", "is_local", "local_files_only", "unk_id", "add_prefix_space", "trim_offsets")
_V5_BACKENDS = ("tokenizers", "sentencepiece")
_TOKENIZER_CLASSES = ("AlbertTokenizer", "AlbertTokenizerFast")

# The writer of each temporary file of a save; looked up per call, so a test can stand in a failing disk.
_write_file = atomic.write_synced


def write_atomically(
    directory: str,
    contents: dict[str, bytes],
    prefix: str | None = None,
    create: bool = False,
    remove: tuple[str, ...] = (),
    remove_first: tuple[str, ...] = (),
) -> list[str]:
    """Save ``contents`` (file name -> bytes) into ``directory`` as one committed save; return the paths.

    Files are named ``{prefix}-{name}`` with a ``prefix``. Other entries of the directory are left alone,
    except the files named in ``remove`` (what an earlier save wrote that this one must not leave behind),
    which go after the new files are in place, and those in ``remove_first`` (that a reader would take
    instead of the new files), which go once the save has committed, before any new file appears. With
    ``create`` a missing directory is made. See :func:`albert_tok.io.atomic.write_directory`.
    """
    names = {(f"{prefix}-{name}" if prefix else name): data for name, data in contents.items()}
    gone = [f"{prefix}-{name}" if prefix else name for name in remove]
    gone_first = [f"{prefix}-{name}" if prefix else name for name in remove_first]
    # _write_file is looked up per call, so a test can stand in a failing disk for it.
    return atomic.write_directory(
        directory, names, create=create, writer=lambda p, d: _write_file(p, d), remove=gone, remove_first=gone_first
    )


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


@dataclass(frozen=True)
class SavedOptions:
    """What a tokenizer writes into ``tokenizer_config.json``, ``special_tokens_map.json`` and
    ``added_tokens.json`` (see :func:`config_files`)."""

    preprocessing: Preprocessing
    special_tokens: SpecialTokens
    model_max_length: int
    added_tokens: Mapping[int, AddedToken]  # id -> token, special tokens of the vocabulary included
    additional_special_tokens: tuple[str, ...]
    vocab_size: int
    padding_side: str = "right"
    truncation_side: str = "right"
    clean_up_tokenization_spaces: bool = False


def config_files(saved: SavedOptions) -> dict[str, bytes]:
    """``tokenizer_config.json``, ``special_tokens_map.json`` and ``added_tokens.json`` as transformers' slow
    tokenizer writes them: ``added_tokens.json`` only when tokens were added after the vocabulary (a save
    removes the one an earlier save left in the directory, :data:`STALE_WITHOUT_ADDED_TOKENS`)."""
    by_content = {t.content: t for t in saved.added_tokens.values()}

    def entry(token: str) -> dict[str, Any]:
        found = by_content.get(token)
        if found is None:
            found = AddedToken(token, lstrip=saved.special_tokens.lstrip(token), normalized=False, special=True)
        out = found.entry()
        del out["special"]  # special_tokens_map.json leaves it out, as transformers does
        return out

    names = dataclasses.asdict(saved.special_tokens)
    token_map: dict[str, Any] = {name: entry(value) for name, value in names.items()}
    config: dict[str, Any] = {
        "tokenizer_class": "AlbertTokenizer",
        **saved.preprocessing.as_dict(),
        "model_max_length": saved.model_max_length,
        "clean_up_tokenization_spaces": saved.clean_up_tokenization_spaces,
        "padding_side": saved.padding_side,
        "truncation_side": saved.truncation_side,
        "added_tokens_decoder": {str(i): t.entry() for i, t in sorted(saved.added_tokens.items())},
        **names,  # plain strings; the options of each token live in added_tokens_decoder
    }
    if saved.additional_special_tokens:
        config["additional_special_tokens"] = list(saved.additional_special_tokens)
        token_map["additional_special_tokens"] = [entry(t) for t in saved.additional_special_tokens]
    beyond = {t.content: i for i, t in saved.added_tokens.items() if i >= saved.vocab_size}
    out = {TOKENIZER_CONFIG: _json_bytes(config), SPECIAL_TOKENS_MAP: _json_bytes(token_map)}
    if beyond:
        out[ADDED_TOKENS] = _json_bytes(beyond)
    return out


@dataclass(frozen=True)
class TokenizerDirectory:
    """What :func:`read_directory` found: file paths (or None) and constructor options
    (``preprocessing``, ``special_tokens`` and, when the config sets a usable one, ``model_max_length``).

    Without ``spiece.model``, ``spiece_bytes`` holds the SentencePiece model rebuilt from ``tokenizer.json``
    (:func:`albert_tok.engines.model_from_tokenizer_json`), or None with ``rebuild_error`` saying why it could
    not be (a ``tokenizer.json`` that was not converted from an ALBERT ``spiece.model``)."""

    spiece: str | None
    tokenizer_json: str | None
    options: dict[str, Any]
    spiece_bytes: bytes | None = None
    rebuild_error: str | None = None


# A wrong JSON type inside a file is bad file content, so these raise ValueError (like malformed JSON),
# never TypeError, which would point at the caller's arguments.


def _present(path: str) -> str | None:
    """``path`` when it names a regular file, None when nothing is there. A directory, device or FIFO in
    place of a tokenizer file raises ``NotARegularFileError`` (it is never read, nor silently skipped)."""
    if not os.path.lexists(path):
        return None
    return regular_file(path, "tokenizer file")


def _read_json(path: str) -> dict[str, Any]:
    data = read_json(path, "tokenizer file")  # "PATH: ..." for invalid JSON, not UTF-8, nested too deeply
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(data).__name__}")
    return data


def _preprocessing(config: dict[str, Any], path: str) -> Preprocessing:
    switches: dict[str, bool] = {}
    for key in Preprocessing().as_dict():
        value = config.get(key)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise ValueError(f"{path}: {key} must be true or false, got {value!r:.60}")
        switches[key] = value
    return Preprocessing(**switches)


def _model_max_length(config: dict[str, Any], path: str) -> int | None:
    value = config.get("model_max_length")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{path}: model_max_length must be a number, got {value!r:.60}")
    # transformers writes a huge model_max_length (1e30) for "unbounded"; such values are not read
    if isinstance(value, int) and 3 <= value <= MAX_LENGTH_LIMIT:
        return value
    return None  # "unbounded" or unusable: the tokenizer keeps its default


def _side(config: dict[str, Any], key: str, path: str) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    try:
        return resolve_side(key, value).value
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _check_config(config: dict[str, Any], path: str) -> None:
    """Refuse what this loader cannot honour, naming the file: another tokenizer class, SentencePiece
    sampling options, ``split_special_tokens``."""
    name = config.get("tokenizer_class")
    if name is not None and name not in _TOKENIZER_CLASSES:
        raise ValueError(
            f"{path}: tokenizer_class {name!r} is not an ALBERT tokenizer; this loader reads "
            f"{list(_TOKENIZER_CLASSES)} directories only"
        )
    kwargs = config.get("sp_model_kwargs")
    if kwargs not in (None, {}):
        raise ValueError(
            f"{path}: sp_model_kwargs {kwargs!r:.80} would change SentencePiece's segmentation "
            f"(sampling); only the canonical segmentation is supported, remove the key"
        )
    if config.get("split_special_tokens") not in (None, False):
        raise ValueError(
            f"{path}: split_special_tokens={config['split_special_tokens']!r} is not supported "
            f"(special tokens written in text are always recognised)"
        )
    names = config.get("model_input_names")
    if names is not None and names != list(MODEL_INPUT_NAMES):
        raise ValueError(
            f"{path}: model_input_names {names!r:.80} is not supported; ALBERT tokenizers return "
            f"{list(MODEL_INPUT_NAMES)} (remove the key)"
        )
    extra = config.get("extra_special_tokens")
    if isinstance(extra, dict) and extra:
        raise ValueError(
            f"{path}: extra_special_tokens {extra!r:.80} (named extra special tokens) are not "
            f"supported; list them in additional_special_tokens instead"
        )
    if extra is not None and not isinstance(extra, (dict, list)):
        raise ValueError(
            f"{path}: extra_special_tokens must be a list of tokens (transformers 5.x) or an empty "
            f"object, got {type(extra).__name__}"
        )
    v5 = "backend" in config
    if v5:
        _check_v5(config, path)
    understood = {*CONFIG_KEYS, *BOOKKEEPING_KEYS, *(V5_KEYS if v5 else ())}
    unknown = sorted(set(config) - understood)
    if unknown:
        raise ValueError(
            f"{path}: key(s) {unknown} are not understood by this loader, and dropping them could "
            f"change what the tokenizer does; it reads {list(CONFIG_KEYS)} and ignores "
            f"{list(BOOKKEEPING_KEYS)} (and, in a config transformers 5.x wrote, {list(V5_KEYS)}). "
            f"Remove the key(s) if they do not matter to you"
        )


def _check_v5(config: dict[str, Any], path: str) -> None:
    """The :data:`V5_KEYS` of a config transformers 5.x wrote: refuse what would change the ids."""
    backend = config["backend"]
    if backend not in _V5_BACKENDS:
        raise ValueError(
            f"{path}: backend {backend!r:.60} is not one transformers 5.x runs ALBERT with "
            f"({list(_V5_BACKENDS)}); this loader reads ALBERT tokenizer directories only"
        )
    unk_id = config.get("unk_id")
    if unk_id is not None and (isinstance(unk_id, bool) or not isinstance(unk_id, int) or unk_id < 0):
        raise ValueError(f"{path}: unk_id must be a non-negative int, got {unk_id!r:.40}")
    for key, what in (
        ("add_prefix_space", "a space is put before the first word, as SentencePiece does"),
        ("trim_offsets", "offsets never cover the space a piece stands for"),
    ):
        if config.get(key) not in (None, True):
            raise ValueError(
                f"{path}: {key}={config[key]!r:.40} is not supported: in ALBERT's tokenization {what}; "
                f"remove the key or set it to true"
            )


def _check_token_map(token_map: dict[str, Any], path: str) -> None:
    unknown = sorted(set(token_map) - {*SpecialTokens.__dataclass_fields__, "additional_special_tokens"})
    if unknown:
        raise ValueError(
            f"{path}: key(s) {unknown} are not special tokens this loader knows "
            f"({[*SpecialTokens.__dataclass_fields__, 'additional_special_tokens']}); remove them "
            f"or add such tokens with additional_special_tokens"
        )


def _added_tokens(
    path: str, config: dict[str, Any], config_path: str, tok_json: str | None, special: set[str]
) -> ReadTokens:
    """Added tokens from ``added_tokens_decoder`` (tokenizer_config.json), tokenizer.json's ``added_tokens``
    and ``added_tokens.json``, merged: each file may know tokens the others do not, but two files that give
    one id to different tokens (or one token to different ids) raise ``ValueError`` naming both. Options
    come from the first file that has the token, in that order (added_tokens.json has none: transformers'
    defaults, ``normalized`` unless special)."""
    sources: list[tuple[str, list[tuple[int, AddedToken]]]] = []  # (file, [(id, token)]) in file order
    decoder = config.get("added_tokens_decoder")
    if decoder is not None:
        if not isinstance(decoder, dict):
            raise ValueError(
                f"{config_path}: added_tokens_decoder must be an object of id -> token, got {type(decoder).__name__}"
            )
        found: list[tuple[int, AddedToken]] = []
        for key, value in decoder.items():
            if not str(key).isdigit():
                raise ValueError(f"{config_path}: added_tokens_decoder key {key!r} is not a token id")
            found.append((int(key), AddedToken.coerce(value, source=f"{config_path}: added_tokens_decoder[{key!r}]")))
        sources.append((config_path, found))
    if tok_json is not None:
        try:
            entries = read_json(tok_json, "tokenizer file").get("added_tokens") or []
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"{tok_json} is not a valid tokenizer.json ({exc})") from exc
        if not isinstance(entries, list):
            raise ValueError(f"{tok_json}: added_tokens must be a list, got {type(entries).__name__}")
        found = []
        for k, item in enumerate(entries):
            if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                raise ValueError(f'{tok_json}: added_tokens[{k}] has no integer "id" ({item!r:.80})')
            fields = {key: v for key, v in item.items() if key != "id"}
            found.append((item["id"], AddedToken.coerce(fields, source=f"{tok_json}: added_tokens[{k}]")))
        sources.append((tok_json, found))
    legacy = os.path.join(path, ADDED_TOKENS)
    if _present(legacy):
        found = []
        for content, index in _read_json(legacy).items():
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise ValueError(f"{legacy}: the id of {content!r} must be a non-negative int, got {index!r:.40}")
            is_special = content in special
            found.append(
                (
                    index,
                    AddedToken.coerce(
                        {"content": content, "normalized": not is_special, "special": is_special},
                        source=f"{legacy}: {content!r}",
                    ),
                )
            )
        sources.append((legacy, found))
    merged: dict[int, AddedToken] = {}
    origin: dict[int, str] = {}
    ids_of: dict[str, tuple[int, str]] = {}
    for where, tokens in sources:
        for index, token in tokens:
            if index in merged and merged[index].content != token.content:
                raise ValueError(
                    f"{origin[index]} gives id {index} to {merged[index].content!r} but {where} gives "
                    f"it to {token.content!r}; the directory is inconsistent"
                )
            known = ids_of.get(token.content)
            if known is not None and known[0] != index:
                raise ValueError(
                    f"{known[1]} gives {token.content!r} the id {known[0]} but {where} gives it "
                    f"{index}; the directory is inconsistent"
                )
            if index not in merged:
                merged[index], origin[index] = token, where
                ids_of[token.content] = (index, where)
    return ReadTokens(merged, origin)


def read_directory(directory: str | os.PathLike[str]) -> TokenizerDirectory:
    """Locate the tokenizer files of ``directory`` and read its options.

    Reads the keys of ``tokenizer_config.json`` in :data:`CONFIG_KEYS` (ignoring :data:`BOOKKEEPING_KEYS`, and
    :data:`V5_KEYS` in a config transformers 5.x wrote, whose ``extra_special_tokens`` list is its name for
    ``additional_special_tokens``), ``special_tokens_map.json``, ``added_tokens.json`` and the ``added_tokens``
    of ``tokenizer.json``. What
    cannot be honoured raises ``ValueError`` naming the file: unknown or malformed keys, another
    ``tokenizer_class``, files of another tokenizer (:data:`FOREIGN_FILES`), added tokens whose ids disagree
    between files. A save that was killed halfway
    is finished (or, if it had not committed, undone) first (:func:`albert_tok.io.atomic.recover`). A
    directory, device or FIFO in place of one of the files raises ``NotARegularFileError``. Without
    ``spiece.model``, the SentencePiece model is rebuilt from ``tokenizer.json`` where it was converted from one
    (``spiece_bytes`` of the result; ``rebuild_error`` says why not otherwise).
    """
    path = os.fspath(directory)
    atomic.recover(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(
            f"tokenizer directory {path!r} does not exist: pass a directory holding {SPIECE} or "
            f"{TOKENIZER_JSON}, or a Hugging Face repo id to from_pretrained"
        )
    for name in FOREIGN_FILES:
        if os.path.exists(os.path.join(path, name)):
            raise ValueError(
                f"{os.path.join(path, name)} belongs to another kind of tokenizer (ALBERT uses "
                f"{SPIECE}/{TOKENIZER_JSON}); remove it or load the directory with its own tokenizer"
            )
    spiece = os.path.join(path, SPIECE)
    tok_json = os.path.join(path, TOKENIZER_JSON)
    found_spiece = _present(spiece)
    found_json = _present(tok_json)
    if found_spiece is None and found_json is None:
        raise FileNotFoundError(
            f"{path!r} holds neither {SPIECE} nor {TOKENIZER_JSON}; it is not a tokenizer directory"
        )
    config_path = os.path.join(path, TOKENIZER_CONFIG)
    map_path = os.path.join(path, SPECIAL_TOKENS_MAP)
    config = _read_json(config_path) if _present(config_path) else {}
    token_map = _read_json(map_path) if _present(map_path) else {}
    _check_config(config, config_path)
    _check_token_map(token_map, map_path)
    tokens = {**SpecialTokens.entries_of(config, config_path), **SpecialTokens.entries_of(token_map, map_path)}
    specials = SpecialTokens(**tokens)
    additional = _additional(token_map, map_path)
    if additional is None:
        additional = _additional(config, config_path) or []
        # transformers 5.x writes additional_special_tokens as a list named extra_special_tokens, where it
        # also lists the special tokens that already have a name (<pad>, [CLS], ...): those stay named only
        renamed = _additional(config, config_path, "extra_special_tokens") or []
        additional += [t for t in renamed if t not in additional and t not in specials.all_tokens]
    options: dict[str, Any] = {"preprocessing": _preprocessing(config, config_path), "special_tokens": specials}
    added = _added_tokens(path, config, config_path, found_json, {*specials.all_tokens, *additional})
    if added:
        options["added_tokens_decoder"] = added
    if additional:
        options["additional_special_tokens"] = additional
    max_len = _model_max_length(config, config_path)
    if max_len is not None:
        options["model_max_length"] = max_len
    for key in ("padding_side", "truncation_side"):
        side = _side(config, key, config_path)
        if side is not None:
            options[key] = side
    clean = config.get("clean_up_tokenization_spaces")
    if clean is not None:
        if not isinstance(clean, bool):
            raise ValueError(f"{config_path}: clean_up_tokenization_spaces must be true or false, got {clean!r:.40}")
        options["clean_up_tokenization_spaces"] = clean
    if found_spiece is None and found_json is not None:
        rebuilt, error = _rebuild_spiece(found_json, specials)
        return TokenizerDirectory(found_spiece, found_json, options, rebuilt, error)
    return TokenizerDirectory(found_spiece, found_json, options)


def _rebuild_spiece(tok_json: str, specials: SpecialTokens) -> tuple[bytes | None, str | None]:
    """The ``spiece.model`` a ``tokenizer.json`` was converted from, or None and why it cannot be rebuilt."""
    data = read_json(tok_json, "tokenizer file")  # already read once for its added tokens: valid JSON
    if not isinstance(data, dict):
        return None, f"{tok_json} must hold a JSON object"
    try:
        control = ALBERT_CONTROL_PIECES | set(specials.all_tokens)
        return model_from_tokenizer_json(data, control, where=tok_json), None
    except ModelFormatError as exc:
        return None, str(exc)


def _additional(data: dict[str, Any], path: str, key: str = "additional_special_tokens") -> list[str] | None:
    value = data.get(key)
    if value is None or (key == "extra_special_tokens" and value == {}):
        return None
    if not isinstance(value, list):
        raise ValueError(f"{path}: {key} must be a list, got {type(value).__name__}")
    return [AddedToken.coerce(v, special=True, source=f"{path}: {key}[{i}]").content for i, v in enumerate(value)]
