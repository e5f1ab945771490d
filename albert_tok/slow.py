"""The slow ALBERT tokenizer: ALBERT's preprocessing in Python, then SentencePiece itself.

It is the canonical reference the fast tokenizer is tested against. It gives no character offsets.
"""

from __future__ import annotations

import os
from typing import Any

import sentencepiece as spm

from . import files
from .base import AlbertTokenizerBase, Offsets
from .convert import SPIECE_UNDERLINE, digit_comma_table
from .special_tokens import SpecialTokens, special_token_pattern, split_on_special_tokens
from .spm_model import ModelFormatError, parse_model
from .text import lower_per_char, preprocess_text

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
        do_lower_case, remove_space, keep_accents: ALBERT's preprocessing switches.
        model_max_length: longest sequence the model takes (512).

    Batches are encoded by SentencePiece's threaded batch API. It does not compute offsets: use
    :class:`AlbertTokenizerFast` for ``return_offsets_mapping``.
    """

    def __init__(self, vocab_file: str | os.PathLike[str] | None = None, do_lower_case: bool = True,
                 remove_space: bool = True, keep_accents: bool = False, *,
                 model_bytes: bytes | None = None, special_tokens: SpecialTokens | None = None,
                 model_max_length: int = 512, num_threads: int = -1, **tokens: str) -> None:
        if special_tokens is None:
            special_tokens = SpecialTokens(**tokens)
        elif tokens:
            raise TypeError("pass either special_tokens or individual *_token arguments, not both")
        super().__init__(do_lower_case=do_lower_case, remove_space=remove_space, keep_accents=keep_accents,
                         special_tokens=special_tokens, model_max_length=model_max_length)
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

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], **overrides: Any) -> "AlbertTokenizer":
        """Load from a Hugging Face-format directory holding ``spiece.model``."""
        found = files.read_directory(directory)
        if found.spiece is None:
            raise FileNotFoundError(f"{os.fspath(directory)!r} has no {files.SPIECE}; the slow tokenizer needs "
                                    f"it (AlbertTokenizerFast can load {files.TOKENIZER_JSON} alone)")
        return cls(found.spiece, **{**found.options, **overrides})

    @property
    def model_bytes(self) -> bytes:
        """The serialized SentencePiece model: the whole vocabulary state."""
        return self._model_bytes

    def __getstate__(self) -> dict[str, Any]:
        return {"model_bytes": self._model_bytes, "num_threads": self.num_threads, **self._options()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    @property
    def _preprocess_options(self) -> dict[str, bool]:
        return {"remove_space": self.remove_space, "keep_accents": self.keep_accents,
                "do_lower_case": self.do_lower_case}

    def _chunks(self, text: str) -> list[tuple[str, bool]]:
        """Step 1-2 of :mod:`albert_tok.text`: lower outside special tokens, split on them."""
        lower = lower_per_char if self.do_lower_case else None
        if any(c in text for c in self._special_first_chars):
            return split_on_special_tokens(text, self.special_tokens, self._special_pattern, lower)
        if lower is not None:
            text = lower(text)
        return [(text, False)] if text else []

    def _encode_texts(self, texts: list[str], with_offsets: bool) -> tuple[list[list[int]], list[Offsets] | None]:
        if with_offsets:
            raise NotImplementedError("AlbertTokenizer does not compute offsets; use AlbertTokenizerFast")
        plain: list[str] = []
        layout: list[list[int | str]] = []  # per text: chunk indices into plain, or special tokens
        options = self._preprocess_options
        for text in texts:
            row: list[int | str] = []
            for chunk, is_special in self._chunks(text):
                if is_special:
                    row.append(chunk)
                else:
                    row.append(len(plain))
                    plain.append(preprocess_text(chunk, **options))
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

    def normalize(self, text: str) -> str:
        """The text SentencePiece segments (ALBERT preprocessing and ``nmt_nfkc``), ``▁`` as spaces,
        special tokens kept; what ``decode(encode(text), skip_special_tokens=True)`` returns for text
        without unknown pieces or special tokens."""
        parts = []
        for chunk, is_special in self._chunks(text):
            if is_special:
                parts.append(chunk)
            else:
                normalized = self._sp.normalize(preprocess_text(chunk, **self._preprocess_options))
                parts.append(normalized.replace(SPIECE_UNDERLINE, " ").strip())
        return " ".join(p for p in parts if p)

    def _model_file_contents(self) -> dict[str, bytes]:
        from .fast import tokenizer_json_bytes

        return {files.SPIECE: self._model_bytes,
                files.TOKENIZER_JSON: tokenizer_json_bytes(self._model_bytes, self._options())}
