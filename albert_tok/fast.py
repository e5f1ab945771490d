"""The fast ALBERT tokenizer: a thin class around a Rust ``tokenizers.Tokenizer``.

The Rust tokenizer is built by :mod:`albert_tok.convert` from ``spiece.model`` (or read from a
``tokenizer.json``) and does all the work on whole batches. Rules that cannot live in a Unigram model
are applied afterwards, only to the rows that need them (found with set and numpy tests, not per-token
Python loops): the digit-comma rule (a per-piece table, :mod:`albert_tok.rules`), and SentencePiece's
float32 tie-breaking and character-by-character normalisation (:mod:`albert_tok.unigram`,
:func:`albert_tok.rules.grapheme_risk_pattern`: such rows are re-encoded by SentencePiece itself).
Offsets keep the contract of :mod:`albert_tok.offsets` on every row.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from . import files
from .base import AlbertTokenizerBase
from .convert import sentencepiece_rows_pattern, tokenizer_from_spiece, tokenizer_json_bytes
from .offsets import Offsets, normaliser_predicates, remap_offsets, settle_offsets, space_pieces
from .rules import deleted_controls_pattern, digit_comma_table
from .slow import AlbertTokenizer, load_spiece_bytes
from .special_tokens import SpecialTokens
from .text import Preprocessing
from .unigram import TieDetector

__all__ = ["AlbertTokenizerFast", "remap_offsets", "tokenizer_json_bytes"]


class AlbertTokenizerFast(AlbertTokenizerBase):
    """ALBERT tokenizer on the Rust ``tokenizers`` library, with the same ids as :class:`AlbertTokenizer`.

    Args:
        vocab_file: ``spiece.model`` to convert (preferred: the conversion is this package's own).
        tokenizer_file: a ``tokenizer.json`` to load when no ``spiece.model`` is given.
        do_lower_case, remove_space, keep_accents: ALBERT's preprocessing switches, or ``preprocessing``
            (used when converting ``spiece.model``; a ``tokenizer.json`` already carries them in its
            normaliser).

    Offsets (``return_offsets_mapping=True``) index the original text and keep the contract of
    :mod:`albert_tok.offsets`.
    """

    supports_offsets = True

    def __init__(self, vocab_file: str | os.PathLike[str] | None = None,
                 tokenizer_file: str | os.PathLike[str] | None = None, do_lower_case: bool | None = None,
                 remove_space: bool | None = None, keep_accents: bool | None = None, *,
                 model_bytes: bytes | None = None, tokenizer_json: str | None = None,
                 preprocessing: Preprocessing | None = None, special_tokens: SpecialTokens | None = None,
                 model_max_length: int = 512, **tokens: str) -> None:
        super().__init__(preprocessing=preprocessing, do_lower_case=do_lower_case, remove_space=remove_space,
                         keep_accents=keep_accents, special_tokens=special_tokens,
                         model_max_length=model_max_length, **tokens)
        if model_bytes is None and vocab_file is not None:
            model_bytes = load_spiece_bytes(vocab_file)
        self._model_bytes = None if model_bytes is None else bytes(model_bytes)
        if self._model_bytes is not None:
            source = repr(os.fspath(vocab_file)) if vocab_file is not None else "model_bytes"
            self._tok = tokenizer_from_spiece(self._model_bytes, self.special_tokens, self.preprocessing, source)
        else:
            self._tok = _load_tokenizer_json(tokenizer_file, tokenizer_json)
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
        encode_raw = lambda s: self._tok.encode(s, add_special_tokens=False).ids
        self._digit_comma = digit_comma_table(self._pieces, encode_raw, self._piece_to_id.__getitem__)
        self._digit_comma_ids = frozenset(self._digit_comma)
        self._word_start_ids, self._space_id = space_pieces(self._pieces)
        normalizer = self._tok.normalizer
        self._is_space, self._is_deleted = normaliser_predicates(
            normalizer.normalize_str if normalizer is not None else str)
        # SentencePiece itself settles float32 ties, when its model is at hand (not for a bare tokenizer.json).
        self._reference = None if self._model_bytes is None else AlbertTokenizer(
            model_bytes=self._model_bytes, **self._options())
        self._ties = TieDetector(self._pieces, frozenset([*self.all_special_ids, unk]))

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], **overrides: Any) -> AlbertTokenizerFast:
        """Load from a Hugging Face-format directory; ``spiece.model`` is converted when present,
        otherwise ``tokenizer.json`` is loaded as it is."""
        found = files.read_directory(directory)
        options = cls._pretrained_options(found, overrides)
        if found.spiece is not None:
            return cls(vocab_file=found.spiece, **options)
        return cls(tokenizer_file=found.tokenizer_json, **options)

    @classmethod
    def from_slow(cls, slow: AlbertTokenizer) -> AlbertTokenizerFast:
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
        if not with_offsets:
            ids = [e.ids for e in self._tok.encode_batch_fast(texts, add_special_tokens=False)]
            for i, needs_sentencepiece in self._rows_to_fix(texts, ids):
                if needs_sentencepiece and self._reference is not None:
                    ids[i] = self._reference._encode_texts([texts[i]], False)[0][0]
                else:
                    ids[i] = self._split_digit_commas(ids[i])
            return ids, None
        encodings = self._tok.encode_batch(texts, add_special_tokens=False)
        ids = [e.ids for e in encodings]
        raw: list[Offsets] = [e.offsets for e in encodings]
        fix = dict(self._rows_to_fix(texts, ids))
        controls = deleted_controls_pattern()
        fix.update({i: True for i, t in enumerate(texts) if controls.search(t)})
        for i, needs_sentencepiece in sorted(fix.items()):
            if needs_sentencepiece and self._reference is not None:
                ids[i], raw[i] = self._reference._encode_with_spans(texts[i])
            else:
                new = self._split_digit_commas(ids[i])
                raw[i] = remap_offsets([self._pieces[k] for k in ids[i]], raw[i], [self._pieces[k] for k in new])
                ids[i] = new
        offsets = [settle_offsets(text, row, spans, self._word_start_ids, self._space_id, self._is_space,
                                  self._is_deleted)
                   for text, row, spans in zip(texts, ids, raw)]
        return ids, offsets

    def _split_digit_commas(self, ids: list[int]) -> list[int]:
        return [q for pid in ids for q in self._digit_comma.get(pid, (pid,))]

    def _rows_to_fix(self, texts: list[str], ids: list[list[int]]) -> list[tuple[int, bool]]:
        """(row, needs SentencePiece) for rows holding a digit-comma piece, a pair of commuting pieces,
        a multi-character grapheme cluster or a character the Rust Unicode tables map differently."""
        rows = {i: False for i, r in enumerate(ids) if not self._digit_comma_ids.isdisjoint(r)}
        if self._reference is not None:
            risky = sentencepiece_rows_pattern()
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

    def _model_file_contents(self) -> dict[str, bytes]:
        contents = {files.TOKENIZER_JSON: self._tok.to_str(pretty=True).encode("utf-8")}
        if self._model_bytes is not None:
            contents[files.SPIECE] = self._model_bytes
        return contents


def _load_tokenizer_json(tokenizer_file: str | os.PathLike[str] | None, tokenizer_json: str | None) -> Tokenizer:
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
        return Tokenizer.from_str(tokenizer_json)
    except Exception as exc:  # tokenizers raises a bare Exception on malformed JSON
        raise ValueError(f"not a valid tokenizer.json ({exc})") from exc
