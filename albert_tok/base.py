"""Behaviour shared by the slow and fast ALBERT tokenizers.

A subclass supplies three things: :meth:`AlbertTokenizerBase._encode_texts` (canonical ids of raw texts,
without special tokens, optionally with character offsets), :attr:`_pieces` (the vocabulary in id order)
and :meth:`_model_file_contents` (the vocabulary files it can write). Everything a user calls, from
``__call__`` to ``decode`` and ``save_pretrained``, is defined here once, so the two classes cannot drift
apart.

``__call__`` runs four steps, each a method a later feature can reuse or extend:
:meth:`~AlbertTokenizerBase._check_call` (arguments -> :class:`CallOptions`), :meth:`~AlbertTokenizerBase._rows`
(texts -> :class:`Rows`: per row the ids with special tokens, their offsets and sequence ids),
:func:`albert_tok.batch.arrays` (rows -> padded numpy arrays) and :func:`albert_tok.batch.format_encoding`
(arrays -> :class:`BatchEncoding`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from . import files
from .batch import CallOptions, Rows, arrays, format_encoding, join
from .encoding import TENSOR_TYPES, BatchEncoding
from .offsets import Offsets
from .padding import Padding, Truncation, check_length, resolve_padding, resolve_truncation, truncate_pair
from .special_tokens import (
    SpecialTokens,
    build_inputs,
    num_special_tokens,
    special_tokens_mask,
    token_type_ids,
)
from .spm_model import SPIECE_UNDERLINE
from .text import Preprocessing

__all__ = ["MODEL_MAX_LENGTH", "AlbertTokenizerBase"]

MODEL_MAX_LENGTH = 512
_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_items(value: Sequence[Any], name: str) -> list[str]:
    """Every item a str that can be encoded as UTF-8 (``text[i]`` names the item in errors)."""
    for i, item in enumerate(value):
        if not isinstance(item, str):
            kind = "a nested list" if isinstance(item, (list, tuple)) else type(item).__name__
            raise TypeError(f"{name}[{i}] is {kind} ({item!r:.60}); every item must be a str "
                            f"(pre-tokenized input is not supported)")
        if not item.isascii():
            bad = _SURROGATE.search(item)
            if bad is not None:
                raise ValueError(f"{name}[{i}] is not valid UTF-8: lone surrogate U+{ord(bad.group()):04X} at "
                                 f"index {bad.start()}; decode bytes with errors='replace' or remove it")
    return list(value)


def _check_texts(text: Any, text_pair: Any) -> tuple[bool, list[str], list[str] | None]:
    """Validate ``text``/``text_pair``; return (batched, texts, pairs). A single str is item 0."""
    if isinstance(text, str):
        if text_pair is not None and not isinstance(text_pair, str):
            raise TypeError(f"text is a str, so text_pair must be a str or None, got {type(text_pair).__name__}")
        return False, _check_items([text], "text"), None if text_pair is None else _check_items([text_pair],
                                                                                              "text_pair")
    if isinstance(text, (list, tuple)):
        texts = _check_items(text, "text")
        if text_pair is None:
            return True, texts, None
        if not isinstance(text_pair, (list, tuple)):
            raise TypeError(f"text is a list, so text_pair must be a list of str or None, got "
                            f"{type(text_pair).__name__}")
        pairs = _check_items(text_pair, "text_pair")
        if len(pairs) != len(texts):
            raise ValueError(f"text has {len(texts)} items but text_pair has {len(pairs)}; they must match")
        return True, texts, pairs
    raise TypeError(f"text must be a str or a list of str, got {type(text).__name__} ({text!r:.60})")


def _as_id_list(ids: Any) -> list[int]:
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    if isinstance(ids, int):
        return [ids]
    if not isinstance(ids, (list, tuple)) or not all(isinstance(i, int) for i in ids):
        raise TypeError(f"token ids must be an int or a flat list of int, got {ids!r:.80}")
    return list(ids)


def pieces_to_text(pieces: Sequence[str]) -> str:
    """SentencePiece's decoding of ordinary pieces: ``▁`` becomes a space, and the leading ``▁`` of the
    text (the dummy prefix) is dropped, as long as nothing visible has been written yet."""
    out: list[str] = []
    at_start = True
    for piece in pieces:
        if at_start and piece.startswith(SPIECE_UNDERLINE):
            piece = piece[1:]
        surface = piece.replace(SPIECE_UNDERLINE, " ")
        if surface:
            at_start = False
        out.append(surface)
    return "".join(out)


def clean_up_tokenization(text: str) -> str:
    """transformers' ``clean_up_tokenization`` (spaces before punctuation and English contractions)."""
    for old, new in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                     (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(old, new)
    return text


class AlbertTokenizerBase:
    """The shared public API; see :class:`albert_tok.AlbertTokenizer` for the arguments."""

    _pieces: list[str]
    _piece_to_id: dict[str, int]
    supports_offsets = False

    def __init__(self, *, preprocessing: Preprocessing | None = None, do_lower_case: bool | None = None,
                 remove_space: bool | None = None, keep_accents: bool | None = None,
                 special_tokens: SpecialTokens | None = None, model_max_length: int = MODEL_MAX_LENGTH,
                 **tokens: str) -> None:
        """The constructor arguments both tokenizers share. Switches given one by one override the
        ``preprocessing`` they come with; special tokens come as one ``special_tokens`` or as
        ``*_token`` keyword arguments, not both."""
        if preprocessing is None:
            preprocessing = Preprocessing()
        elif not isinstance(preprocessing, Preprocessing):
            raise TypeError(f"preprocessing must be an albert_tok.Preprocessing, got {type(preprocessing).__name__}")
        self.preprocessing = preprocessing.with_overrides(do_lower_case=do_lower_case, remove_space=remove_space,
                                                          keep_accents=keep_accents)
        if special_tokens is None:
            names = set(SpecialTokens.__dataclass_fields__)
            unknown = sorted(set(tokens) - names)
            if unknown:
                raise TypeError(f"unexpected argument(s) {unknown}; special tokens are passed as "
                                f"{sorted(names)} or special_tokens=SpecialTokens(...)")
            special_tokens = SpecialTokens(**tokens)
        elif tokens:
            raise TypeError("pass either special_tokens or individual *_token arguments, not both")
        elif not isinstance(special_tokens, SpecialTokens):
            raise TypeError(f"special_tokens must be an albert_tok.SpecialTokens, got {type(special_tokens).__name__}")
        self.special_tokens = special_tokens
        check_length("model_max_length", model_max_length, minimum=3)
        self.model_max_length = model_max_length

    @property
    def do_lower_case(self) -> bool:
        return self.preprocessing.do_lower_case

    @property
    def remove_space(self) -> bool:
        return self.preprocessing.remove_space

    @property
    def keep_accents(self) -> bool:
        return self.preprocessing.keep_accents

    @staticmethod
    def _pretrained_options(found: files.TokenizerDirectory, overrides: dict[str, Any]) -> dict[str, Any]:
        """Options read from a directory with the caller's ``overrides`` on top (switches and ``*_token``
        arguments override single fields of what was read)."""
        options = {**found.options}
        token_names = set(SpecialTokens.__dataclass_fields__)
        tokens = {k: overrides.pop(k) for k in list(overrides) if k in token_names}
        if tokens and "special_tokens" not in overrides:
            options["special_tokens"] = dataclasses.replace(options["special_tokens"], **tokens)
        elif tokens:
            raise TypeError("pass either special_tokens or individual *_token arguments, not both")
        return {**options, **overrides}

    # -- what subclasses provide -------------------------------------------------------------------
    def _encode_texts(self, texts: list[str], with_offsets: bool) -> tuple[list[list[int]], list[Offsets] | None]:
        raise NotImplementedError

    def _options(self) -> dict[str, Any]:
        return {"preprocessing": self.preprocessing, "special_tokens": self.special_tokens,
                "model_max_length": self.model_max_length}

    # -- vocabulary --------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self._pieces)

    def __len__(self) -> int:
        return len(self._pieces)

    def get_vocab(self) -> dict[str, int]:
        return dict(self._piece_to_id)

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int]:
        if isinstance(tokens, str):
            return self._piece_to_id.get(tokens, self.unk_token_id)
        return [self._piece_to_id.get(t, self.unk_token_id) for t in tokens]

    def convert_ids_to_tokens(self, ids: int | Iterable[int],
                              skip_special_tokens: bool = False) -> str | list[str]:
        single = isinstance(ids, int)
        id_list = _as_id_list(ids)
        size = len(self._pieces)
        for i in id_list:
            if not 0 <= i < size:
                raise ValueError(f"token id {i} is outside the vocabulary (0..{size - 1})")
        special = self.all_special_ids if skip_special_tokens else ()
        tokens = [self._pieces[i] for i in id_list if i not in special]
        return tokens[0] if single and tokens else tokens

    # -- special tokens ----------------------------------------------------------------------------
    def _special_id(self, token: str) -> int:
        return self._piece_to_id[token]

    @property
    def unk_token(self) -> str:
        return self.special_tokens.unk_token

    @property
    def sep_token(self) -> str:
        return self.special_tokens.sep_token

    @property
    def pad_token(self) -> str:
        return self.special_tokens.pad_token

    @property
    def cls_token(self) -> str:
        return self.special_tokens.cls_token

    @property
    def mask_token(self) -> str:
        return self.special_tokens.mask_token

    @property
    def unk_token_id(self) -> int:
        return self._special_id(self.special_tokens.unk_token)

    @property
    def sep_token_id(self) -> int:
        return self._special_id(self.special_tokens.sep_token)

    @property
    def pad_token_id(self) -> int:
        return self._special_id(self.special_tokens.pad_token)

    @property
    def cls_token_id(self) -> int:
        return self._special_id(self.special_tokens.cls_token)

    @property
    def mask_token_id(self) -> int:
        return self._special_id(self.special_tokens.mask_token)

    @property
    def all_special_tokens(self) -> list[str]:
        return list(self.special_tokens.all_tokens)

    @property
    def all_special_ids(self) -> list[int]:
        return [self._special_id(t) for t in self.special_tokens.all_tokens]

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return num_special_tokens(pair)

    def build_inputs_with_special_tokens(self, token_ids_0: list[int],
                                         token_ids_1: list[int] | None = None) -> list[int]:
        return build_inputs(list(token_ids_0), None if token_ids_1 is None else list(token_ids_1),
                            self.cls_token_id, self.sep_token_id)

    def get_special_tokens_mask(self, token_ids_0: list[int], token_ids_1: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError("token_ids_1 must be None when already_has_special_tokens=True "
                                 "(pass the full sequence as token_ids_0)")
            special = set(self.all_special_ids)
            return [1 if i in special else 0 for i in token_ids_0]
        return special_tokens_mask(len(token_ids_0), None if token_ids_1 is None else len(token_ids_1))

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int],
                                             token_ids_1: list[int] | None = None) -> list[int]:
        return token_type_ids(len(token_ids_0), None if token_ids_1 is None else len(token_ids_1))

    # -- encoding ----------------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[str]:
        """The canonical pieces of ``text`` (no special tokens added)."""
        if not isinstance(text, str):
            raise TypeError(f"tokenize takes one str, got {type(text).__name__}")
        _, texts, _ = _check_texts(text, None)
        ids = self._encode_texts(texts, False)[0][0]
        return [self._pieces[i] for i in ids]

    def encode(self, text: str, text_pair: str | None = None, add_special_tokens: bool = True,
               **kwargs: Any) -> list[int]:
        """``input_ids`` of one text (or pair) as a list."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes one str (use __call__ for batches), got {type(text).__name__}")
        return self(text, text_pair, add_special_tokens=add_special_tokens, **kwargs)["input_ids"]

    def __call__(self, text: str | Sequence[str], text_pair: str | Sequence[str] | None = None, *,
                 add_special_tokens: bool = True, padding: bool | str = False,
                 truncation: bool | str | None = None, max_length: int | None = None,
                 pad_to_multiple_of: int | None = None, return_tensors: str | None = None,
                 return_token_type_ids: bool = True, return_attention_mask: bool = True,
                 return_special_tokens_mask: bool = False, return_offsets_mapping: bool = False,
                 return_length: bool = False) -> BatchEncoding:
        """Tokenize one text, a pair, or a batch, with Hugging Face's arguments and semantics."""
        batched, texts, pairs = _check_texts(text, text_pair)
        options = self._check_call(
            pair=pairs is not None, add_special_tokens=add_special_tokens, padding=padding, truncation=truncation,
            max_length=max_length, pad_to_multiple_of=pad_to_multiple_of, return_tensors=return_tensors,
            return_token_type_ids=return_token_type_ids, return_attention_mask=return_attention_mask,
            return_special_tokens_mask=return_special_tokens_mask, return_offsets_mapping=return_offsets_mapping,
            return_length=return_length)
        rows = self._rows(texts, pairs, options)
        if options.truncation is Truncation.DO_NOT_TRUNCATE and len(texts):
            longest = int(rows.lengths.max())
            if longest > self.model_max_length:
                warnings.warn(f"Token indices sequence length is longer than the specified maximum sequence "
                              f"length for this model ({longest} > {self.model_max_length}). Running this "
                              f"sequence through the model will result in indexing errors; pass truncation=True.",
                              stacklevel=2)
        width, padded = arrays(rows, options, self.pad_token_id)
        return format_encoding(rows, padded, width, options, batched)

    def _check_call(self, *, pair: bool, add_special_tokens: bool, padding: Any, truncation: Any,
                    max_length: Any, pad_to_multiple_of: Any, return_tensors: Any,
                    **flags: bool) -> CallOptions:
        """Step 1: validate ``__call__``'s arguments and settle the defaults transformers applies."""
        pad = resolve_padding(padding)
        if return_tensors not in TENSOR_TYPES:
            raise ValueError(f"return_tensors={return_tensors!r} is not supported; accepted: None, 'np', 'pt'")
        check_length("max_length", max_length)
        check_length("pad_to_multiple_of", pad_to_multiple_of)
        if truncation is None and max_length is not None and pad is not Padding.MAX_LENGTH:
            warnings.warn("max_length is given without truncation; truncating with 'longest_first' as "
                          "transformers does. Pass truncation=True to silence this.", stacklevel=3)
            truncation = True
        trunc = resolve_truncation(truncation)
        if trunc is not Truncation.DO_NOT_TRUNCATE or pad is Padding.MAX_LENGTH:
            max_length = self.model_max_length if max_length is None else max_length
        if flags["return_offsets_mapping"] and not self.supports_offsets:
            raise NotImplementedError(f"return_offsets_mapping is not available with {type(self).__name__}; "
                                      "use AlbertTokenizerFast")
        n_special = num_special_tokens(pair) if add_special_tokens else 0
        if trunc is not Truncation.DO_NOT_TRUNCATE and max_length < n_special:
            raise ValueError(f"max_length={max_length} is smaller than the {n_special} special tokens "
                             f"this input needs; use max_length >= {n_special}")
        return CallOptions(add_special_tokens=bool(add_special_tokens), padding=pad, truncation=trunc,
                           max_length=max_length, pad_to_multiple_of=pad_to_multiple_of,
                           return_tensors=return_tensors, **flags)

    def _rows(self, texts: list[str], pairs: list[str] | None, options: CallOptions) -> Rows:
        """Step 2: encode, truncate and add special tokens, row by row (no padding yet)."""
        with_offsets = options.return_offsets_mapping
        ids_a, offs_a = self._encode_texts(texts, with_offsets)
        ids_b, offs_b = self._encode_texts(pairs, with_offsets) if pairs is not None else (None, None)
        n = len(ids_a)
        n_special = num_special_tokens(pairs is not None) if options.add_special_tokens else 0
        budget = None
        if options.truncation is not Truncation.DO_NOT_TRUNCATE and options.max_length is not None:
            budget = options.max_length - n_special
        rows = Rows([], [] if with_offsets else None, np.zeros(n, dtype=np.int64),
                    None if ids_b is None else np.zeros(n, dtype=np.int64), options.add_special_tokens)
        cls_id, sep_id = self.cls_token_id, self.sep_token_id
        for i, a in enumerate(ids_a):
            b = None if ids_b is None else ids_b[i]
            len_a, len_b = len(a), None if b is None else len(b)
            if budget is not None:
                len_a, len_b = truncate_pair(len_a, len_b, budget, options.truncation)
            rows.len_a[i] = len_a
            if rows.len_b is not None and b is not None and len_b is not None:
                rows.len_b[i] = len_b
                b = b[:len_b]
            rows.input_ids.append(join(a[:len_a], b, cls_id, sep_id, options.add_special_tokens))
            if rows.offsets is not None and offs_a is not None:
                ob = None if offs_b is None or len_b is None else offs_b[i][:len_b]
                rows.offsets.append(join(offs_a[i][:len_a], ob, (0, 0), (0, 0), options.add_special_tokens))
        return rows

    # -- decoding ----------------------------------------------------------------------------------
    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Join pieces into text; special tokens are written as they are, set off by a space."""
        special = set(self.all_special_tokens)
        out = ""
        current: list[str] = []
        prev_is_special = False
        for token in tokens:
            if token in special:
                if not prev_is_special:
                    out += " "
                out += pieces_to_text(current) + token
                prev_is_special = True
                current = []
            else:
                current.append(token)
                prev_is_special = False
        out += pieces_to_text(current)
        return out.strip()

    def decode(self, token_ids: Any, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool = False) -> str:
        """Text of ``token_ids`` (an int, a list, a numpy array or a 1-D tensor)."""
        tokens = self.convert_ids_to_tokens(_as_id_list(token_ids), skip_special_tokens=skip_special_tokens)
        text = self.convert_tokens_to_string([tokens] if isinstance(tokens, str) else tokens)
        return clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def batch_decode(self, sequences: Any, skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: bool = False) -> list[str]:
        if hasattr(sequences, "tolist"):
            sequences = sequences.tolist()
        return [self.decode(s, skip_special_tokens, clean_up_tokenization_spaces) for s in sequences]

    # -- saving ------------------------------------------------------------------------------------
    def save_vocabulary(self, save_directory: str | os.PathLike[str],
                        filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write the vocabulary files (``spiece.model`` and/or ``tokenizer.json``); return their paths."""
        directory = os.fspath(save_directory)
        if not os.path.isdir(directory):
            raise NotADirectoryError(f"save_vocabulary needs an existing directory, got {directory!r}")
        return tuple(files.write_atomically(directory, self._model_file_contents(), filename_prefix))

    def save_pretrained(self, save_directory: str | os.PathLike[str]) -> tuple[str, ...]:
        """Write a Hugging Face-format tokenizer directory; files appear complete or not at all."""
        contents = self._model_file_contents()
        special_ids = {t: self._special_id(t) for t in self.all_special_tokens}
        contents.update(files.config_files(self.preprocessing, self.special_tokens, self.model_max_length,
                                           special_ids))
        return tuple(files.write_atomically(os.fspath(save_directory), contents, None, create=True))

    def _model_file_contents(self) -> dict[str, bytes]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(vocab_size={self.vocab_size}, do_lower_case={self.do_lower_case}, "
                f"remove_space={self.remove_space}, keep_accents={self.keep_accents}, "
                f"model_max_length={self.model_max_length})")
