"""The decoding half of the tokenizer API: ids back to text, as transformers' SentencePiece tokenizer does.

:class:`TokenizerDecoding` sits between :class:`~albert_tok.api._vocab.TokenizerVocabulary` and
:class:`~albert_tok.api._base.AlbertTokenizerBase`. Pieces are joined as SentencePiece joins them (``▁`` is a
space, the dummy prefix dropped), special tokens are written as they are, set off by a space, and added
tokens that are not special (and special ones after the vocabulary) are written as they are, joined to the
text around them by a space (``spaces_between_special_tokens``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from albert_tok.api._vocab import TokenizerVocabulary, as_id_list
from albert_tok.rules import SPIECE_UNDERLINE

__all__ = ["TokenizerDecoding", "clean_up_tokenization", "pieces_to_text"]


def pieces_to_text(pieces: Sequence[str]) -> str:
    """SentencePiece's decoding of ordinary pieces: ``▁`` becomes a space, and the leading ``▁`` of the
    text (the dummy prefix) is dropped, as long as nothing visible has been written yet."""
    out: list[str] = []
    at_start = True
    for piece in pieces:
        if at_start and piece.startswith(SPIECE_UNDERLINE):
            piece = piece[1:]
        surface = piece.replace(SPIECE_UNDERLINE, " ")
        if surface:
            at_start = False
        out.append(surface)
    return "".join(out)


def clean_up_tokenization(text: str) -> str:
    """transformers' ``clean_up_tokenization`` (spaces before punctuation and English contractions)."""
    for old, new in (
        (" .", "."),
        (" ?", "?"),
        (" !", "!"),
        (" ,", ","),
        (" ' ", "'"),
        (" n't", "n't"),
        (" 'm", "'m"),
        (" 's", "'s"),
        (" 've", "'ve"),
        (" 're", "'re"),
    ):
        text = text.replace(old, new)
    return text


class TokenizerDecoding(TokenizerVocabulary):
    """``decode``, ``batch_decode`` and ``convert_tokens_to_string`` (see the module docstring)."""

    clean_up_tokenization_spaces: bool

    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Join pieces into text; special tokens are written as they are, set off by a space.

        As transformers' slow tokenizer does it: each run of pieces between special tokens is decoded on its
        own (``▁`` is a space, the run's leading ``▁`` dropped), a space goes before each non-empty run that
        ends at a special token, and the special token follows its run directly: ``["▁hello", "[SEP]",
        "▁x"]`` gives ``"hello[SEP]x"``.

        Args:
            tokens: Token strings (vocabulary pieces, added or special tokens), as
                :meth:`convert_ids_to_tokens` gives them.

        Returns:
            The text, stripped of whitespace at both ends. Non-special added tokens are joined like pieces
            here; :meth:`decode` sets them apart.
        """
        special = set(self.all_special_tokens)
        out = ""
        current: list[str] = []
        prev_is_special = False
        for token in tokens:
            if token in special:
                if not prev_is_special:
                    out += " "
                out += pieces_to_text(current) + token
                prev_is_special = True
                current = []
            else:
                current.append(token)
                prev_is_special = False
        out += pieces_to_text(current)
        return out.strip()

    def decode(
        self,
        token_ids: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        spaces_between_special_tokens: bool = True,
    ) -> str:
        """Text of ``token_ids`` (an int, a list or tuple of ints or numpy integers, a numpy array or a 1-D
        tensor), as transformers' slow tokenizer decodes: added tokens that are not special (and special ones
        after the vocabulary) are written as they are, joined to the text around them by a space.

        Args:
            token_ids: The ids to decode: an int, a flat list or tuple of ints (numpy integers included), a
                numpy array or a 1-D tensor.
            skip_special_tokens: If True, special tokens (named and additional) are left out; False (the
                default) writes them.
            clean_up_tokenization_spaces: True removes the space before ``. ? ! ,`` and English
                contractions (transformers' ``clean_up_tokenization``); False keeps the text as decoded; None
                (the default) uses the tokenizer's ``clean_up_tokenization_spaces`` setting (False unless
                its ``tokenizer_config.json`` says otherwise).
            spaces_between_special_tokens: If True (the default), a verbatim added token is joined to the
                text around it by a space, as transformers' slow tokenizer does; False joins them with
                nothing.

        Returns:
            The decoded text.

        Raises:
            TypeError: ``token_ids`` is not one of the accepted kinds (a float, a string, a nested list).
            ValueError: an id is negative or not below ``len(tokenizer)``.
        """
        tokens = self.convert_ids_to_tokens(as_id_list(token_ids), skip_special_tokens=skip_special_tokens)
        special = set(self.all_special_tokens)
        base = self.vocab_size
        verbatim = {t for t in self._added.encoder if t not in special}
        verbatim |= {t for t in self._additional_special if self._token_to_id(t) >= base}
        parts: list[str] = []
        current: list[str] = []
        for token in tokens:
            if skip_special_tokens and token in special:
                continue
            if token in verbatim:
                if current:
                    text = self.convert_tokens_to_string(current)
                    if text:
                        parts.append(text)
                    current = []
                parts.append(token)
            else:
                current.append(token)
        if current:
            parts.append(self.convert_tokens_to_string(current))
        text = (" " if spaces_between_special_tokens else "").join(parts)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def batch_decode(
        self,
        sequences: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        spaces_between_special_tokens: bool = True,
    ) -> list[str]:
        """``decode`` of each sequence of ``sequences`` (a list or tuple of id sequences, or a 2-D array or
        tensor).

        Args:
            sequences: The id sequences: a list or tuple of what :meth:`decode` takes, or a 2-D numpy array or
                tensor (one row per sequence, padding included unless skipped as a special token).
            skip_special_tokens: If True, special tokens (named and additional) are left out; False (the
                default) writes them.
            clean_up_tokenization_spaces: True removes the space before ``. ? ! ,`` and English
                contractions (transformers' ``clean_up_tokenization``); False keeps the text as decoded; None
                (the default) uses the tokenizer's ``clean_up_tokenization_spaces`` setting (False unless
                its ``tokenizer_config.json`` says otherwise).
            spaces_between_special_tokens: If True (the default), a verbatim added token is joined to the
                text around it by a space, as transformers' slow tokenizer does; False joins them with
                nothing.

        Returns:
            One decoded text per sequence, in order.

        Raises:
            TypeError: ``sequences`` is not a list, tuple, array or tensor (a single int, for one), or an
                item of it is not what :meth:`decode` takes. A flat list of ints is decoded id by id.
            ValueError: an id is negative or not below ``len(tokenizer)``.
        """
        if hasattr(sequences, "tolist"):
            sequences = sequences.tolist()
        if not isinstance(sequences, (list, tuple)):
            raise TypeError(
                f"batch_decode takes a list of token id sequences (or a 2-D array), got "
                f"{type(sequences).__name__} {sequences!r:.40}; decode() takes one sequence"
            )
        return [
            self.decode(s, skip_special_tokens, clean_up_tokenization_spaces, spaces_between_special_tokens)
            for s in sequences
        ]
