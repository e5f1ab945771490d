"""The vocabulary half of the tokenizer API: ids and tokens, special tokens, added tokens.

:class:`TokenizerVocabulary` is the base of :class:`albert_tok.api._base.AlbertTokenizerBase`. A subclass sets
``_pieces`` (the SentencePiece vocabulary in id order) and calls :meth:`TokenizerVocabulary._init_vocabulary`;
everything else follows transformers 4.57's SentencePiece ``AlbertTokenizer``: ``vocab_size`` is the base
vocabulary, ``len(tok)`` counts added tokens too, added tokens take the ids after the vocabulary in the order
they were added, a token already in the vocabulary keeps its id (and still splits the text), and
``add_tokens`` lower-cases a ``normalized`` non-special token when the tokenizer lower-cases.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from albert_tok.api._added_tokens import AddedVocabulary
from albert_tok.rules import AddedToken, SpecialTokens

__all__ = ["SPECIAL_TOKEN_KEYS", "TokenizerVocabulary", "as_id_list"]

# The keys add_special_tokens accepts (transformers' SPECIAL_TOKENS_ATTRIBUTES).
SPECIAL_TOKEN_KEYS = (*SpecialTokens.__dataclass_fields__, "additional_special_tokens")


def as_id_list(ids: Any) -> list[int]:
    """Token ids as a list of int from an int, a list or tuple of ints (numpy integer scalars such as
    ``np.int64`` included, as transformers takes them), a numpy array or a 1-D tensor.

    Args:
        ids: The ids, in one of the forms above.

    Returns:
        A list of Python ints (one item for a single int); the values are not checked against a vocabulary.

    Raises:
        TypeError: anything else (a float, a string, a nested list), naming what was given.
    """
    if hasattr(ids, "tolist"):  # a numpy array or scalar, a tensor
        ids = ids.tolist()
    if isinstance(ids, int):
        return [ids]
    if isinstance(ids, (list, tuple)):
        ids = [int(i) if isinstance(i, np.integer) else i for i in ids]
        if all(isinstance(i, int) for i in ids):
            return ids
    raise TypeError(f"token ids must be an int or a flat list of int, got {ids!r:.80}")


class TokenizerVocabulary:
    """Ids, tokens and special/added tokens of a tokenizer (see the module docstring)."""

    _pieces: list[str]
    _piece_to_id: dict[str, int]
    special_tokens: SpecialTokens
    preprocessing: Any
    _additional_special: tuple[str, ...]
    _added: AddedVocabulary
    _added_tokens: dict[int, AddedToken]  # what _added is built from; edited by _register
    _surface_ids: dict[str, int]  # added tokens an unknown piece's surface can spell (see _rebuild)

    def _init_vocabulary(
        self,
        added_tokens: Mapping[int, Any] | None,
        additional_special_tokens: Sequence[Any] | None,
        source: str = "added tokens",
        user_defined: frozenset[int] | None = None,
    ) -> None:
        """Set up special and added tokens once ``_pieces`` is known.

        ``added_tokens`` (id -> token, as in ``added_tokens_decoder``) must agree with the vocabulary: an id
        inside it holds the same piece, ids after it follow it without a gap; ``source`` names where they
        came from in errors. Special tokens missing from both are added after the vocabulary, as
        transformers does.

        transformers' fast converter lists SentencePiece's user-defined pieces (``( ) " - .`` in ALBERT) as
        non-special, non-normalized added tokens; matched in text they would split it where SentencePiece
        does not (``a(b`` -> ``▁a ( ▁b`` instead of ``▁a ( b``). Those entries are recognised (that piece, at
        its id, one of ``user_defined`` when the model is known) and left out: the canonical ids stay.
        """
        self._piece_to_id = {p: i for i, p in enumerate(self._pieces)}
        self._single_char_pieces = frozenset(p for p in self._pieces if len(p) == 1)
        base = len(self._pieces)
        tokens: dict[int, AddedToken] = {}
        origin: dict[int, str] = getattr(added_tokens, "origin", {})  # files they were read from
        for key, value in (added_tokens or {}).items():
            where = origin.get(key, source)
            if isinstance(key, bool) or not isinstance(key, int) or key < 0:
                raise ValueError(f"{where}: token id {key!r} is not a non-negative int")
            token = AddedToken.coerce(value, source=f"{where}: id {key}")
            if key < base and self._pieces[key] != token.content:
                raise ValueError(
                    f"{where}: added token {token.content!r} has id {key}, which is the vocabulary "
                    f"piece {self._pieces[key]!r}; an added token inside the vocabulary must be "
                    f"that piece"
                )
            if (
                key < base
                and not token.special
                and not token.normalized
                and (user_defined is None or key in user_defined)
            ):
                continue  # a user-defined piece listed by transformers' converter (see above)
            tokens[key] = token
        beyond = sorted(i for i in tokens if i >= base)
        if beyond != list(range(base, base + len(beyond))):
            files = sorted({origin.get(i, source) for i in beyond})
            raise ValueError(
                f"{', '.join(files)}: added token ids {beyond[:8]}... do not follow the vocabulary of {base} "
                f"pieces without a gap (expected {base}, {base + 1}, ...)"
            )
        seen: dict[str, int] = {}
        for i, token in tokens.items():
            if token.content in seen and seen[token.content] != i:
                raise ValueError(
                    f"{origin.get(i, source)}: {token.content!r} is added twice, as ids {seen[token.content]} and {i}"
                )
            seen[token.content] = i
        self._added_tokens = tokens
        self._additional_special = ()
        # transformers registers the special tokens it does not know yet, with their default options.
        self._register(
            [
                AddedToken(t, lstrip=self.special_tokens.lstrip(t), normalized=False, special=True)
                for t in self.special_tokens.all_tokens
                if t not in seen
            ]
        )
        additional = [
            AddedToken.coerce(t, special=True, source="additional_special_tokens").as_special()
            for t in additional_special_tokens or ()
        ]
        self._register([t for t in additional if t.content not in seen])
        self._additional_special = tuple(dict.fromkeys(t.content for t in additional))
        self._rebuild()

    def _rebuild(self) -> None:
        """Rebuild what is derived from the added tokens and the special tokens."""
        self._added = AddedVocabulary(self._added_tokens, self.all_special_tokens, self.preprocessing.do_lower_case)
        self._special_ids = frozenset(self.all_special_ids)
        # transformers' slow tokenizer looks up the *strings* SentencePiece returns, so an unknown piece whose
        # surface is an added token's content gets that token's id ("WORLD" -> the added "WORLD" when it is
        # not lower-cased). A surface is made of characters that are not pieces on their own.
        single = self._single_char_pieces
        self._surface_ids = {c: i for c, i in self._added.encoder.items() if not any(ch in single for ch in c)}

    def _register(self, tokens: Iterable[AddedToken]) -> int:
        """transformers' ``_add_tokens``: register each token under the id of what it already is (an added
        token or a vocabulary piece; its options are replaced) or a new id after the vocabulary; return how
        many new ids were made. Call :meth:`_rebuild` afterwards."""
        encoder = {t.content: i for i, t in self._added_tokens.items()}
        size = len(self)
        added = 0
        for token in tokens:
            if not token.special and token.normalized and self.preprocessing.do_lower_case:
                token = dataclasses.replace(token, content=token.content.lower())
            index = encoder.get(token.content, self._piece_to_id.get(token.content))
            if index is None:
                index = size + added
                added += 1
            self._added_tokens[index] = token
            encoder[token.content] = index
        return added

    # -- adding tokens -----------------------------------------------------------------------------
    def add_tokens(
        self, new_tokens: str | AddedToken | Sequence[str | AddedToken], special_tokens: bool = False
    ) -> int:
        """Add tokens matched in text before tokenization; return how many new ids were made.

        A str becomes ``AddedToken(token, normalized=not special)``; ``AddedToken``/``tokenizers.AddedToken``
        objects keep their options. A token already in the vocabulary keeps its id (still matched in text).
        Adding a token that is already an added token replaces its options and keeps its id. With a
        lower-casing tokenizer, a non-special ``normalized`` token is stored lower-cased.

        Args:
            new_tokens: One token or a list or tuple of them; each a str, an :class:`~albert_tok.AddedToken`
                or a ``tokenizers.AddedToken``. Empty strings and strings that are already added tokens are
                skipped, as transformers does.
            special_tokens: If True, every token is made special (not lower-cased, skipped by
                ``decode(..., skip_special_tokens=True)``). False (the default) keeps each token's own kind.
                Either way, each special token that is not yet one of the tokenizer's special tokens is
                appended to ``additional_special_tokens``.

        Returns:
            How many new ids were made after the vocabulary (tokens that already had an id do not count).

        Raises:
            TypeError: an item (or ``new_tokens`` itself, when it is not a list or tuple) is neither a str nor
                an added token, or a ``tokenizers.AddedToken``-like object has an option that is not a bool.
            ValueError: an object or ``{"content": ...}`` entry has an empty content, or an entry lacks
                ``"content"`` or has another key.
        """
        if isinstance(new_tokens, (str, AddedToken)) or not isinstance(new_tokens, (list, tuple)):
            new_tokens = [new_tokens]  # type: ignore[list-item]
        tokens: list[AddedToken] = []
        for i, value in enumerate(new_tokens):
            if isinstance(value, str) and not value:
                continue  # transformers skips empty strings
            if isinstance(value, str) and value in self._added.encoder:
                continue  # transformers skips a str that is already an added token
            special = special_tokens or (isinstance(value, str) and value in self.all_special_tokens)
            token = AddedToken.coerce(value, special=special, source=f"new_tokens[{i}]")
            tokens.append(token.as_special() if special_tokens else token)
        if not tokens:
            return 0
        added = self._register(tokens)
        new_special = [t.content for t in tokens if t.special and t.content not in self.all_special_tokens]
        self._additional_special += tuple(dict.fromkeys(new_special))
        self._rebuild()
        return added

    def add_special_tokens(
        self, special_tokens_dict: Mapping[str, Any], replace_additional_special_tokens: bool = True
    ) -> int:
        """Set named special tokens (``{"pad_token": "[PAD]"}``) and ``additional_special_tokens``, adding
        those not yet known; return how many new ids were made (transformers' semantics).

        Args:
            special_tokens_dict: Keys from :data:`SPECIAL_TOKEN_KEYS` (``unk_token``, ``sep_token``,
                ``pad_token``, ``cls_token``, ``mask_token``, ``bos_token``, ``eos_token``,
                ``additional_special_tokens``). A named key takes a str or an added token and replaces that
                special token; ``additional_special_tokens`` takes a list or tuple of them.
            replace_additional_special_tokens: If True (the default), a non-empty
                ``additional_special_tokens`` list replaces the current one (the tokens it drops keep their
                ids and stay matched in text, as in transformers); False appends the new ones.

        Returns:
            How many new ids were made after the vocabulary.

        Raises:
            TypeError: ``special_tokens_dict`` is not a mapping, ``additional_special_tokens`` is not a list
                or tuple, or a value is neither a str nor an added token.
            ValueError: a key is not one of the accepted keys, a token is empty, or a ``{"content": ...}``
                entry lacks ``"content"`` or has another key.
        """
        if not isinstance(special_tokens_dict, Mapping):
            raise TypeError(f"special_tokens_dict must be a dict, got {type(special_tokens_dict).__name__}")
        unknown = sorted(set(special_tokens_dict) - set(SPECIAL_TOKEN_KEYS))
        if unknown:
            raise ValueError(f"unknown special token key(s) {unknown}; accepted: {list(SPECIAL_TOKEN_KEYS)}")
        to_add: list[AddedToken] = []
        named: dict[str, str] = {}
        additional = list(self._additional_special)
        for key, value in special_tokens_dict.items():
            if key == "additional_special_tokens":
                if not isinstance(value, (list, tuple)):
                    raise TypeError(f"additional_special_tokens must be a list, got {type(value).__name__}")
                tokens = [
                    AddedToken.coerce(v, special=True, source=f"additional_special_tokens[{i}]").as_special()
                    for i, v in enumerate(value)
                ]
                if replace_additional_special_tokens and tokens:
                    additional = [t.content for t in tokens]
                else:
                    additional += [t.content for t in tokens if t.content not in additional]
                to_add += tokens
            else:
                token = AddedToken.coerce(value, special=True, source=key).as_special()
                named[key] = token.content
                to_add.append(token)
        self.special_tokens = dataclasses.replace(self.special_tokens, **named)
        self._additional_special = tuple(
            dict.fromkeys(a for a in additional if a not in self.special_tokens.all_tokens)
        )
        added = self._register(to_add)
        self._rebuild()
        return added

    # -- vocabulary --------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """The size of the base (SentencePiece) vocabulary, without added tokens (transformers' semantics)."""
        return len(self._pieces)

    def __len__(self) -> int:
        """The base vocabulary plus the added tokens that have ids of their own."""
        return len(self._pieces) + sum(1 for i in self._added_tokens if i >= len(self._pieces))

    def get_vocab(self) -> dict[str, int]:
        """Every token and its id: the SentencePiece pieces, then the added tokens.

        Returns:
            A new dict from token string to id, pieces and added tokens alike.
        """
        return {**self._piece_to_id, **self._added.encoder}

    def get_added_vocab(self) -> dict[str, int]:
        """Added tokens (special tokens of the vocabulary included) -> id, as transformers' slow tokenizer.

        Returns:
            A new dict from each added token's content to its id, in id order.
        """
        return dict(self._added.encoder)

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        """Id -> :class:`~albert_tok.AddedToken` of every added token (special tokens included), in id order;
        a new dict."""
        return dict(self._added.decoder)

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        """Content -> id of every added token (special tokens included), in id order; a new dict."""
        return dict(self._added.encoder)

    def _token_to_id(self, token: str) -> int:
        found = self._added.encoder.get(token)
        if found is not None:
            return found
        return self._piece_to_id.get(token, self._piece_to_id[self.special_tokens.unk_token])

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int]:
        """The id of each token: an added token's id, else the piece's; an unknown token gets ``unk_token_id``.

        Args:
            tokens: One token string, or an iterable of them.

        Returns:
            An int for a str, else a list of ints in the same order.
        """
        if isinstance(tokens, str):
            return self._token_to_id(tokens)
        return [self._token_to_id(t) for t in tokens]

    def _id_to_token(self, index: int) -> str:
        token = self._added.decoder.get(index)
        return token.content if token is not None else self._pieces[index]

    def convert_ids_to_tokens(self, ids: int | Iterable[int], skip_special_tokens: bool = False) -> str | list[str]:
        """The token string of each id: an added token's content, else the SentencePiece piece.

        Args:
            ids: An int, a flat list or tuple of ints (numpy integers included), a numpy array or a 1-D
                tensor.
            skip_special_tokens: If True, the ids of special tokens are left out; False (the default) keeps
                them.

        Returns:
            A str for an int (an empty list when that one id is skipped), else a list of str.

        Raises:
            TypeError: ``ids`` is not one of the accepted kinds.
            ValueError: an id is negative or not below ``len(tokenizer)``.
        """
        single = isinstance(ids, int)
        id_list = as_id_list(ids)
        size = len(self)
        for i in id_list:
            if not 0 <= i < size:
                raise ValueError(f"token id {i} is outside the vocabulary (0..{size - 1})")
        special = self._special_ids if skip_special_tokens else frozenset()
        tokens = [self._id_to_token(i) for i in id_list if i not in special]
        return tokens[0] if single and tokens else tokens

    # -- special tokens ----------------------------------------------------------------------------
    @property
    def unk_token(self) -> str:
        """The unknown token (``<unk>`` by default), given to text the vocabulary cannot spell."""
        return self.special_tokens.unk_token

    @property
    def sep_token(self) -> str:
        """The separator token (``[SEP]`` by default), after each sequence."""
        return self.special_tokens.sep_token

    @property
    def pad_token(self) -> str:
        """The padding token (``<pad>`` by default)."""
        return self.special_tokens.pad_token

    @property
    def cls_token(self) -> str:
        """The classification token (``[CLS]`` by default), at the start of every input."""
        return self.special_tokens.cls_token

    @property
    def mask_token(self) -> str:
        """The mask token (``[MASK]`` by default), predicted by masked language modelling."""
        return self.special_tokens.mask_token

    @property
    def bos_token(self) -> str:
        """The beginning-of-sequence token (``[CLS]`` by default, as in the original release)."""
        return self.special_tokens.bos_token

    @property
    def eos_token(self) -> str:
        """The end-of-sequence token (``[SEP]`` by default, as in the original release)."""
        return self.special_tokens.eos_token

    @property
    def unk_token_id(self) -> int:
        """The id of :attr:`unk_token`."""
        return self._token_to_id(self.special_tokens.unk_token)

    @property
    def sep_token_id(self) -> int:
        """The id of :attr:`sep_token`."""
        return self._token_to_id(self.special_tokens.sep_token)

    @property
    def pad_token_id(self) -> int:
        """The id of :attr:`pad_token`."""
        return self._token_to_id(self.special_tokens.pad_token)

    @property
    def cls_token_id(self) -> int:
        """The id of :attr:`cls_token`."""
        return self._token_to_id(self.special_tokens.cls_token)

    @property
    def mask_token_id(self) -> int:
        """The id of :attr:`mask_token`."""
        return self._token_to_id(self.special_tokens.mask_token)

    @property
    def bos_token_id(self) -> int:
        """The id of :attr:`bos_token`."""
        return self._token_to_id(self.special_tokens.bos_token)

    @property
    def eos_token_id(self) -> int:
        """The id of :attr:`eos_token`."""
        return self._token_to_id(self.special_tokens.eos_token)

    @property
    def pad_token_type_id(self) -> int:
        """The token type id padding gets: always 0."""
        return 0

    @property
    def additional_special_tokens(self) -> list[str]:
        """The special tokens beyond the named ones, in the order they were added; a new list."""
        return list(self._additional_special)

    @property
    def additional_special_tokens_ids(self) -> list[int]:
        """The ids of :attr:`additional_special_tokens`, in the same order."""
        return [self._token_to_id(t) for t in self._additional_special]

    @property
    def special_tokens_map(self) -> dict[str, Any]:
        """Named special tokens (and ``additional_special_tokens`` when there are any), as transformers."""
        out: dict[str, Any] = dataclasses.asdict(self.special_tokens)
        if self._additional_special:
            out["additional_special_tokens"] = list(self._additional_special)
        return out

    @property
    def all_special_tokens(self) -> list[str]:
        """Distinct special tokens: the named ones in transformers' order, then the additional ones."""
        return list(dict.fromkeys([*self.special_tokens.all_tokens, *self._additional_special]))

    @property
    def all_special_ids(self) -> list[int]:
        """The ids of :attr:`all_special_tokens`, in the same order."""
        return [self._token_to_id(t) for t in self.all_special_tokens]
