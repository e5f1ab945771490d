"""Character offsets of tokens: the contract every offset mapping keeps, and the two steps that build one.

The contract, for the tokens of one text (before ``[CLS]``/``[SEP]`` are added; those get ``(0, 0)``):

1. every span lies within the text: ``0 <= start <= end <= len(text)``;
2. spans never overlap and never go backwards: a token starts at or after the end of the token before it;
3. a special token written in the text has the span of what was written (``[MASK]`` including the
   whitespace on its left that it swallows);
4. a token starting with ``▁`` includes the whitespace character that ``▁`` stands for: the last one
   between the previous token and the word (whitespace is what the normaliser turns into a space,
   U+FFFD included). Where the ``▁`` stands for no character (SentencePiece's dummy prefix at the start
   of a text or right after a special token), it adds nothing: a ``▁`` token of its own then has an
   empty span where the next token starts.

Several tokens made from one character (``ǅ`` -> ``▁`` ``dz``, a digit expanding to two pieces) cannot
share it under rule 2: the first token holds it and the later ones get an empty span at its end.

:func:`settle_offsets` turns raw spans (from Rust's normaliser alignments, or from SentencePiece's own
byte offsets) into spans that keep the contract; :func:`remap_offsets` gives spans to a re-segmentation
of the same pieces (the digit-comma rule). Neither computes spans from scratch; both run in one pass
whose loops advance on every step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Container, Sequence

from albert_tok.rules._text import PYTHON_WHITESPACE, SPIECE_UNDERLINE

__all__ = ["Offsets", "normaliser_predicates", "remap_offsets", "settle_offsets", "space_pieces"]

Offsets = list[tuple[int, int]]


def _never(char: str) -> bool:
    return False


def settle_offsets(
    text: str,
    ids: Sequence[int],
    raw: Sequence[tuple[int, int]],
    word_start_ids: Container[int],
    space_id: int | None,
    is_space: Callable[[str], bool] = PYTHON_WHITESPACE.__contains__,
    is_deleted: Callable[[str], bool] = _never,
) -> Offsets:
    """Spans of ``ids`` (the tokens of ``text``) that keep the module's contract, from ``raw`` spans.

    ``word_start_ids`` are the ids whose piece starts with ``▁``; ``space_id`` is the id of ``▁`` itself;
    ``is_space`` and ``is_deleted`` tell the characters the normaliser turns into a space and those it
    deletes (see :func:`normaliser_predicates`).
    Rules, applied to each token left to right:

    * clip the raw span into the text;
    * a ``▁`` of its own gives up the characters the next token's raw span also covers (it stands only
      for whitespace, and a dummy-prefix ``▁`` covers the first character of the word that follows);
    * start no earlier than the previous token's end (the earlier token keeps shared characters); end no
      earlier than the start;
    * a ``▁``-initial token starts at the last whitespace character between the previous token's end and
      its word (the first character of its span the normaliser neither deletes nor turns into a space),
      if there is one; a ``▁`` of its own
      then spans just that character, and without one it has an empty span at its end.

    Args:
        text: The text the tokens were made from; the spans index its characters.
        ids: The tokens' ids, in order, without ``[CLS]``/``[SEP]``.
        raw: One ``(start, end)`` character span per id, as the encoder reported it; spans may overlap, go
            backwards or leave the text. Tokens beyond the shorter of ``ids`` and ``raw`` are dropped.
        word_start_ids: The ids whose piece starts with ``▁`` (see :func:`space_pieces`).
        space_id: The id of the piece ``▁`` alone, or None when the vocabulary has none.
        is_space: Whether the normaliser turns a character into a space; Python's whitespace by default.
        is_deleted: Whether the normaliser deletes a character; by default it deletes none.

    Returns:
        One ``(start, end)`` span per token, keeping the module's contract.
    """
    size = len(text)
    out: Offsets = []
    floor = 0  # end of the previous token
    for k, (token, (start, end)) in enumerate(zip(ids, raw, strict=False)):
        start = min(max(start, 0), size)
        end = min(max(end, start), size)
        if token == space_id and k + 1 < len(raw):
            end = max(min(end, raw[k + 1][0]), 0)
            start = min(start, end)
        start = max(start, floor)
        end = max(end, start)
        if token in word_start_ids:
            word = start
            while word < end and (is_space(text[word]) or is_deleted(text[word])):
                word += 1
            space = word - 1  # the last whitespace before the word, no further back than floor
            while space >= floor and not is_space(text[space]):
                space -= 1
            if space >= floor:
                start = space
                end = space + 1 if token == space_id else max(end, space + 1)
            elif token == space_id:
                start = end  # a dummy prefix: nothing of its own, where the next token starts
        out.append((start, end))
        floor = end
    return out


def normaliser_predicates(normalize: Callable[[str], str]) -> tuple[Callable[[str], bool], Callable[[str], bool]]:
    """(is_space, is_deleted) for a tokenizer whose normaliser is ``normalize``: whether it treats a
    character as whitespace (Python whitespace, or turned into a space: SentencePiece maps U+FFFD and
    U+200B to one), and whether it deletes it (a combining mark when accents are stripped, a control
    character). Answers are cached per character.

    Args:
        normalize: The tokenizer's normaliser, text -> normalised text; each answer comes from normalising
            the character between two letters (``"a?b"``) and comparing with ``"a b"`` and ``"ab"``.

    Returns:
        ``(is_space, is_deleted)``, two functions of one character, as :func:`settle_offsets` takes them.
    """
    between, joined = normalize("a b"), normalize("ab")

    @functools.lru_cache(maxsize=4096)
    def is_space(char: str) -> bool:
        return char in PYTHON_WHITESPACE or normalize(f"a{char}b") == between

    @functools.lru_cache(maxsize=4096)
    def is_deleted(char: str) -> bool:
        return normalize(f"a{char}b") == joined

    return is_space, is_deleted


def remap_offsets(
    old_pieces: Sequence[str], old_offsets: Sequence[tuple[int, int]], new_pieces: Sequence[str]
) -> Offsets:
    """Spans of ``new_pieces``, a re-segmentation of ``old_pieces`` (their strings join to the same text).

    A boundary between new pieces that is also a boundary between old pieces keeps the old span's edge.
    A boundary inside an old piece maps to the same distance from that piece's end (a leading ``▁`` may
    stand for no character), clamped to the piece's span. Raises ``ValueError`` when the pieces do not
    join to the same string.

    Args:
        old_pieces: The pieces the spans belong to, in order.
        old_offsets: One ``(start, end)`` span per old piece, keeping the module's contract.
        new_pieces: The new segmentation: pieces whose strings join to the same string as ``old_pieces``'.

    Returns:
        One ``(start, end)`` span per new piece, never going backwards; all ``(0, 0)`` when ``old_pieces`` is
        empty.

    Raises:
        ValueError: When ``new_pieces`` do not join to the same string as ``old_pieces``.
    """
    if "".join(old_pieces) != "".join(new_pieces):
        raise ValueError(f"new pieces {list(new_pieces)!r:.80} are not a re-segmentation of {list(old_pieces)!r:.80}")
    if not old_pieces:
        return [(0, 0)] * len(new_pieces)
    # Old piece i covers [bounds[i], bounds[i + 1]) of the joined string.
    bounds = [0]
    for piece in old_pieces:
        bounds.append(bounds[-1] + len(piece))
    last = len(old_pieces) - 1

    out: Offsets = []
    i = 0  # the old piece where the current new piece starts; never moves back
    pos = 0
    for piece in new_pieces:
        end_pos = pos + len(piece)
        while i < last and bounds[i + 1] <= pos:
            i += 1
        j = i  # the old piece where the current new piece ends
        while j < last and bounds[j + 1] < end_pos:
            j += 1
        start = _position(old_offsets[i], bounds[i], bounds[i + 1], pos)
        end = _position(old_offsets[j], bounds[j], bounds[j + 1], end_pos)
        out.append((start, max(start, end)))
        pos = end_pos
    return out


def _position(span: tuple[int, int], piece_start: int, piece_end: int, p: int) -> int:
    """Text position of joined-string position ``p`` inside the old piece at [piece_start, piece_end]."""
    start, end = span
    if p <= piece_start:
        return start
    return max(start, end - (piece_end - p))


def space_pieces(pieces: Sequence[str]) -> tuple[frozenset[int], int | None]:
    """(ids of pieces starting with ``▁``, id of ``▁``) for :func:`settle_offsets`.

    Args:
        pieces: The vocabulary in id order.

    Returns:
        ``(word_start_ids, space_id)``: the ids of the pieces starting with ``▁`` (``▁`` itself included), and
        the id of the piece ``▁`` alone, or None when the vocabulary has none.
    """
    starts = frozenset(i for i, p in enumerate(pieces) if p.startswith(SPIECE_UNDERLINE))
    space = next((i for i, p in enumerate(pieces) if p == SPIECE_UNDERLINE), None)
    return starts, space
