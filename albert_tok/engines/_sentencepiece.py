"""The SentencePiece engine: ALBERT's preprocessing, then SentencePiece itself, as one object.

:class:`SentencePieceEngine` is what both tokenizers run canonical encodings through. The slow tokenizer encodes
everything with it; the fast tokenizer, when it has the ``spiece.model``, hands it the rows its Rust tokenizer
cannot encode canonically (float32 ties, grapheme clusters, deleted controls, unknown surfaces). It owns the
SentencePiece processor built from the model bytes, the digit-comma rule (:mod:`albert_tok.rules._digit_comma`)
as SentencePiece encodes it, and the added tokens an unknown piece's surface may spell.

It imports neither the Rust ``tokenizers`` library (the slow tokenizer loads and encodes without it) nor
anything of :mod:`albert_tok.api` (engines sit below the API).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sentencepiece as spm

from albert_tok.engines._spm_model import ModelFormatError, PieceType, parse_model, parse_pieces_with_spans
from albert_tok.io import regular_file
from albert_tok.rules import DigitCommaArrays, Offsets, Preprocessing, digit_comma_table, remap_offsets

__all__ = ["SentencePieceEngine", "load_spiece_bytes"]

# SentencePiece's list call starts a pool of threads on every call, which costs more than encoding one short
# text. A batch this small is encoded text by text in the calling thread instead (same ids: the same Encode
# runs either way); bench/tokenizer_speed.py measures the difference (small calls).
_ONE_THREAD_TEXTS = 16
_ONE_THREAD_CHARACTERS = 4000


# Texts on which the direct call of :func:`one_text_encoder` must give the wrapper's ids before it is used.
_PROBES = ("Hello world!", "", "  two  spaces ", "1,000,000 and 2010,", "\u65e5\u672c\u8a9e", "e\u0301", "x666", "\t\n")


def one_text_encoder(processor: spm.SentencePieceProcessor) -> Callable[[str], list[int]]:
    """``processor.encode`` of one text to ids, as cheaply as this ``sentencepiece`` allows.

    The Python wrapper of ``SentencePieceProcessor.encode`` settles a dozen options on every call before it reaches
    the C++ method, which on a sentence costs about a third of the encoding. Where that method is there (the
    pybind11 builds of ``sentencepiece``: ``processor._processor._EncodeAsIds``), it is called directly with the
    options the wrapper would pass, once a probe of a few texts shows both give the same ids; anywhere else (another
    build, sampling turned on, a probe that differs or raises) the wrapper itself is returned.

    Args:
        processor: a loaded ``SentencePieceProcessor``, its encoding options as they will stay.

    Returns:
        A function of one str giving its ids, as ``processor.encode(text)`` does.
    """
    encode: Callable[[str], list[int]] = processor.encode
    wrapper: Any = processor  # its private attributes are not in sentencepiece's type stubs
    try:
        native = wrapper._processor._EncodeAsIds
        sampling, nbest, alpha = wrapper._enable_sampling, wrapper._nbest_size, wrapper._alpha
        bos, eos, reverse = wrapper._add_bos, wrapper._add_eos, wrapper._reverse
    except AttributeError:  # another build of sentencepiece: its wrapper
        return encode
    if sampling:
        return encode

    def direct(text: str) -> list[int]:
        return native(text, sampling, nbest, alpha, bos, eos, reverse)

    try:
        if all(direct(probe) == encode(probe) for probe in _PROBES):
            return direct
    except (TypeError, ValueError, RuntimeError):  # the method takes other arguments in this build
        pass
    return encode


def load_spiece_bytes(vocab_file: str | os.PathLike[str]) -> bytes:
    """Read a SentencePiece model file whole.

    Args:
        vocab_file: path of the ``spiece.model``. It must be a regular file: a directory, device or FIFO is
            refused without being read.

    Returns:
        The file's bytes, unparsed (:class:`SentencePieceEngine` checks them).

    Raises:
        FileNotFoundError: the path does not exist.
        albert_tok.io.NotARegularFileError: the path names a directory, a device, a FIFO or a socket.
        OSError: the file cannot be read.
    """
    path = regular_file(vocab_file, "SentencePiece model")
    with open(path, "rb") as fh:
        return fh.read()


class SentencePieceEngine:
    """ALBERT's canonical encoding of texts that hold no added token: preprocessing, SentencePiece, digit commas.

    Args:
        model_bytes: the serialized SentencePiece model (``spiece.model``'s bytes).
        preprocessing: ALBERT's preprocessing switches, applied before SentencePiece sees a text.
        source: how errors name where ``model_bytes`` came from (a quoted path, or ``"model_bytes"``).
        num_threads: threads SentencePiece's batch call uses; ``-1`` (default) lets SentencePiece choose.

    Raises:
        ValueError: ``model_bytes`` is not a valid SentencePiece model.

    Attributes:
        model_bytes: the serialized model, the engine's whole vocabulary state.
        preprocessing: the preprocessing switches given.
        num_threads: threads of SentencePiece's batch call; settable.
        processor: the ``sentencepiece.SentencePieceProcessor`` built from the model bytes.
        pieces: the vocabulary in id order, as SentencePiece names its pieces.
        user_defined_ids: ids of the model's user-defined pieces.
        digit_comma: the digit-comma table, ``{piece id: replacement ids}``
            (:func:`albert_tok.rules.digit_comma_table` on SentencePiece's own encoding).
        surface_ids: added tokens an unknown piece's surface may spell, ``{content: id}``; empty until the
            tokenizer sets it (see :meth:`name_unknown_surfaces`).
    """

    def __init__(
        self,
        model_bytes: bytes,
        preprocessing: Preprocessing,
        source: str = "model_bytes",
        num_threads: int = -1,
    ) -> None:
        self.model_bytes = bytes(model_bytes)
        self.preprocessing = preprocessing
        self.num_threads = num_threads
        try:
            model = parse_model(self.model_bytes)
            processor = spm.SentencePieceProcessor()
            processor.LoadFromSerializedProto(self.model_bytes)
        except (ModelFormatError, RuntimeError, OSError) as exc:
            raise ValueError(
                f"{source} is not a valid SentencePiece model ({exc}); expected an ALBERT spiece.model"
            ) from exc
        self.processor = processor
        self._encode_text = one_text_encoder(processor)  # processor.encode of one text, without its wrapper's cost
        self.user_defined_ids = frozenset(i for i, p in enumerate(model.pieces) if p.type == PieceType.USER_DEFINED)
        # SentencePiece strips and collapses runs of spaces itself: Preprocessing.apply_batch leaves them to it.
        self._collapses_spaces = model.remove_extra_whitespaces
        self.pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
        piece_to_id = {p: i for i, p in enumerate(self.pieces)}
        self.digit_comma = digit_comma_table(self.pieces, processor.encode, piece_to_id.__getitem__)
        self._digit_comma_arrays = DigitCommaArrays(self.digit_comma, len(self.pieces))
        self._digit_comma_ids = frozenset(self.digit_comma)
        joined = processor.normalize("ab")
        self._deleted = functools.lru_cache(maxsize=4096)(lambda c: processor.normalize(f"a{c}b") == joined)
        self.surface_ids: Mapping[str, int] = {}

    def encode(self, chunks: list[str]) -> list[list[int]]:
        """The canonical ids of each chunk, as lists (:meth:`encode_flat` split by chunk).

        Args:
            chunks: original texts holding no added token.

        Returns:
            One list of ids per chunk, no special tokens added.
        """
        flat, lengths = self.encode_flat(chunks)
        values = flat.tolist()
        ends = np.cumsum(lengths).tolist()
        return [values[end - size : end] for end, size in zip(ends, lengths.tolist(), strict=False)]

    def encode_flat(self, chunks: list[str], lowered: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The hot path: the ids of a batch flattened once, the digit-comma rule applied to all of it.

        Each text is its own SentencePiece item (see :mod:`albert_tok.api._split_batch` for why texts are never
        joined).

        Args:
            chunks: original texts holding no added token.
            lowered: the chunks are lower-cased by step 1 of :mod:`albert_tok.rules._text` already.

        Returns:
            ``(flat, lengths)``: every chunk's ids one after the other (int32), and the number of ids of each
            chunk (int64).
        """
        plain = self.preprocessing.apply_batch(chunks, spaces_collapsed_later=self._collapses_spaces, lowered=lowered)
        encoded = self.encode_ids(plain)
        if self.surface_ids:
            self.name_unknown_surfaces(plain, encoded)
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        # int32 (every SentencePiece id fits): numpy fills it faster from Python ints, and the copies made of it
        # before the padded int64 batch is filled are half the size
        flat = np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.int32, count=int(lengths.sum()))
        return self._digit_comma_arrays.apply(flat, lengths)

    def encode_one(self, chunk: str) -> list[int]:
        """:meth:`encode_flat` of one chunk, as a list: the same steps (preprocessing, SentencePiece on this thread,
        unknown surfaces, the digit-comma rule) without the arrays a batch is built on, which cost more than the
        work on one sentence.

        Args:
            chunk: an original text holding no added token.

        Returns:
            Its ids, no special tokens added: ``encode_flat([chunk])[0].tolist()``.
        """
        plain = self.preprocessing.apply_one(chunk, spaces_collapsed_later=self._collapses_spaces)
        ids = self._encode_text(plain)
        if self.surface_ids:
            encoded = [ids]
            self.name_unknown_surfaces([plain], encoded)
            ids = encoded[0]
        if not self._digit_comma_ids.isdisjoint(ids):
            table = self.digit_comma
            ids = [q for pid in ids for q in table.get(pid, (pid,))]
        return ids

    def encode_ids(self, plain: list[str]) -> list[list[int]]:
        """SentencePiece's own ids of each preprocessed text, before the digit-comma rule.

        One list call on SentencePiece's threads, or, for one text or a few short ones, one call per text on
        this thread: starting the pool of threads costs more than such a batch takes to encode.

        Args:
            plain: preprocessed texts (steps 1 and 3 of :mod:`albert_tok.rules._text` done).

        Returns:
            One list of ids per text.
        """
        if len(plain) <= 1 or (len(plain) <= _ONE_THREAD_TEXTS and sum(map(len, plain)) <= _ONE_THREAD_CHARACTERS):
            encode = self.processor.encode
            return [encode(text) for text in plain]
        return self.processor.encode(plain, num_threads=self.num_threads)

    def name_unknown_surfaces(self, plain: list[str], encoded: list[list[int]]) -> None:
        """Give an unknown piece whose surface is an added token's content that token's id, in place.

        transformers' slow tokenizer looks up the strings SentencePiece returns, so an unknown piece spelling an
        added token (see :meth:`~albert_tok.api._vocab.TokenizerVocabulary._rebuild`) gets that token's id;
        :attr:`surface_ids` says which.

        Args:
            plain: the preprocessed texts ``encoded`` was made from.
            encoded: SentencePiece's ids of each text; rows holding the unknown id are rewritten.
        """
        unk = self.processor.unk_id()
        rows = [i for i, ids in enumerate(encoded) if unk in ids]
        if not rows:
            return
        surfaces = self.processor.encode([plain[i] for i in rows], out_type=str)
        for i, pieces in zip(rows, surfaces, strict=False):
            encoded[i] = [
                self.surface_ids.get(p, pid) if pid == unk else pid for pid, p in zip(encoded[i], pieces, strict=False)
            ]

    def encode_with_spans(self, chunk: str) -> tuple[list[int], Offsets]:
        """The ids of :meth:`encode` for one chunk, with raw character spans in ``chunk``.

        Spans come from SentencePiece's own byte offsets into the preprocessed chunk, mapped back through
        :meth:`albert_tok.rules.Preprocessing.align`; :func:`albert_tok.rules.settle_offsets` turns them into
        contract offsets.

        Args:
            chunk: an original text holding no added token.

        Returns:
            ``(ids, spans)``: the chunk's ids and, for each, its ``(start, end)`` characters in ``chunk``
            (SentencePiece's dummy prefix gets an empty span).
        """
        ids: list[int] = []
        spans: Offsets = []
        text, char_spans = self.preprocessing.align(chunk)
        if not text:
            return ids, spans
        proto = self.processor.encode(text, out_type="serialized_proto")  # one text: no pool of threads to start
        spans_of = parse_pieces_with_spans(proto)
        if self.surface_ids:
            named = [[piece_id for piece_id, _, _ in spans_of]]
            self.name_unknown_surfaces([text], named)
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
            replacement = self.digit_comma.get(piece_id)
            if replacement is None:
                ids.append(piece_id)
                spans.append(span)
            else:
                ids.extend(replacement)
                spans.extend(remap_offsets([self.pieces[piece_id]], [span], [self.pieces[i] for i in replacement]))
        return ids, spans

    def normalize(self, text: str) -> str:
        """What SentencePiece segments for ``text``.

        Args:
            text: an original text holding no added token.

        Returns:
            ALBERT's preprocessing, then ``nmt_nfkc`` and SentencePiece's whitespace handling, ``▁`` for spaces.
        """
        return self.processor.normalize(self.preprocessing.apply(self.preprocessing.lower(text)))
