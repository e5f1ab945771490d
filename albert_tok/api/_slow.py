"""The slow ALBERT tokenizer: ALBERT's preprocessing in Python, then SentencePiece itself.

It is the canonical reference the fast tokenizer is tested against. Its character offsets come from
SentencePiece's byte offsets (:meth:`AlbertTokenizer._encode_chunk_with_spans`), which also give the fast
tokenizer spans for the texts it hands over. Loading and encoding never import the Rust ``tokenizers``
library; only writing a ``tokenizer.json`` (``save_pretrained``) does.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import os
from typing import Any

import numpy as np
import sentencepiece as spm

from albert_tok.api import _files as files
from albert_tok.api._added_tokens import Piece
from albert_tok.api._base import AlbertTokenizerBase
from albert_tok.api._batch import Encoded
from albert_tok.engines import ModelFormatError, PieceType, parse_model, parse_pieces_with_spans
from albert_tok.io import regular_file
from albert_tok.rules import (
    SPIECE_UNDERLINE,
    DigitCommaArrays,
    Offsets,
    Preprocessing,
    SpecialTokens,
    digit_comma_table,
    normaliser_predicates,
    remap_offsets,
    space_pieces,
)

__all__ = ["AlbertTokenizer", "load_spiece_bytes"]

# SentencePiece's list call starts a pool of threads on every call, about 0.1 ms on a 2-core machine. A batch
# this small is encoded text by text in the calling thread instead (same ids: the same Encode runs either way),
# which is several times faster for one or a few texts (bench/tokenizer_speed.py, small calls).
_ONE_THREAD_TEXTS = 16
_ONE_THREAD_CHARACTERS = 4000


def load_spiece_bytes(vocab_file: str | os.PathLike[str]) -> bytes:
    path = regular_file(vocab_file, "SentencePiece model")  # a directory, device or FIFO is refused, never read
    with open(path, "rb") as fh:
        return fh.read()


def _processor(model_bytes: bytes, source: str) -> tuple[spm.SentencePieceProcessor, frozenset[int]]:
    """The SentencePiece processor of ``model_bytes`` and the ids of its user-defined pieces."""
    try:
        model = parse_model(model_bytes)
        processor = spm.SentencePieceProcessor()
        processor.LoadFromSerializedProto(model_bytes)
    except (ModelFormatError, RuntimeError, OSError) as exc:
        raise ValueError(
            f"{source} is not a valid SentencePiece model ({exc}); expected an ALBERT spiece.model"
        ) from exc
    return processor, frozenset(i for i, p in enumerate(model.pieces) if p.type == PieceType.USER_DEFINED)


class AlbertTokenizer(AlbertTokenizerBase):
    """ALBERT tokenizer on ``sentencepiece``: the canonical ids the published checkpoints were trained on.

    Args:
        vocab_file: path of ``spiece.model`` (or pass ``model_bytes``).
        do_lower_case, remove_space, keep_accents: ALBERT's preprocessing switches (or pass
            ``preprocessing=Preprocessing(...)``; switches given here override it).
        model_max_length: longest sequence the model takes (512).
        padding_side, truncation_side: ``"right"`` (default) or ``"left"``.
        special_tokens: a :class:`SpecialTokens`, or the ``*_token`` keyword arguments.
        added_tokens_decoder, additional_special_tokens: added tokens (id -> token), as a saved directory
            holds them; or call :meth:`add_tokens`/:meth:`add_special_tokens`.

    Batches are encoded by SentencePiece's threaded batch API (a few short texts on the calling thread).
    Offsets (``return_offsets_mapping=True``) come from SentencePiece's own byte offsets mapped back through
    ALBERT's preprocessing (:meth:`~albert_tok.rules._text.Preprocessing.align`) and keep the contract of
    :mod:`albert_tok.rules._offsets`.
    """

    def __init__(
        self,
        vocab_file: str | os.PathLike[str] | None = None,
        do_lower_case: bool | None = None,
        remove_space: bool | None = None,
        keep_accents: bool | None = None,
        *,
        model_bytes: bytes | None = None,
        preprocessing: Preprocessing | None = None,
        special_tokens: SpecialTokens | None = None,
        model_max_length: int = 512,
        num_threads: int = -1,
        **options: Any,
    ) -> None:
        super().__init__(
            preprocessing=preprocessing,
            do_lower_case=do_lower_case,
            remove_space=remove_space,
            keep_accents=keep_accents,
            special_tokens=special_tokens,
            model_max_length=model_max_length,
            **options,
        )
        if model_bytes is None:
            if vocab_file is None:
                raise TypeError("AlbertTokenizer needs vocab_file (a spiece.model path) or model_bytes")
            model_bytes = load_spiece_bytes(vocab_file)
        self._model_bytes = bytes(model_bytes)
        source = repr(os.fspath(vocab_file)) if vocab_file else "model_bytes"
        self._sp, self.user_defined_ids = _processor(self._model_bytes, source)
        # SentencePiece strips and collapses runs of spaces itself: Preprocessing.apply_batch leaves them to it.
        self._sp_collapses_spaces = parse_model(self._model_bytes).remove_extra_whitespaces
        self.num_threads = num_threads
        self._pieces = [self._sp.id_to_piece(i) for i in range(self._sp.get_piece_size())]
        self._init_vocabulary(*self._given_added, user_defined=self.user_defined_ids)
        self._digit_comma = digit_comma_table(self._pieces, self._sp.encode, self._piece_to_id.__getitem__)
        self._digit_comma_arrays = DigitCommaArrays(self._digit_comma, len(self._pieces))
        joined = self._sp.normalize("ab")
        self._deleted = functools.lru_cache(maxsize=4096)(lambda c: self._sp.normalize(f"a{c}b") == joined)
        self._word_start_ids, self._space_id = space_pieces(self._pieces)
        self._is_space, self._is_deleted = normaliser_predicates(self.normalize_chunk)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], **overrides: Any) -> AlbertTokenizer:
        """Load from a Hugging Face-format directory holding ``spiece.model`` (see
        :func:`albert_tok.api._files.read_directory` for what is read); keyword arguments override it."""
        found = files.read_directory(directory)
        if found.spiece is None:
            raise FileNotFoundError(
                f"{os.fspath(directory)!r} has no {files.SPIECE}; the slow tokenizer needs "
                f"it (AlbertTokenizerFast can load {files.TOKENIZER_JSON} alone)"
            )
        return cls(found.spiece, **cls._pretrained_options(found, overrides))

    @property
    def model_bytes(self) -> bytes:
        """The serialized SentencePiece model: the whole vocabulary state."""
        return self._model_bytes

    def __getstate__(self) -> dict[str, Any]:
        return {"model_bytes": self._model_bytes, "num_threads": self.num_threads, **self._options()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def _encode_chunks(self, chunks: list[str], with_offsets: bool) -> tuple[list[list[int]], list[Offsets] | None]:
        """Steps 1, 3 and 4 of :mod:`albert_tok.rules._text` on texts that hold no added token."""
        if with_offsets:
            pairs = [self._encode_chunk_with_spans(c) for c in chunks]
            return [ids for ids, _ in pairs], [spans for _, spans in pairs]
        return Encoded.from_flat(*self._encode_chunks_flat(chunks)).ids, None

    def _encode_chunks_flat(self, chunks: list[str], lowered: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The hot path: the ids of a batch flattened once, the digit-comma rule applied to all of it. Each
        text is its own SentencePiece item (see :mod:`albert_tok.api._split_batch` for why texts are never joined)."""
        plain = self.preprocessing.apply_batch(
            chunks, spaces_collapsed_later=self._sp_collapses_spaces, lowered=lowered
        )
        encoded = self._encode_ids(plain)
        if self._surface_ids:
            self._name_unknown_surfaces(plain, encoded)
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        # int32 (every SentencePiece id fits): numpy fills it faster from Python ints, and the copies made of it
        # before the padded int64 batch is filled are half the size
        flat = np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.int32, count=int(lengths.sum()))
        return self._digit_comma_arrays.apply(flat, lengths)

    def _encode_ids(self, plain: list[str]) -> list[list[int]]:
        """SentencePiece's ids of each preprocessed text: one list call on its threads, or, for one text or a few
        short ones, one call per text on this thread (see ``_ONE_THREAD_TEXTS``)."""
        if len(plain) <= 1 or (len(plain) <= _ONE_THREAD_TEXTS and sum(map(len, plain)) <= _ONE_THREAD_CHARACTERS):
            encode = self._sp.encode
            return [encode(text) for text in plain]
        return self._sp.encode(plain, num_threads=self.num_threads)

    def _name_unknown_surfaces(self, plain: list[str], encoded: list[list[int]]) -> None:
        """Give an unknown piece whose surface is an added token's content that token's id, in place
        (see :meth:`~albert_tok.api._vocab.TokenizerVocabulary._rebuild`); ``plain`` are the preprocessed texts."""
        unk = self._sp.unk_id()
        rows = [i for i, ids in enumerate(encoded) if unk in ids]
        if not rows:
            return
        surfaces = self._sp.encode([plain[i] for i in rows], out_type=str)
        for i, pieces in zip(rows, surfaces, strict=False):
            encoded[i] = [
                self._surface_ids.get(p, pid) if pid == unk else pid for pid, p in zip(encoded[i], pieces, strict=False)
            ]

    def _encode_chunk_with_spans(self, chunk: str) -> tuple[list[int], Offsets]:
        """The ids of :meth:`_encode_chunks` for one chunk, with raw character spans in ``chunk``.

        Spans come from SentencePiece's own byte offsets into the preprocessed chunk, mapped back through
        :meth:`albert_tok.rules._text.Preprocessing.align`. :func:`albert_tok.rules._offsets.settle_offsets` turns them
        into contract offsets.
        """
        ids: list[int] = []
        spans: Offsets = []
        text, char_spans = self.preprocessing.align(chunk)
        if not text:
            return ids, spans
        proto = self._sp.encode(text, out_type="serialized_proto")  # one text: no pool of threads to start
        spans_of = parse_pieces_with_spans(proto)
        if self._surface_ids:
            named = [[piece_id for piece_id, _, _ in spans_of]]
            self._name_unknown_surfaces([text], named)
            spans_of = [(i, b, e) for i, (_, b, e) in zip(named[0], spans_of, strict=False)]
        byte_starts = [0]  # byte offset in text's UTF-8 where each character starts
        for char in text:
            byte_starts.append(byte_starts[-1] + len(char.encode("utf-8")))
        for piece_id, begin, stop in spans_of:
            first = bisect.bisect_right(byte_starts, begin) - 1
            after = bisect.bisect_left(byte_starts, stop)
            # SentencePiece counts the characters it deletes (controls) into the piece next to them;
            # the Rust normaliser leaves them out at a piece's edges. Follow Rust.
            while after - first > 1 and self._deleted(text[after - 1]):
                after -= 1
            while after - first > 1 and self._deleted(text[first]):
                first += 1
            covered = char_spans[first:after] if after > first else []
            if covered:
                span = (min(s for s, _ in covered), max(e for _, e in covered))
            else:  # SentencePiece's dummy prefix: no character of its own
                at = char_spans[first][0] if first < len(char_spans) else len(chunk)
                span = (at, at)
            replacement = self._digit_comma.get(piece_id)
            if replacement is None:
                ids.append(piece_id)
                spans.append(span)
            else:
                ids.extend(replacement)
                spans.extend(remap_offsets([self._pieces[piece_id]], [span], [self._pieces[i] for i in replacement]))
        return ids, spans

    def normalize_chunk(self, text: str) -> str:
        """What SentencePiece segments for ``text`` (a text without added tokens): ALBERT preprocessing then
        ``nmt_nfkc`` and SentencePiece's whitespace handling, ``▁`` for spaces."""
        return self._sp.normalize(self.preprocessing.apply(self.preprocessing.lower(text)))

    def normalize(self, text: str) -> str:
        """The text SentencePiece segments (ALBERT preprocessing and ``nmt_nfkc``), ``▁`` as spaces,
        added tokens kept; what ``decode(encode(text), skip_special_tokens=True)`` returns for text
        without unknown pieces or special tokens."""
        pieces = self._added.split(text) or [Piece(0, len(text), None, text)]
        parts = []
        for piece in pieces:
            if piece.token is not None:
                parts.append(self._id_to_token(piece.token))
            else:
                parts.append(self.normalize_chunk(piece.text).replace(SPIECE_UNDERLINE, " ").strip())
        return " ".join(p for p in parts if p)

    def _model_file_contents(self) -> dict[str, bytes]:
        from albert_tok.engines import tokenizer_json_bytes

        return {
            files.SPIECE: self._model_bytes,
            files.TOKENIZER_JSON: tokenizer_json_bytes(
                self._model_bytes, self.special_tokens, self.preprocessing, self.added_tokens_decoder
            ),
        }
