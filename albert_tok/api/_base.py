"""Behaviour shared by the slow and fast ALBERT tokenizers: the encoding half of the API.

A subclass supplies what it encodes with, as a :class:`LoadedVocabulary` returned by the ``load`` function it
passes to :meth:`AlbertTokenizerBase.__init__` (its pieces, its normaliser, the :class:`SentencePieceEngine` when
it has the ``spiece.model``, the added tokens a ``tokenizer.json`` holds); :meth:`AlbertTokenizerBase._encode_chunks`
(canonical ids of texts that hold no added token, optionally with raw character spans; it may also override
``_encode_chunks_flat``, the same without offsets as one flat array, which is what a batch call without offsets
uses); :meth:`AlbertTokenizerBase._source_options` (the constructor arguments that give it its vocabulary, for
pickling); and :meth:`_model_file_contents` (the vocabulary files it can write). The constructor, the vocabulary's
initialisation, pickling and everything a user calls, from ``__call__`` to ``pad``, ``decode`` and
``save_pretrained``, are defined here or in :class:`~albert_tok.api._vocab.TokenizerVocabulary` once, so the two
classes cannot drift apart.

``__call__`` runs four steps, each a function a later feature can reuse or extend:
:meth:`~AlbertTokenizerBase._check_call` (arguments -> :class:`CallOptions`),
:meth:`~AlbertTokenizerBase._encode` (texts -> :class:`Encoded`: split on added tokens, then the subclass
encodes the pieces between them, a whole batch at once: :mod:`albert_tok.api._split_batch`),
:func:`albert_tok.api._batch.build_rows` (truncation, windows, special tokens),
:func:`albert_tok.api._batch.arrays` (rows -> padded numpy arrays) and :func:`albert_tok.api._batch.format_encoding`
(arrays -> :class:`BatchEncoding`).
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import warnings
from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from albert_tok.api import _files as files
from albert_tok.api._added_tokens import Piece, assemble
from albert_tok.api._alignment import Alignment
from albert_tok.api._batch import CallOptions, Encoded, arrays, build_rows, format_encoding
from albert_tok.api._decoding import TokenizerDecoding
from albert_tok.api._encoding import MODEL_INPUT_NAMES, TENSOR_TYPES, BatchEncoding
from albert_tok.api._gc_pause import gc_paused
from albert_tok.api._inputs import Inputs, check_texts, split_pairs
from albert_tok.api._one_text import ONE_TEXT_KEYWORDS, one_text_call
from albert_tok.api._pad import pad_features
from albert_tok.api._split_batch import encode_split
from albert_tok.api._vocab import as_id_list
from albert_tok.engines import SentencePieceEngine
from albert_tok.io import resolve_directory
from albert_tok.rules import (
    Offsets,
    Padding,
    Preprocessing,
    Side,
    SpecialTokens,
    Truncation,
    build_inputs,
    check_length,
    normaliser_predicates,
    num_special_tokens,
    resolve_padding,
    resolve_side,
    resolve_truncation,
    settle_offsets,
    space_pieces,
    special_tokens_mask,
    token_type_ids,
)

__all__ = ["MODEL_MAX_LENGTH", "AlbertTokenizerBase", "LoadedVocabulary"]

MODEL_MAX_LENGTH = 512


@dataclasses.dataclass(frozen=True)
class LoadedVocabulary:
    """What a tokenizer class loads before :class:`AlbertTokenizerBase` sets up its vocabulary.

    Attributes:
        pieces: the base vocabulary in id order.
        normalize: the normaliser of the text between added tokens (what offsets are settled with, see
            :func:`albert_tok.rules.normaliser_predicates`).
        engine: the SentencePiece engine, when the ``spiece.model`` is at hand; it learns the added tokens an
            unknown piece's surface may spell whenever they change.
        added_tokens: added tokens read with the vocabulary (a ``tokenizer.json``'s), id -> token, or None when
            it holds none; those given to the constructor are laid over them.
    """

    pieces: list[str]
    normalize: Callable[[str], str]
    engine: SentencePieceEngine | None = None
    added_tokens: Mapping[int, Any] | None = None


class AlbertTokenizerBase(TokenizerDecoding):
    """The public API both ALBERT tokenizers share; see :class:`albert_tok.AlbertTokenizer` for the arguments.

    Everything a user calls, from ``__call__`` to ``pad``, ``decode`` and ``save_pretrained``, is defined here
    (or in the vocabulary and decoding halves it inherits) once; a subclass supplies only what it encodes with.
    """

    model_input_names: ClassVar[list[str]] = list(MODEL_INPUT_NAMES)
    is_fast = False
    supports_offsets = True
    # What offsets.settle_offsets needs to know about the vocabulary and normaliser (set by __init__).
    _word_start_ids: Container[int]
    _space_id: int | None
    _is_space: Callable[[str], bool]
    _is_deleted: Callable[[str], bool]
    _engine: SentencePieceEngine | None = None
    # Calls without offsets are encoded by the engine when there is one (both classes give its ids; SentencePiece
    # is the faster of the two libraries on them); the fast class's tests turn it off to reach its Rust path.
    _plain_ids_by_engine = True

    def __init__(
        self,
        *,
        load: Callable[[], LoadedVocabulary],
        preprocessing: Preprocessing | None = None,
        do_lower_case: bool | None = None,
        remove_space: bool | None = None,
        keep_accents: bool | None = None,
        special_tokens: SpecialTokens | None = None,
        model_max_length: int = MODEL_MAX_LENGTH,
        padding_side: str = "right",
        truncation_side: str = "right",
        added_tokens_decoder: dict[int, Any] | None = None,
        additional_special_tokens: Sequence[Any] | None = None,
        clean_up_tokenization_spaces: bool = False,
        **tokens: str,
    ) -> None:
        """The constructor both tokenizers share: options, then the subclass's vocabulary, then the added tokens.

        Switches given one by one override the ``preprocessing`` they come with; special tokens come as one
        ``special_tokens`` or as ``*_token`` keyword arguments, not both. ``added_tokens_decoder`` (id -> token)
        and ``additional_special_tokens`` are what a saved directory holds. ``load`` is called once the options
        are settled (it may read ``self.preprocessing`` and ``self.special_tokens``) and returns what the
        subclass encodes with; the vocabulary and the offset rules are then set up from it.

        Args:
            load: Called once, without arguments, after the options are set; it returns the subclass's
                :class:`LoadedVocabulary` (pieces in id order, normaliser, engine, added tokens read with them).
                What it raises passes through.
            preprocessing: A :class:`~albert_tok.Preprocessing` holding the three switches; None (the default)
                for ALBERT's (lower-case, remove spaces, strip accents).
            do_lower_case: Lower-case the text; None (the default) keeps ``preprocessing``'s value.
            remove_space: Strip the text and collapse runs of spaces; None keeps ``preprocessing``'s value.
            keep_accents: Keep accents rather than strip them; None keeps ``preprocessing``'s value.
            special_tokens: A :class:`~albert_tok.SpecialTokens`; None (the default) builds one from the
                ``*_token`` keyword arguments (ALBERT's tokens for those not given).
            model_max_length: The longest sequence the model takes (default 512): what truncation and
                ``padding="max_length"`` use without ``max_length``; an int from 3 to 1,000,000.
            padding_side: ``"right"`` (the default) or ``"left"``: where padding goes.
            truncation_side: ``"right"`` (the default) or ``"left"``: which end truncation cuts.
            added_tokens_decoder: Added tokens as a saved directory holds them, id -> token (an
                ``AddedToken``, a string or a mapping of its fields); laid over those ``load`` returns. An id
                inside the vocabulary must hold that same piece; ids after it must follow it without a gap.
                None adds none.
            additional_special_tokens: Extra special tokens, as a saved directory lists them; None adds none.
            clean_up_tokenization_spaces: What :meth:`decode` does by default: True removes the space before
                ``. ? ! ,`` and English contractions (transformers' ``clean_up_tokenization``); False (the
                default) keeps the text as decoded.
            **tokens: Single special tokens (``unk_token=``, ``sep_token=``, ``pad_token=``, ``cls_token=``,
                ``mask_token=``, ``bos_token=``, ``eos_token=``), instead of ``special_tokens``.

        Raises:
            TypeError: When ``preprocessing`` or ``special_tokens`` has the wrong type, a keyword argument is not a
                special token's name, both ``special_tokens`` and ``*_token`` arguments are given, or
                ``clean_up_tokenization_spaces`` is not a bool.
            ValueError: When ``model_max_length`` is not an int from 3 to 1,000,000, a side is neither
                ``"right"`` nor ``"left"``, or the added tokens disagree with the vocabulary.
        """
        if preprocessing is None:
            preprocessing = Preprocessing()
        elif not isinstance(preprocessing, Preprocessing):
            raise TypeError(f"preprocessing must be an albert_tok.Preprocessing, got {type(preprocessing).__name__}")
        self.preprocessing = preprocessing.with_overrides(
            do_lower_case=do_lower_case, remove_space=remove_space, keep_accents=keep_accents
        )
        if special_tokens is None:
            names = set(SpecialTokens.__dataclass_fields__)
            unknown = sorted(set(tokens) - names)
            if unknown:
                raise TypeError(
                    f"unexpected argument(s) {unknown}; special tokens are passed as "
                    f"{sorted(names)} or special_tokens=SpecialTokens(...)"
                )
            special_tokens = SpecialTokens(**tokens)
        elif tokens:
            raise TypeError("pass either special_tokens or individual *_token arguments, not both")
        elif not isinstance(special_tokens, SpecialTokens):
            raise TypeError(f"special_tokens must be an albert_tok.SpecialTokens, got {type(special_tokens).__name__}")
        self.special_tokens = special_tokens
        check_length("model_max_length", model_max_length, minimum=3)
        self.model_max_length = model_max_length
        self.padding_side = padding_side
        self.truncation_side = truncation_side
        if not isinstance(clean_up_tokenization_spaces, bool):
            raise TypeError(f"clean_up_tokenization_spaces must be True or False, got {clean_up_tokenization_spaces!r}")
        self.clean_up_tokenization_spaces = clean_up_tokenization_spaces
        # transformers' data collators read and set this to silence a warning; nothing here warns.
        self.deprecation_warnings: dict[str, bool] = {}
        loaded = load()
        self._engine = loaded.engine
        self._pieces = list(loaded.pieces)
        added = added_tokens_decoder
        if loaded.added_tokens is not None:
            added = {**loaded.added_tokens, **(added or {})}
        user_defined = None if loaded.engine is None else loaded.engine.user_defined_ids
        self._init_vocabulary(added, additional_special_tokens, user_defined=user_defined)
        self._word_start_ids, self._space_id = space_pieces(self._pieces)
        self._is_space, self._is_deleted = normaliser_predicates(loaded.normalize)

    def _rebuild(self) -> None:
        super()._rebuild()
        if self._engine is not None:  # it names unknown surfaces for this tokenizer: the same added tokens
            self._engine.surface_ids = self._surface_ids

    @property
    def padding_side(self) -> str:
        """Where padding goes: ``"right"`` (default) or ``"left"``; settable, checked when set."""
        return self._padding_side.value

    @padding_side.setter
    def padding_side(self, value: str) -> None:
        self._padding_side = resolve_side("padding_side", value)

    @property
    def truncation_side(self) -> str:
        """Which end truncation removes: ``"right"`` (default) or ``"left"``; settable, checked when set."""
        return self._truncation_side.value

    @truncation_side.setter
    def truncation_side(self, value: str) -> None:
        self._truncation_side = resolve_side("truncation_side", value)

    @staticmethod
    def _read_pretrained(directory: str | os.PathLike[str], **hub: Any) -> tuple[str, files.TokenizerDirectory]:
        """What ``from_pretrained`` reads: the local tokenizer directory ``directory`` names (a path, or a repo
        id resolved with the ``hub`` keywords by :func:`albert_tok.io.resolve_directory`), and what
        :func:`~albert_tok.api._files.read_directory` found there."""
        local = resolve_directory(directory, what="tokenizer", **hub)
        return local, files.read_directory(local)

    @classmethod
    def _pretrained_options(cls, found: files.TokenizerDirectory, overrides: dict[str, Any]) -> dict[str, Any]:
        """Options read from a directory with the caller's ``overrides`` on top (switches and ``*_token``
        arguments override single fields of what was read). A keyword that is no constructor argument raises
        ``TypeError`` naming it, before anything is built."""
        options = {**found.options}
        token_names = set(SpecialTokens.__dataclass_fields__)
        accepted = _constructor_keywords(cls)
        unknown = sorted(set(overrides) - accepted - token_names)
        if unknown:
            raise TypeError(
                f"{cls.__name__}.from_pretrained() got unexpected keyword argument(s) {unknown}: they are neither "
                f"loading options ({', '.join(_LOADING_KEYWORDS)}) nor constructor arguments "
                f"({', '.join(sorted(accepted | token_names))})"
            )
        tokens = {k: overrides.pop(k) for k in list(overrides) if k in token_names}
        if tokens and "special_tokens" not in overrides:
            options["special_tokens"] = dataclasses.replace(options["special_tokens"], **tokens)
        elif tokens:
            raise TypeError("pass either special_tokens or individual *_token arguments, not both")
        return {**options, **overrides}

    def __getstate__(self) -> dict[str, Any]:
        return {**self._source_options(), **self._options()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def _source_options(self) -> dict[str, Any]:
        """The constructor arguments that give this tokenizer its vocabulary (pickling)."""
        raise NotImplementedError

    def _options(self) -> dict[str, Any]:
        """The constructor options that rebuild this tokenizer (pickling, conversions)."""
        return {
            "preprocessing": self.preprocessing,
            "special_tokens": self.special_tokens,
            "model_max_length": self.model_max_length,
            "padding_side": self.padding_side,
            "truncation_side": self.truncation_side,
            "added_tokens_decoder": self.added_tokens_decoder,
            "additional_special_tokens": list(self._additional_special),
            "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces,
        }

    # -- what subclasses provide -------------------------------------------------------------------
    def _encode_chunks(self, chunks: list[str], with_offsets: bool) -> tuple[list[list[int]], list[Offsets] | None]:
        """Canonical ids of texts holding no added token (no special tokens added) and, ``with_offsets``,
        raw character spans of each token in its text (settled afterwards by :func:`settle_offsets`)."""
        raise NotImplementedError

    def _model_file_contents(self) -> dict[str, bytes]:
        raise NotImplementedError

    # -- encoding ----------------------------------------------------------------------------------
    def _encode_texts(self, texts: list[str], with_offsets: bool) -> Encoded:
        """Step 2: ids (and offsets) of each text without special tokens: the text is split around added
        tokens (:mod:`albert_tok.api._added_tokens`) and the pieces between them are encoded by the subclass,
        all of a batch in one call."""
        if not with_offsets:
            return self._encode_without_offsets(texts)
        split = self._added.split
        splits: list[list[Piece] | None] = [split(t) for t in texts]
        if not any(splits):
            ids, raw = self._encode_chunks(texts, with_offsets)
        else:
            chunks: list[str] = []
            for text, pieces in zip(texts, splits, strict=False):
                if pieces is None:
                    chunks.append(text)
                else:
                    chunks.extend(p.text for p in pieces if p.token is None)
            chunk_ids, chunk_raw = self._encode_chunks(chunks, with_offsets)
            ids, raw = assemble(splits, chunk_ids, chunk_raw)
        if not with_offsets or raw is None:
            return Encoded(ids)
        offsets = [
            settle_offsets(text, row, spans, self._word_start_ids, self._space_id, self._is_space, self._is_deleted)
            for text, row, spans in zip(texts, ids, raw, strict=False)
        ]
        return Encoded(ids, offsets)

    def _encode_chunks_flat(self, chunks: list[str], lowered: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_encode_chunks` without offsets, as one flat array of ids and the length of each chunk;
        ``lowered``: the chunks are lower-cased by step 1 of :mod:`albert_tok.rules._text` already."""
        encoded = Encoded(self._encode_chunks(chunks, False)[0])
        return encoded.flat, encoded.lengths

    def _encode_without_offsets(self, texts: list[str]) -> Encoded:
        """:meth:`_encode_texts` without offsets, the hot path: texts holding no added token go to the
        subclass as they are; the others are split
        (:meth:`~albert_tok.api._added_tokens.AddedVocabulary.split_texts`) and encoded with them in one batch
        (:func:`albert_tok.api._split_batch.encode_split`)."""
        splits = self._added.split_texts(texts)
        if splits is None:
            return Encoded.from_flat(*self._encode_chunks_flat(texts))
        return Encoded.from_flat(*encode_split(texts, splits, self._encode_chunks_flat))

    def _encode_one_chunk(self, chunk: str) -> list[int]:
        """:meth:`_encode_chunks_flat` of one text holding no added token, as a list: the SentencePiece engine encodes
        it on this thread when there is one (both classes give its ids), else the subclass's encoder."""
        if self._engine is not None and self._plain_ids_by_engine:
            return self._engine.encode_one(chunk)
        return self._encode_chunks([chunk], False)[0][0]

    def _one_text_ids(self, text: str) -> list[int]:
        """The ids of one text without special tokens, as :meth:`_encode_without_offsets` gives them for ``[text]``
        (the one-text path, :mod:`albert_tok.api._one_text`)."""
        if self._added.may_hold_token(text):
            return self._encode_without_offsets([text]).ids[0]
        return self._encode_one_chunk(text)

    def _encode_words(self, words: list[list[str]], with_offsets: bool) -> Encoded:
        """Pre-split words: each word is encoded on its own (as transformers' slow tokenizer does, so each
        gets SentencePiece's ``▁`` prefix) and its tokens carry its index; offsets are within each word."""
        flat = [w for ws in words for w in ws]
        encoded = self._encode_texts(flat, with_offsets)
        out = Encoded([], [] if with_offsets else None, [])
        k = 0
        for ws in words:
            ids: list[int] = []
            word_of: list[int] = []
            offsets: Offsets = []
            for index in range(len(ws)):
                ids.extend(encoded.ids[k])
                word_of.extend([index] * len(encoded.ids[k]))
                if encoded.offsets is not None:
                    offsets.extend(encoded.offsets[k])
                k += 1
            out.ids.append(ids)
            out.words.append(word_of)  # type: ignore[union-attr]
            if out.offsets is not None:
                out.offsets.append(offsets)
        return out

    def _encode(self, inputs: Inputs, with_offsets: bool) -> tuple[Encoded, Encoded | None]:
        if inputs.words is not None:
            a = self._encode_words(inputs.words, with_offsets)
            b = None if inputs.pair_words is None else self._encode_words(inputs.pair_words, with_offsets)
            return a, b
        a = self._encode_texts(inputs.texts, with_offsets)
        b = None if inputs.pairs is None else self._encode_texts(inputs.pairs, with_offsets)
        return a, b

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False) -> list[str]:
        """The canonical tokens of one text, as strings.

        Args:
            text: the text to tokenize.
            pair: a second text, tokenized after the first (its tokens follow ``text``'s); None for none.
            add_special_tokens: add ``[CLS]`` and ``[SEP]`` around the text(s); off by default, as in transformers.

        Returns:
            The tokens in order: SentencePiece pieces (``▁`` marks a word start), added tokens by their content.

        Raises:
            TypeError: ``text`` is not a str (use ``__call__`` for batches).
        """
        if not isinstance(text, str):
            raise TypeError(f"tokenize takes one str, got {type(text).__name__}")
        return self.convert_ids_to_tokens(self.encode(text, pair, add_special_tokens=add_special_tokens))  # type: ignore[return-value]

    def encode(
        self,
        text: str | list[str],
        text_pair: str | list[str] | None = None,
        add_special_tokens: bool = True,
        **kwargs: Any,
    ) -> list[int]:
        """The ``input_ids`` of one text (or pair) as a list.

        Args:
            text: the text; with ``is_split_into_words=True`` in ``kwargs``, a list of words.
            text_pair: a second text (or list of words) encoded after the first, or None.
            add_special_tokens: add ``[CLS] A [SEP]`` (``[CLS] A [SEP] B [SEP]`` for a pair); True by default.
            **kwargs: any other argument of :meth:`__call__` (``truncation``, ``max_length``, ``padding``...).

        Returns:
            The ids as a list of int.

        Raises:
            TypeError: ``text`` is not a str (nor a list of words with ``is_split_into_words=True``); use
                ``__call__`` for batches.
        """
        if type(text) is str and (text_pair is None or type(text_pair) is str) and ONE_TEXT_KEYWORDS.issuperset(kwargs):
            ids = one_text_call(self, text, text_pair, add_special_tokens=add_special_tokens, ids_only=True, **kwargs)
            if ids is not None:
                return ids
        if not isinstance(text, str) and not kwargs.get("is_split_into_words"):
            raise TypeError(f"encode takes one str (use __call__ for batches), got {type(text).__name__}")
        return self.encode_plus(text, text_pair, add_special_tokens=add_special_tokens, **kwargs)["input_ids"]

    def encode_plus(
        self, text: str | list[str], text_pair: str | list[str] | None = None, **kwargs: Any
    ) -> BatchEncoding:
        """:meth:`__call__` on one text (or pair), refusing a batch.

        Args:
            text: the text; with ``is_split_into_words=True`` in ``kwargs``, one list of words.
            text_pair: a second text (or list of words), or None.
            **kwargs: any other argument of :meth:`__call__`.

        Returns:
            A :class:`~albert_tok.BatchEncoding` of one example (lists of int, or tensors with ``return_tensors``).

        Raises:
            TypeError: ``text`` is a batch (use :meth:`batch_encode_plus` or :meth:`__call__`).
        """
        words = kwargs.get("is_split_into_words", False)
        single = isinstance(text, str) or (
            words and isinstance(text, (list, tuple)) and not (text and isinstance(text[0], (list, tuple)))
        )
        if not single:
            raise TypeError(
                f"encode_plus takes one text (use batch_encode_plus or __call__ for batches), got "
                f"{type(text).__name__} ({text!r:.60})"
            )
        return self(text, text_pair, **kwargs)

    def batch_encode_plus(self, batch_text_or_text_pairs: Sequence[Any], **kwargs: Any) -> BatchEncoding:
        """:meth:`__call__` on a batch given as one list.

        Args:
            batch_text_or_text_pairs: a list of texts, or of ``(text, text_pair)`` pairs (of word lists with
                ``is_split_into_words=True`` in ``kwargs``); pairs and single texts cannot be mixed.
            **kwargs: any other argument of :meth:`__call__`.

        Returns:
            A :class:`~albert_tok.BatchEncoding` with one row per item.

        Raises:
            TypeError: ``batch_text_or_text_pairs`` is not a list (or tuple).
            ValueError: an item is a tuple of other than two, or pairs and single texts are mixed; and what
                :meth:`__call__` raises.
        """
        texts, pairs = split_pairs(batch_text_or_text_pairs, kwargs.get("is_split_into_words", False))
        return self(texts, pairs, **kwargs)

    def __call__(
        self,
        text: str | Sequence[Any],
        text_pair: str | Sequence[Any] | None = None,
        *,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        verbose: bool = True,
    ) -> BatchEncoding:
        """Tokenize one text, a pair, or a batch, with Hugging Face's arguments and semantics.

        Args:
            text: a str, a list of str (a batch), or with ``is_split_into_words=True`` a list of words (or a list
                of such lists).
            text_pair: the second sequence of each pair, shaped like ``text``; None for single sequences.
            add_special_tokens: add ``[CLS] A [SEP]`` (``[CLS] A [SEP] B [SEP]`` for pairs); True by default.
            padding: False/``"do_not_pad"`` (default), True/``"longest"`` (to the longest row of the batch) or
                ``"max_length"`` (to ``max_length``, else ``model_max_length``).
            truncation: False/None (default: none), True/``"longest_first"``, ``"only_first"`` or
                ``"only_second"``; truncates to ``max_length``, else ``model_max_length``.
            max_length: the longest row, special tokens included; None for ``model_max_length`` where a length
                is needed. Given without ``truncation``, it truncates ``"longest_first"`` with a warning, as
                transformers does.
            stride: with ``return_overflowing_tokens``, how many tokens consecutive windows share (0: none).
            is_split_into_words: ``text`` (and ``text_pair``) are lists of words; each word is encoded on its
                own, and ``word_ids()`` gives each token's word.
            pad_to_multiple_of: round the padded length up to a multiple of this; None for no rounding.
            padding_side: ``"right"`` or ``"left"`` for this call; None for :attr:`padding_side`.
            return_tensors: None (lists), ``"np"`` (numpy arrays) or ``"pt"`` (torch tensors, importing torch);
                rows of different lengths need ``padding``.
            return_token_type_ids: include ``token_type_ids`` (0 for the first sequence, 1 for the second);
                None means yes.
            return_attention_mask: include ``attention_mask`` (1 for tokens, 0 for padding); None means yes.
            return_overflowing_tokens: return one row per window of the truncated sequence (the second one for
                ``truncation="only_second"``), overlapping by ``stride`` tokens, with
                ``overflow_to_sample_mapping``: the shape transformers' *fast* tokenizer returns, for both
                classes.
            return_special_tokens_mask: include ``special_tokens_mask`` (1 for special tokens).
            return_offsets_mapping: include ``offset_mapping``: each token's ``(start, end)`` characters in its
                own text, ``(0, 0)`` for special tokens and padding (the contract of
                :mod:`albert_tok.rules._offsets`).
            return_length: include ``length``, the number of tokens of each row.
            verbose: warn when a row is longer than ``model_max_length`` and nothing truncates it.

        Returns:
            A :class:`~albert_tok.BatchEncoding`: ``input_ids``, ``token_type_ids``, ``attention_mask`` and what
            was asked for, one row per text (or per window), or a single row for one unbatched text.

        Raises:
            TypeError: ``text`` or ``text_pair`` is not one of the accepted shapes, or holds a non-str item.
            ValueError: an option is not one of its accepted values (``padding``, ``truncation``,
                ``return_tensors``, ``padding_side``, a negative ``stride``, a ``max_length`` smaller than the
                special tokens a row needs), a batch and its pairs differ in length, word lists are empty or
                malformed, or ``return_tensors`` is asked for rows of different lengths without ``padding``.

        Example:
            >>> from albert_tok import DEFAULT_TOKENIZER, AlbertTokenizer
            >>> tok = AlbertTokenizer.from_pretrained(DEFAULT_TOKENIZER)
            >>> tok("Hello world!")["input_ids"]
            [2, 10975, 126, 187, 3]
            >>> batch = tok(["Hello world!", "A pair?"], ["Yes.", "No"], padding=True, return_tensors="np")
            >>> batch["input_ids"].shape
            (2, 8)
        """
        if (
            type(text) is str
            and (text_pair is None or type(text_pair) is str)
            and not is_split_into_words
            and not return_overflowing_tokens
            and not return_offsets_mapping
        ):
            one = one_text_call(  # by position, in its order: this runs on every call
                self,
                text,
                text_pair,
                add_special_tokens,
                padding,
                truncation,
                max_length,
                stride,
                pad_to_multiple_of,
                padding_side,
                return_tensors,
                return_token_type_ids,
                return_attention_mask,
                return_special_tokens_mask,
                return_length,
                verbose,
            )
            if one is not None:  # else arguments the one-text path leaves to the general one
                return one
        inputs = check_texts(text, text_pair, is_split_into_words)
        options = self._check_call(
            pair=inputs.pairs is not None,
            add_special_tokens=add_special_tokens,
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            stride=stride,
            pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side,
            return_tensors=return_tensors,
            return_token_type_ids=True if return_token_type_ids is None else bool(return_token_type_ids),
            return_attention_mask=True if return_attention_mask is None else bool(return_attention_mask),
            return_overflowing_tokens=bool(return_overflowing_tokens),
            return_special_tokens_mask=bool(return_special_tokens_mask),
            return_offsets_mapping=bool(return_offsets_mapping),
            return_length=bool(return_length),
        )
        with gc_paused():  # nothing the call allocates is garbage before it returns (albert_tok.api._gc_pause)
            a, b = self._encode(inputs, options.return_offsets_mapping)
            rows = build_rows(a, b, options, self.cls_token_id, self.sep_token_id)
            rows.word_rule = (self._word_start_ids, self._added.decoder)
            rows.offsets_of = self._offsets_source(inputs)
            if options.truncation is Truncation.DO_NOT_TRUNCATE and len(inputs.texts) and verbose:
                longest = int(rows.lengths.max())
                if longest > self.model_max_length:
                    warnings.warn(
                        f"Token indices sequence length is longer than the specified maximum sequence "
                        f"length for this model ({longest} > {self.model_max_length}). Running this "
                        f"sequence through the model will result in indexing errors; pass "
                        f"truncation=True.",
                        stacklevel=2,
                    )
            width, shift, padded = arrays(rows, options, self.pad_token_id)
            alignment = Alignment(rows, self._id_to_token, self.pad_token)
            encoding = format_encoding(rows, padded, width, shift, options, inputs.batched, alignment)
        encoding._n_sequences = 1 if b is None else 2
        return encoding

    def _offsets_source(self, inputs: Inputs) -> Callable[[int], tuple[Offsets, Offsets | None]]:
        """Offsets of one input, encoded again on demand (``char_to_token`` on a call made without
        ``return_offsets_mapping``)."""

        def offsets_of(sample: int) -> tuple[Offsets, Offsets | None]:
            one = dataclasses.replace(
                inputs,
                batched=True,
                texts=inputs.texts[sample : sample + 1],
                pairs=None if inputs.pairs is None else inputs.pairs[sample : sample + 1],
                words=None if inputs.words is None else inputs.words[sample : sample + 1],
                pair_words=None if inputs.pair_words is None else inputs.pair_words[sample : sample + 1],
            )
            a, b = self._encode(one, True)
            assert a.offsets is not None
            return a.offsets[0], None if b is None or b.offsets is None else b.offsets[0]

        return offsets_of

    def _check_call(
        self,
        *,
        pair: bool,
        add_special_tokens: bool,
        padding: Any,
        truncation: Any,
        max_length: Any,
        stride: Any,
        pad_to_multiple_of: Any,
        padding_side: Any,
        return_tensors: Any,
        **flags: bool,
    ) -> CallOptions:
        """Step 1: validate ``__call__``'s arguments and settle the defaults transformers applies."""
        pad = resolve_padding(padding)
        if return_tensors not in TENSOR_TYPES:
            raise ValueError(f"return_tensors={return_tensors!r} is not supported; accepted: None, 'np', 'pt'")
        check_length("max_length", max_length)
        check_length("pad_to_multiple_of", pad_to_multiple_of)
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 0:
            raise ValueError(f"stride must be an int >= 0, got {stride!r:.40}")
        side = self._padding_side if padding_side is None else resolve_side("padding_side", padding_side)
        if truncation is None and max_length is not None and pad is not Padding.MAX_LENGTH:
            warnings.warn(
                "max_length is given without truncation; truncating with 'longest_first' as "
                "transformers does. Pass truncation=True to silence this.",
                stacklevel=3,
            )
            truncation = True
        trunc = resolve_truncation(truncation)
        if trunc is not Truncation.DO_NOT_TRUNCATE or pad is Padding.MAX_LENGTH:
            max_length = self.model_max_length if max_length is None else max_length
        n_special = num_special_tokens(pair) if add_special_tokens else 0
        if trunc is not Truncation.DO_NOT_TRUNCATE and max_length < n_special:
            raise ValueError(
                f"max_length={max_length} is smaller than the {n_special} special tokens "
                f"this input needs; use max_length >= {n_special}"
            )
        return CallOptions(
            add_special_tokens=bool(add_special_tokens),
            padding=pad,
            truncation=trunc,
            max_length=max_length,
            stride=stride,
            pad_to_multiple_of=pad_to_multiple_of,
            padding_side=side,
            truncation_side=self._truncation_side,
            return_tensors=return_tensors,
            **flags,
        )

    def pad(
        self,
        encoded_inputs: Any,
        padding: bool | str = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | None = None,
        verbose: bool = True,
    ) -> BatchEncoding:
        """Pad already-encoded inputs (transformers' ``tokenizer.pad``, what its data collators call).

        ``input_ids`` are padded with the pad id, ``token_type_ids`` with 0, ``attention_mask`` with 0 (made
        when missing, unless ``return_attention_mask=False``), ``special_tokens_mask`` with 1; other keys
        (``labels``...) are left as they are. Nothing is truncated.

        Args:
            encoded_inputs: one encoding or a batch: a list of dicts/``BatchEncoding`` or a dict of lists (lists,
                arrays or tensors; tensors make their kind the default ``return_tensors``).
            padding: True/``"longest"`` (default: to the longest row), ``"max_length"`` (to ``max_length``,
                else ``model_max_length``) or False/``"do_not_pad"``.
            max_length: the length ``"max_length"`` pads to; None for ``model_max_length``.
            pad_to_multiple_of: round the padded length up to a multiple of this; None for no rounding.
            padding_side: ``"right"`` or ``"left"``; None for :attr:`padding_side`.
            return_attention_mask: make ``attention_mask`` when missing; None means yes.
            return_tensors: None (lists), ``"np"`` or ``"pt"``; None keeps the kind of tensors given.
            verbose: accepted for transformers' signature; nothing here warns.

        Returns:
            A :class:`~albert_tok.BatchEncoding` of the padded features.

        Raises:
            TypeError: a feature is not a list of int per example (or of such lists).
            ValueError: an option is not one of its accepted values, ``input_ids`` is missing, or the features
                do not have one entry per example.
        """
        side = self._padding_side if padding_side is None else resolve_side("padding_side", padding_side)
        return pad_features(
            encoded_inputs,
            pad_id=self.pad_token_id,
            padding=resolve_padding(padding),
            max_length=check_length("max_length", max_length),
            pad_to_multiple_of=check_length("pad_to_multiple_of", pad_to_multiple_of),
            model_max_length=self.model_max_length,
            left=side is Side.LEFT,
            return_attention_mask=return_attention_mask,
            return_tensors=return_tensors,
            input_name=self.model_input_names[0],
        )

    # -- special-token layout ----------------------------------------------------------------------
    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        """How many special tokens :meth:`build_inputs_with_special_tokens` adds.

        Args:
            pair: for a pair of sequences (``[CLS] A [SEP] B [SEP]``) rather than one (``[CLS] A [SEP]``).

        Returns:
            3 for a pair, 2 for one sequence.
        """
        return num_special_tokens(pair)

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """Add the special tokens around ids encoded without them.

        Args:
            token_ids_0: the first sequence's ids.
            token_ids_1: the second sequence's ids, or None for one sequence.

        Returns:
            ``[CLS] A [SEP]``, or ``[CLS] A [SEP] B [SEP]`` for a pair, as ids.
        """
        return build_inputs(
            list(token_ids_0), None if token_ids_1 is None else list(token_ids_1), self.cls_token_id, self.sep_token_id
        )

    def get_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None, already_has_special_tokens: bool = False
    ) -> list[int]:
        """Which positions hold special tokens.

        Args:
            token_ids_0: the first sequence's ids (with ``already_has_special_tokens``, the whole sequence).
            token_ids_1: the second sequence's ids, or None.
            already_has_special_tokens: the ids already hold their special tokens: each id is looked up;
                otherwise the mask of what :meth:`build_inputs_with_special_tokens` would make is returned.

        Returns:
            1 for a special token, 0 for any other, one entry per position.

        Raises:
            ValueError: ``token_ids_1`` is given with ``already_has_special_tokens=True``.
        """
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError(
                    "token_ids_1 must be None when already_has_special_tokens=True "
                    "(pass the full sequence as token_ids_0)"
                )
            special = self._special_ids
            return [1 if i in special else 0 for i in as_id_list(token_ids_0)]
        return special_tokens_mask(len(token_ids_0), None if token_ids_1 is None else len(token_ids_1))

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """The ``token_type_ids`` of :meth:`build_inputs_with_special_tokens`'s output.

        Args:
            token_ids_0: the first sequence's ids, without special tokens.
            token_ids_1: the second sequence's ids, or None.

        Returns:
            0 for ``[CLS] A [SEP]``, then 1 for ``B [SEP]``, one entry per position.
        """
        return token_type_ids(len(token_ids_0), None if token_ids_1 is None else len(token_ids_1))

    # -- saving ------------------------------------------------------------------------------------
    def save_vocabulary(
        self, save_directory: str | os.PathLike[str], filename_prefix: str | None = None
    ) -> tuple[str, ...]:
        """Write the vocabulary files (``spiece.model`` and/or ``tokenizer.json``) into an existing directory.

        Files appear complete or not at all.

        Args:
            save_directory: the directory; it must exist.
            filename_prefix: a prefix for the file names (``{prefix}-spiece.model``), or None for none.

        Returns:
            The paths written.

        Raises:
            NotADirectoryError: ``save_directory`` is not an existing directory.
        """
        directory = os.fspath(save_directory)
        if not os.path.isdir(directory):
            raise NotADirectoryError(f"save_vocabulary needs an existing directory, got {directory!r}")
        return tuple(files.write_atomically(directory, self._model_file_contents(), filename_prefix))

    def save_pretrained(self, save_directory: str | os.PathLike[str]) -> tuple[str, ...]:
        """Write a Hugging Face-format tokenizer directory that ``from_pretrained`` (ours or transformers') loads.

        It holds ``spiece.model`` (when this tokenizer has it), ``tokenizer.json``, ``tokenizer_config.json``,
        ``special_tokens_map.json``, and ``added_tokens.json`` when tokens were added after the vocabulary; files
        appear complete or not at all, and an ``added_tokens.json`` left by an earlier save is removed when there
        are none now.

        Args:
            save_directory: the directory; it is created when missing.

        Returns:
            The paths written.
        """
        contents = self._model_file_contents()
        contents.update(
            files.config_files(
                files.SavedOptions(
                    preprocessing=self.preprocessing,
                    special_tokens=self.special_tokens,
                    model_max_length=self.model_max_length,
                    added_tokens=self.added_tokens_decoder,
                    additional_special_tokens=tuple(self._additional_special),
                    vocab_size=self.vocab_size,
                    padding_side=self.padding_side,
                    truncation_side=self.truncation_side,
                    clean_up_tokenization_spaces=self.clean_up_tokenization_spaces,
                )
            )
        )
        stale = tuple(name for name in files.STALE_WITHOUT_ADDED_TOKENS if name not in contents)
        return tuple(files.write_atomically(os.fspath(save_directory), contents, None, create=True, remove=stale))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, added_tokens={len(self) - self.vocab_size}, "
            f"do_lower_case={self.do_lower_case}, remove_space={self.remove_space}, "
            f"keep_accents={self.keep_accents}, model_max_length={self.model_max_length}, "
            f"padding_side={self.padding_side!r}, truncation_side={self.truncation_side!r})"
        )

    @property
    def do_lower_case(self) -> bool:
        """Whether text is lower-cased before SentencePiece (:class:`~albert_tok.Preprocessing`)."""
        return self.preprocessing.do_lower_case

    @property
    def remove_space(self) -> bool:
        """Whether leading, trailing and repeated spaces are removed (:class:`~albert_tok.Preprocessing`)."""
        return self.preprocessing.remove_space

    @property
    def keep_accents(self) -> bool:
        """Whether accents are kept rather than stripped (:class:`~albert_tok.Preprocessing`)."""
        return self.preprocessing.keep_accents


_LOADING_KEYWORDS = ("revision", "cache_dir", "token", "local_files_only", "subfolder", "force_download")


def _constructor_keywords(cls: type) -> set[str]:
    """The keyword arguments the constructors of ``cls`` and its bases name (not ``**options``, nor the base's
    ``load``, which the subclasses pass)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        for name, param in inspect.signature(init).parameters.items():
            if name not in ("self", "load") and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
                names.add(name)
    return names
