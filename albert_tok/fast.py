"""The fast ALBERT tokenizer: a thin class around a Rust ``tokenizers.Tokenizer``.

The Rust tokenizer is built by :mod:`albert_tok.convert` from ``spiece.model`` (or read from a
``tokenizer.json``) and does all the work on whole batches. Two SentencePiece rules cannot live in a
Unigram model and are applied afterwards, only to the rows that need them (found with set and numpy
tests, not per-token Python loops): the digit-comma rule (a per-piece table) and SentencePiece's float32
tie-breaking (:mod:`albert_tok.unigram`: such rows are re-encoded by SentencePiece itself).
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from . import files
from .base import AlbertTokenizerBase, Offsets
from .convert import build_tokenizer, digit_comma_table, grapheme_risk_pattern
from .special_tokens import SpecialTokens
from .spm_model import ModelFormatError, parse_model
from .slow import AlbertTokenizer, load_spiece_bytes
from .unigram import TieDetector

__all__ = ["AlbertTokenizerFast", "tokenizer_json_bytes", "remap_offsets"]

_SWITCHES = ("do_lower_case", "remove_space", "keep_accents")


def _build_from_spiece(model_bytes: bytes, options: dict[str, Any], source: str) -> Tokenizer:
    try:
        model = parse_model(model_bytes)
    except ModelFormatError as exc:
        raise ValueError(f"{source} is not a valid SentencePiece model ({exc}); expected an ALBERT "
                         f"spiece.model") from exc
    return build_tokenizer(model, options["special_tokens"],
                           **{k: options[k] for k in _SWITCHES})


def tokenizer_json_bytes(model_bytes: bytes, options: dict[str, Any]) -> bytes:
    """``tokenizer.json`` content for a SentencePiece model and tokenizer options."""
    return _build_from_spiece(model_bytes, options, "model_bytes").to_str(pretty=True).encode("utf-8")


def remap_offsets(old_pieces: list[str], old_offsets: Offsets, new_pieces: list[str]) -> Offsets:
    """Offsets for ``new_pieces``, a re-segmentation of the same text as ``old_pieces``.

    Positions are counted from the end of the old piece that holds them, since a leading ``▁`` may stand
    for no character of the original text.
    """
    bounds: list[tuple[int, int, int, int]] = []  # (piece start, piece end, offset start, offset end)
    pos = 0
    for piece, (s, e) in zip(old_pieces, old_offsets):
        bounds.append((pos, pos + len(piece), s, e))
        pos += len(piece)

    def locate(p: int, is_end: bool) -> int:
        for start, end, s, e in bounds:
            if start <= p < end or (is_end and start < p <= end):
                return max(s, e - (end - p))
        return bounds[-1][3]

    out: Offsets = []
    pos = 0
    for piece in new_pieces:
        out.append((locate(pos, False), locate(pos + len(piece), True)))
        pos += len(piece)
    return out


class AlbertTokenizerFast(AlbertTokenizerBase):
    """ALBERT tokenizer on the Rust ``tokenizers`` library, with the same ids as :class:`AlbertTokenizer`.

    Args:
        vocab_file: ``spiece.model`` to convert (preferred: the conversion is this package's own).
        tokenizer_file: a ``tokenizer.json`` to load when no ``spiece.model`` is given.
        do_lower_case, remove_space, keep_accents: ALBERT's preprocessing switches (used when converting
            ``spiece.model``; a ``tokenizer.json`` already carries them in its normaliser).

    Offsets (``return_offsets_mapping=True``) index the original text.
    """

    supports_offsets = True

    def __init__(self, vocab_file: str | os.PathLike[str] | None = None,
                 tokenizer_file: str | os.PathLike[str] | None = None, do_lower_case: bool = True,
                 remove_space: bool = True, keep_accents: bool = False, *, model_bytes: bytes | None = None,
                 tokenizer_json: str | None = None, special_tokens: SpecialTokens | None = None,
                 model_max_length: int = 512, **tokens: str) -> None:
        if special_tokens is None:
            special_tokens = SpecialTokens(**tokens)
        elif tokens:
            raise TypeError("pass either special_tokens or individual *_token arguments, not both")
        super().__init__(do_lower_case=do_lower_case, remove_space=remove_space, keep_accents=keep_accents,
                         special_tokens=special_tokens, model_max_length=model_max_length)
        if model_bytes is None and vocab_file is not None:
            model_bytes = load_spiece_bytes(vocab_file)
        self._model_bytes = None if model_bytes is None else bytes(model_bytes)
        if self._model_bytes is not None:
            source = repr(os.fspath(vocab_file)) if vocab_file is not None else "model_bytes"
            self._tok = _build_from_spiece(self._model_bytes, self._options(), source)
        else:
            if tokenizer_json is None:
                if tokenizer_file is None:
                    raise TypeError("AlbertTokenizerFast needs vocab_file (spiece.model), tokenizer_file "
                                    "(tokenizer.json), model_bytes or tokenizer_json")
                path = os.fspath(tokenizer_file)
                if not os.path.isfile(path):
                    raise FileNotFoundError(f"tokenizer file {path!r} does not exist")
                with open(path, encoding="utf-8") as fh:
                    tokenizer_json = fh.read()
            try:
                self._tok = Tokenizer.from_str(tokenizer_json)
            except Exception as exc:  # tokenizers raises a bare Exception on malformed JSON
                raise ValueError(f"not a valid tokenizer.json ({exc})") from exc
        self._tok.no_padding()
        self._tok.no_truncation()
        vocab = self._tok.get_vocab(with_added_tokens=True)
        self._pieces = [""] * len(vocab)
        for piece, i in vocab.items():
            if not 0 <= i < len(vocab):
                raise ValueError(f"tokenizer.json has non-contiguous ids (piece {piece!r} has id {i})")
            self._pieces[i] = piece
        self._piece_to_id = dict(vocab)
        for token in self.special_tokens.all_tokens:
            if token not in self._piece_to_id:
                raise ValueError(f"special token {token!r} is not in the vocabulary")
        unk = self._piece_to_id[self.special_tokens.unk_token]
        encode_raw = lambda s: self._tok.encode(s, add_special_tokens=False).ids  # noqa: E731
        self._digit_comma = digit_comma_table(self._pieces, encode_raw, self._piece_to_id.__getitem__)
        self._digit_comma_ids = frozenset(self._digit_comma)
        # SentencePiece itself settles float32 ties, when its model is at hand (not for a bare tokenizer.json).
        self._reference = None if self._model_bytes is None else AlbertTokenizer(
            model_bytes=self._model_bytes, **self._options())
        self._ties = TieDetector(self._pieces, frozenset([*self.all_special_ids, unk]))

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], **overrides: Any) -> "AlbertTokenizerFast":
        """Load from a Hugging Face-format directory; ``spiece.model`` is converted when present,
        otherwise ``tokenizer.json`` is loaded as it is."""
        found = files.read_directory(directory)
        options = {**found.options, **overrides}
        if found.spiece is not None:
            return cls(vocab_file=found.spiece, **options)
        return cls(tokenizer_file=found.tokenizer_json, **options)

    @classmethod
    def from_slow(cls, slow: Any) -> "AlbertTokenizerFast":
        return cls(model_bytes=slow.model_bytes, **slow._options())

    @property
    def backend_tokenizer(self) -> Tokenizer:
        """The Rust tokenizer (no padding or truncation configured on it)."""
        return self._tok

    def __getstate__(self) -> dict[str, Any]:
        state = self._options()
        if self._model_bytes is not None:
            state["model_bytes"] = self._model_bytes
        else:
            state["tokenizer_json"] = self._tok.to_str()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def _encode_texts(self, texts: list[str], with_offsets: bool) -> tuple[list[list[int]], list[Offsets] | None]:
        encodings = self._tok.encode_batch_fast(texts, add_special_tokens=False) if not with_offsets \
            else self._tok.encode_batch(texts, add_special_tokens=False)
        ids = [e.ids for e in encodings]
        offsets = [e.offsets for e in encodings] if with_offsets else None
        for i, tie in self._rows_to_fix(texts, ids):
            if tie and self._reference is not None:
                new = self._reference._encode_texts([texts[i]], False)[0][0]
            else:
                new = [q for pid in ids[i] for q in self._digit_comma.get(pid, (pid,))]
            if offsets is not None and new != ids[i]:
                offsets[i] = self._remap(ids[i], offsets[i], new)
            ids[i] = new
        return ids, offsets

    def _rows_to_fix(self, texts: list[str], ids: list[list[int]]) -> list[tuple[int, bool]]:
        """(row, needs SentencePiece) for rows holding a digit-comma piece, a pair of commuting pieces
        or a multi-character grapheme cluster."""
        rows = {i: False for i, r in enumerate(ids) if not self._digit_comma_ids.isdisjoint(r)}
        if self._reference is not None:
            risky = grapheme_risk_pattern()
            joined = "".join(texts)
            if not joined.isascii() or "\r" in joined:  # ASCII text has no extenders besides CR
                rows.update({i: True for i, t in enumerate(texts)
                             if "\r" in t or (not t.isascii() and risky.search(t))})
            lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
            total = int(lengths.sum())
            if total > 1:
                flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=total)
                hits = self._ties.suspects(flat)
                if hits.size:
                    ends = np.cumsum(lengths)
                    row_of = np.searchsorted(ends, hits, side="right")
                    same_row = row_of == np.searchsorted(ends, hits + 1, side="right")
                    rows.update(dict.fromkeys(row_of[same_row].tolist(), True))
        return sorted(rows.items())

    def _remap(self, old: list[int], offsets: Offsets, new: list[int]) -> Offsets:
        """Offsets of ``new`` ids; special tokens keep their own offsets and split the remapping."""
        special = set(self.all_special_ids)
        out: Offsets = []
        i = j = 0
        while i < len(old) or j < len(new):
            if i < len(old) and old[i] in special:
                out.append(offsets[i])
                i += 1
                j += 1
                continue
            i2, j2 = i, j
            while i2 < len(old) and old[i2] not in special:
                i2 += 1
            while j2 < len(new) and new[j2] not in special:
                j2 += 1
            old_pieces = [self._pieces[k] for k in old[i:i2]]
            new_pieces = [self._pieces[k] for k in new[j:j2]]
            if "".join(old_pieces) == "".join(new_pieces):
                out.extend(remap_offsets(old_pieces, offsets[i:i2], new_pieces))
            elif j2 > j:  # unknown pieces hide their characters: give each token the whole span
                span = (offsets[i][0], offsets[i2 - 1][1]) if i2 > i else (0, 0)
                out.extend([span] * (j2 - j))
            i, j = i2, j2
        return out

    def _model_file_contents(self) -> dict[str, bytes]:
        contents = {files.TOKENIZER_JSON: self._tok.to_str(pretty=True).encode("utf-8")}
        if self._model_bytes is not None:
            contents[files.SPIECE] = self._model_bytes
        return contents
