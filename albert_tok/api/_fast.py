"""The fast ALBERT tokenizer: a thin class around a Rust ``tokenizers.Tokenizer``, and SentencePiece.

The Rust tokenizer is built by :mod:`albert_tok.engines._convert` from ``spiece.model`` (or read from a
``tokenizer.json``) and gives the character offsets (``return_offsets_mapping=True``), on whole batches. Calls
without offsets give the same ids as the slow tokenizer, so where the ``spiece.model`` is at hand they are
encoded by the slow tokenizer's :class:`~albert_tok.engines.SentencePieceEngine`, which is the faster of the two
libraries on them (a one-text call, a batch); a tokenizer loaded from a ``tokenizer.json`` alone encodes them in
Rust too. On the Rust path, rules that cannot live in a Unigram model
are applied afterwards, only to the rows that need them (found with set and numpy tests, not per-token
Python loops): the digit-comma rule (a per-piece table, :mod:`albert_tok.rules._digit_comma`), and SentencePiece's
float32 tie-breaking and character-by-character normalisation (:mod:`albert_tok.rules._unigram`,
:func:`albert_tok.rules._digit_comma.grapheme_risk_pattern`: such rows are re-encoded by SentencePiece itself,
through the :class:`~albert_tok.engines.SentencePieceEngine` the slow tokenizer encodes with).
Offsets keep the contract of :mod:`albert_tok.rules._offsets` on every row.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from tokenizers import Tokenizer

from albert_tok.api import _files as files
from albert_tok.api._base import AlbertTokenizerBase, LoadedVocabulary
from albert_tok.engines import (
    SentencePieceEngine,
    hidden_piece,
    load_spiece_bytes,
    register_added_tokens,
    sentencepiece_rows_pattern,
    tokenizer_from_spiece,
    tokenizer_json_bytes,
)
from albert_tok.io import load_json, read_json
from albert_tok.rules import (
    AddedToken,
    Offsets,
    Preprocessing,
    SpecialTokens,
    TieDetector,
    deleted_controls_pattern,
    digit_comma_table,
    remap_offsets,
)

if TYPE_CHECKING:
    from albert_tok.api._slow import AlbertTokenizer

__all__ = ["AlbertTokenizerFast"]


class AlbertTokenizerFast(AlbertTokenizerBase):
    """ALBERT tokenizer with the same ids as :class:`AlbertTokenizer`, and offsets from the Rust ``tokenizers``.

    Text is split around added and special tokens in Python (the same code as the slow tokenizer's,
    :mod:`albert_tok.api._added_tokens`); the Rust tokenizer encodes the text between them, a whole batch at
    once, for calls with offsets. When the ``spiece.model`` is at hand, the rows Rust cannot encode canonically
    (float32 ties, grapheme clusters, deleted controls, unknown pieces that spell an added token) are re-encoded
    by the :class:`~albert_tok.engines.SentencePieceEngine` the slow tokenizer encodes with, and calls without
    offsets are encoded by that engine alone (the same ids, in less time); a tokenizer loaded from a
    ``tokenizer.json`` alone has no such engine and encodes everything in Rust. Offsets
    (``return_offsets_mapping=True``) index the original text and keep the contract of
    :mod:`albert_tok.rules._offsets`. A tokenizer pickles as its model bytes (or its ``tokenizer.json``) and
    options, and is rebuilt from them.

    Args:
        vocab_file: path of the ``spiece.model`` to convert (preferred: the conversion is this package's own).
        tokenizer_file: path of a ``tokenizer.json`` to load when no ``spiece.model`` is given (its added tokens
            are read from it).
        do_lower_case, remove_space, keep_accents: ALBERT's preprocessing switches, as
            :class:`AlbertTokenizer`'s; used when converting a ``spiece.model`` (a ``tokenizer.json`` already
            carries them in its normaliser).
        model_bytes: the serialized SentencePiece model, instead of ``vocab_file``.
        tokenizer_json: the text of a ``tokenizer.json``, instead of ``tokenizer_file``.
        preprocessing: a :class:`~albert_tok.Preprocessing` holding the three switches; None for ALBERT's
            defaults.
        special_tokens: a :class:`~albert_tok.SpecialTokens`, or the ``*_token`` keyword arguments (not both).
        model_max_length: the longest sequence the model takes (512), as :class:`AlbertTokenizer`'s.
        **options: :class:`AlbertTokenizer`'s other keyword arguments (``padding_side``, ``truncation_side``,
            ``added_tokens_decoder``, ``additional_special_tokens``, ``clean_up_tokenization_spaces``, the
            ``*_token`` arguments); added tokens given here are laid over a ``tokenizer.json``'s.

    Raises:
        TypeError: none of ``vocab_file``, ``tokenizer_file``, ``model_bytes`` or ``tokenizer_json`` is given, or
            an argument :class:`AlbertTokenizer` refuses.
        FileNotFoundError: ``vocab_file`` or ``tokenizer_file`` does not exist.
        albert_tok.io.NotARegularFileError: the file named is a directory, a device, a FIFO or a socket.
        ValueError: the model is not a valid SentencePiece model, the ``tokenizer.json`` is not valid JSON or not
            an ALBERT (Unigram) tokenizer, an option is out of range, or the added tokens disagree with the
            vocabulary.

    Example:
        >>> from albert_tok import AlbertTokenizerFast
        >>> tok = AlbertTokenizerFast("fixtures/spiece.model")
        >>> tok("Hello world!", return_offsets_mapping=True)["offset_mapping"]
        [(0, 0), (0, 5), (5, 11), (11, 12), (0, 0)]
    """

    is_fast = True
    _tok: Tokenizer  # encodes the text between added tokens (backend_tokenizer)

    def __init__(
        self,
        vocab_file: str | os.PathLike[str] | None = None,
        tokenizer_file: str | os.PathLike[str] | None = None,
        do_lower_case: bool | None = None,
        remove_space: bool | None = None,
        keep_accents: bool | None = None,
        *,
        model_bytes: bytes | None = None,
        tokenizer_json: str | None = None,
        preprocessing: Preprocessing | None = None,
        special_tokens: SpecialTokens | None = None,
        model_max_length: int = 512,
        **options: Any,
    ) -> None:
        self._json_source: str | None = None  # the tokenizer.json this was loaded from, without added tokens

        def load() -> LoadedVocabulary:
            spiece = model_bytes
            if spiece is None and vocab_file is not None:
                spiece = load_spiece_bytes(vocab_file)
            added: dict[int, AddedToken] | None = None
            engine: SentencePieceEngine | None = None
            if spiece is not None:
                source = repr(os.fspath(vocab_file)) if vocab_file is not None else "model_bytes"
                self._tok = tokenizer_from_spiece(spiece, self.special_tokens, self.preprocessing, source)
                # SentencePiece itself settles float32 ties and the other rows Rust cannot do (_rows_to_fix)
                engine = SentencePieceEngine(spiece, self.preprocessing, source)
                pieces = engine.pieces  # the Rust model names control pieces otherwise
            else:
                loaded = _load_tokenizer_json(tokenizer_file, tokenizer_json)
                self._tok, self._json_source, pieces, added = loaded
            self._tok.no_padding()
            self._tok.no_truncation()
            normalizer = self._tok.normalizer
            return LoadedVocabulary(pieces, normalizer.normalize_str if normalizer is not None else str, engine, added)

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
        unk = self._unk_id = self._piece_to_id.get(self.special_tokens.unk_token, 0)

        def encode_raw(s: str) -> list[int]:
            return list(self._tok.encode(s, add_special_tokens=False).ids)

        self._digit_comma = digit_comma_table(self._pieces, encode_raw, self._piece_to_id.__getitem__)
        self._digit_comma_ids = frozenset(self._digit_comma)
        base_specials = frozenset(i for i in self.all_special_ids if i < len(self._pieces))
        self._ties = TieDetector(self._pieces, base_specials | {unk})

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
    ) -> AlbertTokenizerFast:
        """Load from a Hugging Face-format directory.

        Its ``spiece.model`` is converted when present; otherwise the SentencePiece model is rebuilt from its
        ``tokenizer.json`` and converted likewise where that file was converted from one (a Unigram model with a
        precompiled character map: :func:`albert_tok.engines.model_from_tokenizer_json`), so the ids are
        SentencePiece's, and any other ``tokenizer.json`` is loaded as it is. The
        directory's ``tokenizer_config.json``, ``special_tokens_map.json``, ``added_tokens.json`` and the added
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
            FileNotFoundError: the directory does not exist (and the name is no repo id either), or holds
                neither ``spiece.model`` nor ``tokenizer.json``.
            ValueError: a file holds what cannot be honoured (unknown or malformed keys, another tokenizer
                class, another tokenizer's files, added tokens that disagree); and what the constructor raises.
            OSError: a repo id that is not in the cache while downloads are off (``HF_HUB_OFFLINE=1``,
                ``local_files_only=True``; the message names the cache searched and the ways out), or that the hub
                does not have (repository, revision or file), or whose download failed.
            ImportError: a repo id without huggingface_hub installed (``pip install "albert[hub]"``).
            TypeError: an override that is no constructor argument.

        Example:
            >>> from albert_tok import DEFAULT_TOKENIZER, AlbertTokenizerFast
            >>> tok = AlbertTokenizerFast.from_pretrained(DEFAULT_TOKENIZER)
            >>> tok(["Hello world!", "A pair?"], padding=True)["attention_mask"]
            [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]]
        """
        _, found = cls._read_pretrained(
            directory,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            local_files_only=local_files_only,
            subfolder=subfolder,
            force_download=force_download,
        )
        options = cls._pretrained_options(found, overrides)
        if found.spiece is not None:
            return cls(vocab_file=found.spiece, **options)
        if found.spiece_bytes is not None:
            return cls(model_bytes=found.spiece_bytes, **options)
        return cls(tokenizer_file=found.tokenizer_json, **options)

    @classmethod
    def from_slow(cls, slow: AlbertTokenizer) -> AlbertTokenizerFast:
        """The fast tokenizer of a slow one: its model, preprocessing, special and added tokens, and options.

        Args:
            slow: the :class:`AlbertTokenizer` to convert; it is left as it is.

        Returns:
            A new fast tokenizer giving the same ids.
        """
        return cls(model_bytes=slow.model_bytes, **slow._options())

    @property
    def _model_bytes(self) -> bytes | None:
        """The ``spiece.model`` this was converted from, or None when it was loaded from a ``tokenizer.json``."""
        return None if self._engine is None else self._engine.model_bytes

    @property
    def backend_tokenizer(self) -> Tokenizer:
        """The Rust tokenizer that encodes the text between added tokens.

        It has no added tokens itself, and no padding or truncation configured. It is this tokenizer's own
        object, not a copy, meant to be read. With the ``spiece.model`` only calls with offsets use it (the others
        go to SentencePiece, see the class), so a normaliser, pre-tokenizer or model set on it changes only
        those calls, and not their rows re-encoded by SentencePiece; loaded from a ``tokenizer.json`` alone, it
        encodes every call. ``save_pretrained`` and pickling keep no such change: they write the model and the
        options (docs/tokenizers.md).
        """
        return self._tok

    def _source_options(self) -> dict[str, Any]:
        if self._model_bytes is not None:
            return {"model_bytes": self._model_bytes}
        return {"tokenizer_json": self._json_source}

    def _encode_chunks(self, chunks: list[str], with_offsets: bool) -> tuple[list[list[int]], list[Offsets] | None]:
        """Ids (and raw offsets) of texts holding no added token. Without offsets, the SentencePiece engine
        encodes them when there is one; else (a ``tokenizer.json``-only load, or tests that set the private
        switch ``_plain_ids_by_engine`` to False to hold the Rust route to the slow tokenizer's ids on a
        ``spiece.model``) the Rust tokenizer does, with the rows of :meth:`_rows_to_fix` fixed afterwards."""
        if not with_offsets:
            if self._engine is not None and self._plain_ids_by_engine:
                return self._engine.encode(chunks), None
            ids = [e.ids for e in self._tok.encode_batch_fast(chunks, add_special_tokens=False)]
            for i, needs_sentencepiece in self._rows_to_fix(chunks, ids):
                if needs_sentencepiece and self._engine is not None:
                    ids[i] = self._engine.encode([chunks[i]])[0]
                else:
                    ids[i] = self._split_digit_commas(ids[i])
            return ids, None
        encodings = self._tok.encode_batch(chunks, add_special_tokens=False)
        ids = [e.ids for e in encodings]
        raw: list[Offsets] = [e.offsets for e in encodings]
        fix = dict(self._rows_to_fix(chunks, ids))
        controls = deleted_controls_pattern(whitespace_too=not self.preprocessing.remove_space)
        fix.update({i: True for i, t in enumerate(chunks) if controls.search(t)})
        for i, needs_sentencepiece in sorted(fix.items()):
            if needs_sentencepiece and self._engine is not None:
                ids[i], raw[i] = self._engine.encode_with_spans(chunks[i])
            else:
                new = self._split_digit_commas(ids[i])
                raw[i] = remap_offsets([self._pieces[k] for k in ids[i]], raw[i], [self._pieces[k] for k in new])
                ids[i] = new
        return ids, raw

    def _encode_chunks_flat(self, chunks: list[str], lowered: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Ids without offsets: SentencePiece's batch call through the engine when this tokenizer has the
        ``spiece.model`` (the slow tokenizer's hot path: the same ids, and the faster library on them, see
        bench/tokenizer_speed.py), else the Rust encoder (:meth:`_encode_chunks`)."""
        if self._engine is not None and self._plain_ids_by_engine:
            return self._engine.encode_flat(chunks, lowered)
        return super()._encode_chunks_flat(chunks, lowered)

    def _split_digit_commas(self, ids: list[int]) -> list[int]:
        return [q for pid in ids for q in self._digit_comma.get(pid, (pid,))]

    def _rows_to_fix(self, texts: list[str], ids: list[list[int]]) -> list[tuple[int, bool]]:
        """(row, needs SentencePiece) for rows holding a digit-comma piece, a pair of commuting pieces,
        a multi-character grapheme cluster, a character the Rust Unicode tables map differently, or an
        unknown piece whose surface may spell an added token."""
        rows = {i: False for i, r in enumerate(ids) if not self._digit_comma_ids.isdisjoint(r)}
        if self._engine is not None and self._surface_ids:  # an unknown surface may spell an added token
            rows.update({i: True for i, r in enumerate(ids) if self._unk_id in r})
        if self._engine is not None:
            risky = sentencepiece_rows_pattern()
            joined = "".join(texts)
            if not joined.isascii() or "\r" in joined:  # ASCII text has no extenders besides CR
                rows.update(
                    {i: True for i, t in enumerate(texts) if "\r" in t or (not t.isascii() and risky.search(t))}
                )
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
        if self._model_bytes is not None:
            data = tokenizer_json_bytes(
                self._model_bytes, self.special_tokens, self.preprocessing, self.added_tokens_decoder
            )
            return {files.TOKENIZER_JSON: data, files.SPIECE: self._model_bytes}
        assert self._json_source is not None  # set whenever there are no model bytes
        tok = Tokenizer.from_str(self._json_source)
        register_added_tokens(tok, self.special_tokens, self.added_tokens_decoder)
        return {files.TOKENIZER_JSON: tok.to_str(pretty=True).encode("utf-8")}


class _LoadedJson(NamedTuple):
    """A ``tokenizer.json`` read by :func:`_load_tokenizer_json`."""

    tokenizer: Tokenizer  # encodes the text between added tokens; control pieces hidden
    source: str  # the file without its added tokens, pieces named as they were (what a save writes back)
    pieces: list[str]  # the vocabulary in id order
    added: dict[int, AddedToken]  # its added tokens, id -> token


def _load_tokenizer_json(tokenizer_file: str | os.PathLike[str] | None, tokenizer_json: str | None) -> _LoadedJson:
    """The Rust tokenizer of a ``tokenizer.json`` without its added tokens (text is split around them in
    Python), and those tokens. The pieces of special tokens inside the vocabulary and the unknown piece are
    hidden from text (:func:`albert_tok.engines._convert.hidden_piece`), as SentencePiece never matches them."""
    where = "tokenizer_json"
    if tokenizer_json is None:
        if tokenizer_file is None:
            raise TypeError(
                "AlbertTokenizerFast needs vocab_file (spiece.model), tokenizer_file "
                "(tokenizer.json), model_bytes or tokenizer_json"
            )
        where = os.fspath(tokenizer_file)
    try:  # a directory, device or FIFO is refused, never read; nesting is bounded (no RecursionError)
        data = read_json(where, "tokenizer file") if tokenizer_json is None else load_json(tokenizer_json, where)
    except ValueError as exc:  # invalid JSON, not UTF-8, nested too deeply
        raise ValueError(f"not a valid tokenizer.json ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("added_tokens") or [], list):
        raise ValueError(f"not a valid tokenizer.json ({where} must hold an object whose added_tokens is a list)")
    model = data.get("model")
    if not isinstance(model, dict) or model.get("type") != "Unigram" or not isinstance(model.get("vocab"), list):
        kind = model.get("type") if isinstance(model, dict) else None
        raise ValueError(
            f"{where}: the model is {kind!r}, not a Unigram (SentencePiece) vocabulary; it is not an "
            f"ALBERT tokenizer.json"
        )
    added: dict[int, AddedToken] = {}
    for k, entry in enumerate(data.get("added_tokens") or []):
        if not isinstance(entry, dict) or isinstance(entry.get("id"), bool) or not isinstance(entry.get("id"), int):
            raise ValueError(f'{where}: added_tokens[{k}] has no integer "id" ({entry!r:.80})')
        added[entry["id"]] = AddedToken.coerce(
            {key: v for key, v in entry.items() if key != "id"}, source=f"{where}: added_tokens[{k}]"
        )
    data["added_tokens"] = []
    vocab = model["vocab"]
    try:
        pieces = [str(piece) for piece, _ in vocab]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: model.vocab must be a list of [piece, score] pairs ({exc})") from None
    source = json.dumps(data, ensure_ascii=False)
    unk = model.get("unk_id")
    hidden = {i for i, t in added.items() if t.special and i < len(pieces) and pieces[i] == t.content}
    hidden |= {unk} if isinstance(unk, int) and 0 <= unk < len(pieces) else set()
    model["vocab"] = [[hidden_piece(p), score] if i in hidden else [p, score] for i, (p, score) in enumerate(vocab)]
    try:
        tokenizer = Tokenizer.from_str(json.dumps(data))
    except Exception as exc:  # tokenizers raises a bare Exception on a malformed tokenizer
        raise ValueError(f"not a valid tokenizer.json ({exc})") from exc
    if tokenizer.get_vocab_size(with_added_tokens=False) != len(pieces):
        raise ValueError(f"{where}: model.vocab has repeated pieces; ids would not be contiguous")
    return _LoadedJson(tokenizer, source, pieces, added)
