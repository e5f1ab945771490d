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

    Text is split around added and special tokens, and the text between them is preprocessed and encoded by
    :class:`~albert_tok.engines.SentencePieceEngine`. Batches are encoded by SentencePiece's threaded batch API
    (a few short texts on the calling thread, where starting the threads would cost more than the work).
    Offsets (``return_offsets_mapping=True``) come from SentencePiece's own byte offsets mapped back through
    ALBERT's preprocessing (:meth:`~albert_tok.rules._text.Preprocessing.align`) and keep the contract of
    :mod:`albert_tok.rules._offsets`. Loading and encoding never import the Rust ``tokenizers`` library. A
    tokenizer pickles as its model bytes and options, and is rebuilt from them.

    Args:
        vocab_file: path of ``spiece.model``; or pass ``model_bytes`` instead.
        do_lower_case, remove_space, keep_accents: ALBERT's preprocessing switches (lower-case; strip and
            collapse spaces; keep accents rather than strip them). None (default) keeps the value of
            ``preprocessing``; a value given here overrides it.
        model_bytes: the serialized SentencePiece model, instead of ``vocab_file``.
        preprocessing: a :class:`~albert_tok.Preprocessing` holding the three switches; None for ALBERT's
            defaults (lower-case, remove spaces, strip accents).
        special_tokens: a :class:`~albert_tok.SpecialTokens`; None for ALBERT's, or pass single tokens as
            ``unk_token=``, ``sep_token=``, ``pad_token=``, ``cls_token=``, ``mask_token=``, ``bos_token=``,
            ``eos_token=`` keyword arguments (not both).
        model_max_length: the longest sequence the model takes (512): what truncation and
            ``padding="max_length"`` use without ``max_length``, and the length a call warns above.
        num_threads: threads SentencePiece's batch call uses; -1 (default) lets SentencePiece choose.
        **options: ``padding_side`` and ``truncation_side`` (``"right"``, the default, or ``"left"``);
            ``added_tokens_decoder`` (id -> token) and ``additional_special_tokens``, the added tokens as a saved
            directory holds them (or call :meth:`add_tokens`/:meth:`add_special_tokens`);
            ``clean_up_tokenization_spaces`` (bool, default False: what :meth:`decode` does by default); and the
            ``*_token`` arguments above.

    Raises:
        TypeError: neither ``vocab_file`` nor ``model_bytes`` is given, an unknown keyword argument, both
            ``special_tokens`` and ``*_token`` arguments, or an option of the wrong type.
        FileNotFoundError: ``vocab_file`` does not exist.
        albert_tok.io.NotARegularFileError: ``vocab_file`` is a directory, a device, a FIFO or a socket.
        ValueError: the model is not a valid SentencePiece model, an option is out of range
            (``model_max_length`` not an int from 3 to 1,000,000, a side other than right or left), or the added
            tokens disagree with the vocabulary.

    Example:
        >>> from albert_tok import AlbertTokenizer
        >>> tok = AlbertTokenizer("fixtures/spiece.model")
        >>> tok.tokenize("Hello world!")
        ['▁hello', '▁world', '!']
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
    def from_pretrained(
        cls,
        directory: str | os.PathLike[str],
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        token: str | bool | None = None,
        local_files_only: bool = False,
        subfolder: str = "",
        force_download: bool = False,
        **overrides: Any,
    ) -> AlbertTokenizer:
        """Load from a Hugging Face-format directory holding ``spiece.model``, or a ``tokenizer.json`` converted
        from one (the SentencePiece model is rebuilt from it: see :func:`albert_tok.engines.model_from_tokenizer_json`).

        The directory's ``tokenizer_config.json``, ``special_tokens_map.json``, ``added_tokens.json`` and the added
        tokens of its ``tokenizer.json`` give the options (see :func:`albert_tok.api._files.read_directory`); a
        save killed halfway is finished or undone first. A Hugging Face repo id is resolved in the standard
        cache, downloaded when allowed (see :func:`albert_tok.io.resolve_directory`).

        Args:
            directory: the directory, as saved by :meth:`save_pretrained` (ours or transformers'), or a Hugging
                Face repo id (``"albert/albert-base-v2"``; the legacy ``"albert-base-v2"`` too) when no such
                directory exists.
            revision: with a repo id, the branch, tag or commit to load (None: ``"main"``); not used for a
                directory.
            cache_dir: with a repo id, the Hugging Face cache to read and download into (None: huggingface_hub's,
                ``HF_HUB_CACHE``).
            token: with a repo id, the Hugging Face token for a private or gated repository (a string, True for
                the saved login, False for none; None: ``HF_TOKEN`` or the saved login).
            local_files_only: True never downloads: a repo id must be in the cache (as with ``HF_HUB_OFFLINE=1``).
            subfolder: the folder of the repository or directory that holds the tokenizer files (``""``: the
                top).
            force_download: True downloads a repo id's files again even when they are cached.
            **overrides: constructor arguments that override what was read (a single ``*_token`` replaces that
                one field of the special tokens read).

        Returns:
            The tokenizer.

        Raises:
            FileNotFoundError: the directory does not exist (and the name is no repo id either), or holds no
                ``spiece.model`` and no ``tokenizer.json`` it can be rebuilt from (a Unigram model with a
                precompiled character map; :class:`~albert_tok.AlbertTokenizerFast` can load another
                ``tokenizer.json`` alone).
            ValueError: a file holds what cannot be honoured (unknown or malformed keys, another tokenizer
                class, another tokenizer's files, added tokens that disagree); and what the constructor raises.
            OSError: a repo id that is not in the cache while downloads are off (``HF_HUB_OFFLINE=1``,
                ``local_files_only=True``; the message names the cache searched and the ways out), or that the hub
                does not have (repository, revision or file), or whose download failed.
            ImportError: a repo id without huggingface_hub installed (``pip install "albert[hub]"``).
            TypeError: an override that is no constructor argument.

        Example:
            >>> from albert_tok import DEFAULT_TOKENIZER, AlbertTokenizer
            >>> tok = AlbertTokenizer.from_pretrained(DEFAULT_TOKENIZER, model_max_length=128)
            >>> tok("Hello world!")["input_ids"]
            [2, 10975, 126, 187, 3]
        """
        directory, found = cls._read_pretrained(
            directory,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            local_files_only=local_files_only,
            subfolder=subfolder,
            force_download=force_download,
        )
        if found.spiece is None and found.spiece_bytes is not None:
            return cls(model_bytes=found.spiece_bytes, **cls._pretrained_options(found, overrides))
        if found.spiece is None:
            raise FileNotFoundError(
                f"{os.fspath(directory)!r} has no {files.SPIECE}; the slow tokenizer needs "
                f"it (AlbertTokenizerFast can load {files.TOKENIZER_JSON} alone), and it cannot be rebuilt "
                f"from the {files.TOKENIZER_JSON}: {found.rebuild_error}"
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
        """What SentencePiece segments for a text without added tokens.

        Args:
            text: the text; an added token in it is treated as plain text.

        Returns:
            ALBERT's preprocessing, then ``nmt_nfkc`` and SentencePiece's whitespace handling, ``▁`` for spaces.
        """
        return self._engine.normalize(text)

    def normalize(self, text: str) -> str:
        """The text SentencePiece segments, with added tokens kept.

        Args:
            text: the text.

        Returns:
            ALBERT's preprocessing and ``nmt_nfkc`` on the text between added tokens, spaces as spaces, added
            tokens by their content, joined by single spaces: what ``decode(encode(text),
            skip_special_tokens=True)`` returns for text without unknown pieces or special tokens.
        """
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
