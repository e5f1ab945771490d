"""Encoding a batch whose texts hold added tokens, without a Python loop over tokens.

A text holding added tokens is split into the texts around them (:meth:`AddedVocabulary.split_texts`); each of
those is encoded on its own, as transformers' slow tokenizer does, and the token ids go between them. Two ways
to do that for a whole batch, both in a few numpy steps over the flat ids:

* :func:`encode_split` encodes every text part as an item of the batch and puts the token ids in with one
  ``np.insert``;
* with a :class:`Joiner`, the parts of a text are first joined by a word that is one piece of its own and
  that the text does not hold (``" # "``) into one item: the model segments words separately (no piece holds
  an inner ``▁``, so every ``▁`` starts a piece), so the joined item gives each part's pieces, separated by
  that piece, which is then overwritten by the token ids. Fewer, longer items are cheaper for SentencePiece
  (about 4 µs an item).

Nothing reaches across the joiner's spaces: ALBERT's preprocessing works character by character (accents on
runs of non-ASCII characters, which never hold a space; a final sigma sees a space as the end of its word), and
the keys of SentencePiece's normalisation table are code points and canonical composition sequences (a base
and its marks), none of which holds a space. Checked for every code point written right before
and right after a joiner, against both tokenizers (the same ids as the parts encoded apart); the tests repeat
it for a sample of code points.

One thing does reach across: SentencePiece sums piece scores in float32 along the whole item, so where two
segmentations of a word use the same pieces in another order (``66``+``6`` against ``6``+``66``, see
:mod:`albert_tok.unigram`), the text before the word can round the tie the other way. Texts encoded joined whose
ids hold such a pair are encoded again on their own (:func:`rows_with_ties`, :func:`splice_rows`).

Nothing here knows the model: the tokenizer passes its encoder (texts -> flat ids and lengths) and the joiners
it found (:func:`find_joiners`), each checked against the encoder itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from .added_tokens import NO_TOKEN, Splits
from .spm_model import SPIECE_UNDERLINE

__all__ = ["JOINER_CHARACTERS", "Joiner", "encode_split", "find_joiners", "rows_with_ties", "splice_rows"]

# Printable ASCII characters tried as joiners, in order; a text is joined by the first it does not hold.
JOINER_CHARACTERS = "#$&*+=~^|@%"

# texts, and whether they are lower-cased already -> flat ids and the length of each text
FlatEncoder = Callable[[list[str], bool], tuple[np.ndarray, np.ndarray]]
# flat ids -> positions i where ids i and i+1 may be a float32 tie (albert_tok.unigram.TieDetector.suspects)
TieFinder = Callable[[np.ndarray], np.ndarray]


def rows_with_ties(flat: np.ndarray, lengths: np.ndarray, ties: TieFinder) -> list[int]:
    """The rows (texts of ``lengths`` ids, one after the other in ``flat``) holding a possible tie within them."""
    hits = ties(flat)
    if not hits.size:
        return []
    ends = np.cumsum(lengths)
    row = np.searchsorted(ends, hits, side="right")
    same = row == np.searchsorted(ends, hits + 1, side="right")
    return np.unique(row[same]).tolist()


def splice_rows(flat: np.ndarray, lengths: np.ndarray, rows: Sequence[int], new_flat: np.ndarray,
                new_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``flat``/``lengths`` with the ids of ``rows`` (ascending) replaced by ``new_flat``/``new_lengths``."""
    if not len(rows):
        return flat, lengths
    starts = np.cumsum(lengths) - lengths
    new_starts = np.cumsum(new_lengths) - new_lengths
    pieces, at = [], 0
    for k, r in enumerate(rows):
        pieces.append(flat[at:starts[r]])
        pieces.append(new_flat[new_starts[k]:new_starts[k] + new_lengths[k]])
        at = starts[r] + lengths[r]
    pieces.append(flat[at:])
    lengths = lengths.copy()
    lengths[list(rows)] = new_lengths
    return np.concatenate(pieces).astype(flat.dtype, copy=False), lengths


class Joiner(NamedTuple):
    """``text`` is ``" X "``, where the word ``X`` (``char``) is the single piece ``id`` (``▁X``) wherever it
    stands between spaces."""

    char: str
    id: int
    text: str


def find_joiners(encode: FlatEncoder, pieces: Sequence[str], unk_id: int | None) -> list[Joiner]:
    """The characters of :data:`JOINER_CHARACTERS` that ``encode`` segments as one piece ``▁X`` of their own
    between two words, leaving the words as they are alone; none when some piece holds an inner ``▁`` (then
    words are not segmented separately)."""
    if any(SPIECE_UNDERLINE in piece[1:] for piece in pieces):
        return []
    probes = ["one", "two"]
    for char in JOINER_CHARACTERS:
        probes += [char, f"one {char} two"]
    flat, lengths = encode(probes, False)
    ends = np.cumsum(lengths).tolist()
    rows = [flat[end - size:end].tolist() for end, size in zip(ends, lengths.tolist())]
    one, two = rows[0], rows[1]
    found = []
    for k, char in enumerate(JOINER_CHARACTERS):
        alone, joined = rows[2 + 2 * k], rows[3 + 2 * k]
        if (len(alone) == 1 and alone[0] != unk_id and 0 <= alone[0] < len(pieces)
                and pieces[alone[0]] == SPIECE_UNDERLINE + char and joined == one + alone + two):
            found.append(Joiner(char, alone[0], f" {char} "))
    return found


def _joiner_of(text: str, joiners: Sequence[Joiner], unused: Sequence[Joiner]) -> Joiner | None:
    """A joiner ``text`` does not hold (its piece then comes only from the joiner within the item)."""
    return unused[0] if unused else next((j for j in joiners if j.char not in text), None)


def _one_item_per_text(texts: list[str], splits: Splits, encode: FlatEncoder, joiners: Sequence[Joiner],
                       unused: Sequence[Joiner]) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`encode_split` with every split text joined into one item; None when one cannot be."""
    items = list(texts)
    joined_by = np.full(len(texts), -1, dtype=np.int64)  # the piece id of each item's joiner
    written: list[int] = []  # the token ids, in the order of the joiners' pieces
    for i in splits.rows:
        split = splits.parts[i]
        assert split is not None  # splits.rows lists the texts that were split
        joiner = _joiner_of(texts[i], joiners, unused)
        if joiner is None or (not splits.lowered and NO_TOKEN in split[1]):
            return None
        items[i] = joiner.text.join(split[0])
        joined_by[i] = joiner.id
        written.extend(split[1])
    flat, sizes = encode(items, splits.lowered)
    at = flat == np.repeat(joined_by, sizes)
    if int(np.count_nonzero(at)) != len(written):  # not reached: joiners were checked against this encoder
        return None
    flat = flat.copy()
    flat[at] = written
    return flat, sizes


def encode_split(texts: list[str], splits: Splits, encode: FlatEncoder, joiners: Sequence[Joiner] = (),
                 ties: TieFinder | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The flat ids and the length of each text: texts whose split is None are encoded whole; the others
    are the ids of their text parts with each token's id between them (``NO_TOKEN``: none there). With
    ``joiners``, a split text's parts are encoded as one item; ``ties`` then finds the texts to encode again
    part by part (see the module docstring)."""
    flat, lengths = _encode_split(texts, splits, encode, joiners)
    if not joiners or ties is None:
        return flat, lengths
    redo = [i for i in rows_with_ties(flat, lengths, ties) if splits.parts[i] is not None]
    if not redo:
        return flat, lengths
    again = Splits([splits.parts[i] for i in redo], splits.lowered, list(range(len(redo))))
    return splice_rows(flat, lengths, redo, *_encode_split([texts[i] for i in redo], again, encode, ()))


def _encode_split(texts: list[str], splits: Splits, encode: FlatEncoder,
                  joiners: Sequence[Joiner]) -> tuple[np.ndarray, np.ndarray]:
    joined = "".join(texts)
    unused = [j for j in joiners if j.char not in joined]  # good for every text of the batch
    if joiners:
        done = _one_item_per_text(texts, splits, encode, joiners, unused)
        if done is not None:
            return done
    items: list[str] = []
    tokens: list[int] = []  # put in by np.insert, after their part
    joined_tokens: list[int] = []  # written over the joiners' pieces, in order
    joined_by: list[int] = []  # per item: the piece id of its joiner, -1 when not joined
    parts = np.ones(len(texts), dtype=np.int64)  # items of each text (its inserted tokens: one fewer)
    for i, (text, split) in enumerate(zip(texts, splits.parts)):
        if split is None:
            items.append(text)
            joined_by.append(-1)
            continue
        # a joiner the text does not hold: its piece then comes only from the joiner, within this item
        joiner = None
        if joiners and (splits.lowered or NO_TOKEN not in split[1]):
            joiner = _joiner_of(text, joiners, unused)
        if joiner is not None:
            items.append(joiner.text.join(split[0]))
            joined_tokens.extend(split[1])
            joined_by.append(joiner.id)
        else:
            items.extend(split[0])
            tokens.extend(split[1])
            joined_by.extend([-1] * len(split[0]))
            parts[i] = len(split[0])
    flat, sizes = encode(items, splits.lowered)
    if joined_tokens:
        at = flat == np.repeat(np.asarray(joined_by, dtype=np.int64), sizes)
        if int(np.count_nonzero(at)) != len(joined_tokens):  # not reached: joiners were checked on this encoder
            return _encode_split(texts, splits, encode, ())  # without joiners
        flat = flat.copy()
        flat[at] = joined_tokens
    first = np.cumsum(parts) - parts  # each text's first item
    between = parts - 1
    # the item each inserted token follows: first[i], first[i] + 1, ... for the tokens of text i
    follows = np.repeat(first, between) + np.arange(len(tokens)) - np.repeat(np.cumsum(between) - between, between)
    ids = np.asarray(tokens, dtype=np.int64)
    real = ids != NO_TOKEN
    if not real.all():  # two texts in a row: nothing goes between them
        follows, ids = follows[real], ids[real]
        between = np.bincount(np.repeat(np.arange(len(texts)), between)[real], minlength=len(texts))
    ends = np.cumsum(sizes)
    if ids.size:
        flat = np.insert(flat, ends[follows], ids)
    bounds = np.concatenate([[0], ends])
    return flat, bounds[first + parts] - bounds[first] + between
