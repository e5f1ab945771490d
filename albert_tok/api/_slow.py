"""The slow ALBERT tokenizer: ALBERT's preprocessing in Python, then SentencePiece itself.

It is the canonical reference the fast tokenizer is tested against. It encodes everything through
:class:`albert_tok.engines.SentencePieceEngine`, the same engine the fast tokenizer hands the rows its Rust
tokenizer cannot encode canonically; its character offsets come from SentencePiece's byte offsets
(:meth:`~albert_tok.engines.SentencePieceEngine.encode_with_spans`). Loading and encoding never import the Rust
``tokenizers`` library; only writing a ``tokenizer.json`` (``save_pretrained``) does.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from albert_tok.api import _files as files
from albert_tok.api._added_tokens import Piece
from albert_tok.api._base import AlbertTokenizerBase, LoadedVocabulary
from albert_tok.engines import SentencePieceEngine, load_spiece_bytes
from albert_tok.rules import SPIECE_UNDERLINE, Offsets, Preprocessing, SpecialTokens

__all__ = ["AlbertTokenizer"]


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

    _engine: SentencePieceEngine

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
        def load() -> LoadedVocabulary:
            spiece = model_bytes
            if spiece is None:
                if vocab_file is None:
                    raise TypeError("AlbertTokenizer needs vocab_file (a spiece.model path) or model_bytes")
                spiece = load_spiece_bytes(vocab_file)
            source = repr(os.fspath(vocab_file)) if vocab_file else "model_bytes"
            engine = SentencePieceEngine(spiece, self.preprocessing, source, num_threads)
            return LoadedVocabulary(engine.pieces, engine.normalize, engine)

        super().__init__(
            load=load,
            preprocessing=preprocessing,
            do_lower_case=do_lower_case,
            remove_space=remove_space,
            keep_accents=keep_accents,
            special_tokens=special_tokens,
            model_max_length=model_max_length,
            **options,
        )

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
        return self._engine.model_bytes

    @property
    def num_threads(self) -> int:
        """Threads SentencePiece's batch call uses (``-1``: SentencePiece chooses); settable."""
        return self._engine.num_threads

    @num_threads.setter
    def num_threads(self, value: int) -> None:
        self._engine.num_threads = value

    @property
    def user_defined_ids(self) -> frozenset[int]:
        """Ids of the SentencePiece model's user-defined pieces."""
        return self._engine.user_defined_ids

    def _source_options(self) -> dict[str, Any]:
        return {"model_bytes": self._engine.model_bytes, "num_threads": self._engine.num_threads}

    def _encode_chunks(self, chunks: list[str], with_offsets: bool) -> tuple[list[list[int]], list[Offsets] | None]:
        """Steps 1, 3 and 4 of :mod:`albert_tok.rules._text` on texts that hold no added token."""
        if with_offsets:
            pairs = [self._engine.encode_with_spans(c) for c in chunks]
            return [ids for ids, _ in pairs], [spans for _, spans in pairs]
        return self._engine.encode(chunks), None

    def _encode_chunks_flat(self, chunks: list[str], lowered: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The hot path: :meth:`SentencePieceEngine.encode_flat`."""
        return self._engine.encode_flat(chunks, lowered)

    def normalize_chunk(self, text: str) -> str:
        """What SentencePiece segments for ``text`` (a text without added tokens): ALBERT preprocessing then
        ``nmt_nfkc`` and SentencePiece's whitespace handling, ``▁`` for spaces."""
        return self._engine.normalize(text)

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
            files.SPIECE: self.model_bytes,
            files.TOKENIZER_JSON: tokenizer_json_bytes(
                self.model_bytes, self.special_tokens, self.preprocessing, self.added_tokens_decoder
            ),
        }
