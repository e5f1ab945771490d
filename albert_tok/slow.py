"""The slow ALBERT tokenizer: ALBERT's preprocessing in Python, then SentencePiece itself.

It is the canonical reference the fast tokenizer is tested against. It gives no character offsets to
callers; :meth:`AlbertTokenizer._encode_with_spans` gives the fast tokenizer raw spans for the rows it
hands over. Loading and encoding never import the Rust ``tokenizers`` library; only writing a
``tokenizer.json`` (``save_pretrained``) does.
"""

from __future__ import annotations

import bisect
import functools
import os
from typing import Any

import sentencepiece as spm

from . import files
from .base import AlbertTokenizerBase
from .offsets import Offsets, remap_offsets
from .rules import digit_comma_table
from .special_tokens import SpecialTokens, special_token_pattern, special_token_spans, split_on_special_tokens
from .spm_model import SPIECE_UNDERLINE, ModelFormatError, parse_model, parse_pieces_with_spans
from .text import Preprocessing

__all__ = ["AlbertTokenizer", "load_spiece_bytes"]


def load_spiece_bytes(vocab_file: str | os.PathLike[str]) -> bytes:
    path = os.fspath(vocab_file)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"SentencePiece model {path!r} does not exist")
    with open(path, "rb") as fh:
        return fh.read()


def _processor(model_bytes: bytes, source: str) -> spm.SentencePieceProcessor:
    try:
        parse_model(model_bytes)
        processor = spm.SentencePieceProcessor()
        processor.LoadFromSerializedProto(model_bytes)
    except (ModelFormatError, RuntimeError, OSError) as exc:
        raise ValueError(f"{source} is not a valid SentencePiece model ({exc}); expected an ALBERT "
                         f"spiece.model") from exc
    return processor


class AlbertTokenizer(AlbertTokenizerBase):
    """ALBERT tokenizer on ``sentencepiece``: the canonical ids the published checkpoints were trained on.

    Args:
        vocab_file: path of ``spiece.model`` (or pass ``model_bytes``).
        do_lower_case, remove_space, keep_accents: ALBERT's preprocessing switches (or pass
            ``preprocessing=Preprocessing(...)``; switches given here override it).
        model_max_length: longest sequence the model takes (512).
        special_tokens: a :class:`SpecialTokens`, or the ``*_token`` keyword arguments.

    Batches are encoded by SentencePiece's threaded batch API. It does not compute offsets: use
    :class:`AlbertTokenizerFast` for ``return_offsets_mapping``.
    """

    def __init__(self, vocab_file: str | os.PathLike[str] | None = None, do_lower_case: bool | None = None,
                 remove_space: bool | None = None, keep_accents: bool | None = None, *,
                 model_bytes: bytes | None = None, preprocessing: Preprocessing | None = None,
                 special_tokens: SpecialTokens | None = None, model_max_length: int = 512,
                 num_threads: int = -1, **tokens: str) -> None:
        super().__init__(preprocessing=preprocessing, do_lower_case=do_lower_case, remove_space=remove_space,
                         keep_accents=keep_accents, special_tokens=special_tokens,
                         model_max_length=model_max_length, **tokens)
        if model_bytes is None:
            if vocab_file is None:
                raise TypeError("AlbertTokenizer needs vocab_file (a spiece.model path) or model_bytes")
            model_bytes = load_spiece_bytes(vocab_file)
        self._model_bytes = bytes(model_bytes)
        self._sp = _processor(self._model_bytes, repr(os.fspath(vocab_file)) if vocab_file else "model_bytes")
        self.num_threads = num_threads
        self._pieces = [self._sp.id_to_piece(i) for i in range(self._sp.get_piece_size())]
        self._piece_to_id = {p: i for i, p in enumerate(self._pieces)}
        for token in self.special_tokens.all_tokens:
            if token not in self._piece_to_id:
                raise ValueError(f"special token {token!r} is not a piece of the SentencePiece model")
        self._special_pattern = special_token_pattern(self.special_tokens)
        self._special_first_chars = {t[0] for t in self.special_tokens.all_tokens}
        self._digit_comma = digit_comma_table(self._pieces, self._sp.encode, self._piece_to_id.__getitem__)
        joined = self._sp.normalize("ab")
        self._deleted = functools.lru_cache(maxsize=4096)(lambda c: self._sp.normalize(f"a{c}b") == joined)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], **overrides: Any) -> AlbertTokenizer:
        """Load from a Hugging Face-format directory holding ``spiece.model``."""
        found = files.read_directory(directory)
        if found.spiece is None:
            raise FileNotFoundError(f"{os.fspath(directory)!r} has no {files.SPIECE}; the slow tokenizer needs "
                                    f"it (AlbertTokenizerFast can load {files.TOKENIZER_JSON} alone)")
        return cls(found.spiece, **cls._pretrained_options(found, overrides))

    @property
    def model_bytes(self) -> bytes:
        """The serialized SentencePiece model: the whole vocabulary state."""
        return self._model_bytes

    def __getstate__(self) -> dict[str, Any]:
        return {"model_bytes": self._model_bytes, "num_threads": self.num_threads, **self._options()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def _chunks(self, text: str) -> list[tuple[str, bool]]:
        """Step 1-2 of :mod:`albert_tok.text`: lower outside special tokens, split on them."""
        if any(c in text for c in self._special_first_chars):
            return split_on_special_tokens(text, self.special_tokens, self._special_pattern,
                                           self.preprocessing.lower)
        text = self.preprocessing.lower(text)
        return [(text, False)] if text else []

    def _encode_texts(self, texts: list[str], with_offsets: bool) -> tuple[list[list[int]], list[Offsets] | None]:
        if with_offsets:
            raise NotImplementedError("AlbertTokenizer does not compute offsets; use AlbertTokenizerFast")
        plain: list[str] = []
        layout: list[list[int | str]] = []  # per text: chunk indices into plain, or special tokens
        for text in texts:
            row: list[int | str] = []
            for chunk, is_special in self._chunks(text):
                if is_special:
                    row.append(chunk)
                else:
                    row.append(len(plain))
                    plain.append(self.preprocessing.apply(chunk))
            layout.append(row)
        encoded = self._sp.encode(plain, num_threads=self.num_threads) if plain else []
        table = self._digit_comma
        out: list[list[int]] = []
        for row in layout:
            ids: list[int] = []
            for item in row:
                if isinstance(item, str):
                    ids.append(self._piece_to_id[item])
                    continue
                piece_ids = encoded[item]
                if table.keys().isdisjoint(piece_ids):
                    ids.extend(piece_ids)
                else:
                    for pid in piece_ids:
                        ids.extend(table.get(pid, (pid,)))
            out.append(ids)
        return out, None

    def _encode_with_spans(self, text: str) -> tuple[list[int], Offsets]:
        """The ids of :meth:`_encode_texts` for one text, with raw character spans in ``text``.

        Spans come from SentencePiece's own byte offsets into the preprocessed chunk, mapped back through
        :meth:`albert_tok.text.Preprocessing.align`; a special token written in the text has the span of
        what was written. :func:`albert_tok.offsets.settle_offsets` turns them into contract offsets.
        """
        ids: list[int] = []
        spans: Offsets = []
        for start, end, token in special_token_spans(text, self.special_tokens, self._special_pattern):
            if token is not None:
                ids.append(self._piece_to_id[token])
                spans.append((start, end))
                continue
            chunk, chunk_spans = self.preprocessing.align(text[start:end])
            if not chunk:
                continue
            proto = self._sp.encode([chunk], out_type="serialized_proto")[0]
            byte_starts = [0]  # byte offset in chunk's UTF-8 where each character starts
            for char in chunk:
                byte_starts.append(byte_starts[-1] + len(char.encode("utf-8")))
            for piece_id, begin, stop in parse_pieces_with_spans(proto):
                first = bisect.bisect_right(byte_starts, begin) - 1
                after = bisect.bisect_left(byte_starts, stop)
                # SentencePiece counts the characters it deletes (controls) into the piece next to them;
                # the Rust normaliser leaves them out at a piece's edges. Follow Rust.
                while after - first > 1 and self._deleted(chunk[after - 1]):
                    after -= 1
                while after - first > 1 and self._deleted(chunk[first]):
                    first += 1
                covered = chunk_spans[first:after] if after > first else []
                if covered:
                    span = (start + min(s for s, _ in covered), start + max(e for _, e in covered))
                else:  # SentencePiece's dummy prefix: no character of its own
                    at = start + (chunk_spans[first][0] if first < len(chunk_spans) else end - start)
                    span = (at, at)
                replacement = self._digit_comma.get(piece_id)
                if replacement is None:
                    ids.append(piece_id)
                    spans.append(span)
                else:
                    ids.extend(replacement)
                    spans.extend(remap_offsets([self._pieces[piece_id]], [span],
                                               [self._pieces[i] for i in replacement]))
        return ids, spans

    def normalize(self, text: str) -> str:
        """The text SentencePiece segments (ALBERT preprocessing and ``nmt_nfkc``), ``▁`` as spaces,
        special tokens kept; what ``decode(encode(text), skip_special_tokens=True)`` returns for text
        without unknown pieces or special tokens."""
        parts = []
        for chunk, is_special in self._chunks(text):
            if is_special:
                parts.append(chunk)
            else:
                normalized = self._sp.normalize(self.preprocessing.apply(chunk))
                parts.append(normalized.replace(SPIECE_UNDERLINE, " ").strip())
        return " ".join(p for p in parts if p)

    def _model_file_contents(self) -> dict[str, bytes]:
        from .convert import tokenizer_json_bytes  # the only use of the Rust library by this class

        return {files.SPIECE: self._model_bytes,
                files.TOKENIZER_JSON: tokenizer_json_bytes(self._model_bytes, self.special_tokens,
                                                           self.preprocessing)}
