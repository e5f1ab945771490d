"""Added tokens: strings matched in the text before SentencePiece sees it, and the split of a text around them.

Both tokenizers split text here, with the semantics of transformers 4.57's SentencePiece (slow)
``AlbertTokenizer``, the canonical reference:

1. with ``do_lower_case``, the text is lower-cased character by character, except where a special token or a
   non-special ``normalized`` added token is written exactly (transformers' "protected" tokens);
2. the lower-cased text is split on every added token (special or not), leftmost match first and the longest
   one at a position (transformers' trie);
3. around each match, left to right: ``rstrip`` strips the whitespace at the start of the text after it,
   ``lstrip`` the whitespace at the end of the text before it; a ``single_word`` token that touches a
   non-space character on its left (else on its right) is not a token there: it is glued to that text;
4. each text between tokens is tokenized on its own (SentencePiece then adds its own dummy prefix, so no
   stray ``▁`` piece appears before a token, unlike transformers' fast tokenizer).

:class:`AddedToken` is this package's own token type (``tokenizers.AddedToken`` objects and
``tokenizer_config.json`` entries are accepted wherever one is); :class:`AddedVocabulary` holds a tokenizer's
added tokens by id and splits texts. This module does not encode text.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from albert_tok.rules import PYTHON_WHITESPACE, AddedToken, Offsets, lower_per_char

__all__ = ["NO_TOKEN", "AddedVocabulary", "Piece", "ReadTokens", "Splits", "assemble"]

# Joins texts to lower-case them in one call (the per-character rule keeps it apart).
_JOINER = "\x01"
# In split_ids' token ids: no token between two texts.
NO_TOKEN = -1
# Up to this many distinct first characters of added tokens, a batch is searched for each with str.find.
_FEW_TRIGGERS = 8


class ReadTokens(dict[int, AddedToken]):
    """Added tokens read from files (id -> :class:`AddedToken`), with the file each came from, so that an
    error found later (a token that does not fit the vocabulary) can name it."""

    def __init__(self, tokens: Mapping[int, AddedToken], origin: Mapping[int, str]) -> None:
        super().__init__(tokens)
        self.origin = dict(origin)


class Splits(NamedTuple):
    """:meth:`AddedVocabulary.split_texts` of a batch: per text, its texts around tokens and the tokens' ids
    (None for a text to encode whole: it holds no token); ``lowered``: no text is None and every part is
    lower-cased by step 1 already (:func:`~albert_tok.rules._text.lower_per_char`); a text without a token is then
    one part and no token."""

    parts: list[tuple[list[str], list[int]] | None]
    lowered: bool


@dataclass(frozen=True)
class Piece:
    """One part of a text split around added tokens.

    A token has ``token`` set to its id and the span of what was written (with the whitespace it strips).
    A text part has ``token`` None and ``text``, what to tokenize; ``positions`` gives the original index of
    each of its characters when ``text`` is not simply the original ``[start:end]`` (lower-casing
    lengthened it, or a stripped run was cut out of it).
    """

    start: int
    end: int
    token: int | None
    text: str = ""
    positions: tuple[int, ...] | None = None

    def origin(self, i: int) -> int:
        """Original index of character ``i`` of ``text`` (``len(text)`` maps to the end)."""
        if self.positions is None:
            return self.start + i
        return self.positions[i] if i < len(self.positions) else self.end

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original span of ``text[start:end]``."""
        if self.positions is None:
            return self.start + start, self.start + end
        if end <= start:
            at = self.origin(start)
            return at, at
        return self.origin(start), self.positions[end - 1] + 1


@functools.cache
def _uppercase_sources() -> dict[str, frozenset[str]]:
    """For each character some other character lower-cases into, those characters (``k`` <- ``K``, U+212A)."""
    sources: dict[str, set[str]] = {}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        lowered = char.lower()
        if lowered != char:
            for target in lowered:
                sources.setdefault(target, set()).add(char)
    return {target: frozenset(chars) for target, chars in sources.items()}


class AddedVocabulary:
    """A tokenizer's added tokens by id (special tokens of the vocabulary included), and the text split.

    ``special_tokens`` are the tokenizer's special token strings (never lower-cased in text); ``do_lower_case``
    is the tokenizer's switch. Immutable: adding tokens builds a new one.
    """

    def __init__(self, tokens: Mapping[int, AddedToken], special_tokens: Iterable[str], do_lower_case: bool) -> None:
        self.decoder: dict[int, AddedToken] = dict(sorted(tokens.items()))
        self.encoder: dict[str, int] = {t.content: i for i, t in self.decoder.items()}
        self.do_lower_case = do_lower_case
        contents = sorted(self.encoder, key=len, reverse=True)
        self._contents = contents
        # Leftmost match, the longest at a position: what transformers' trie finds.
        self._match = re.compile("|".join(map(re.escape, contents))) if contents else None
        protected = list(
            dict.fromkeys(
                [*special_tokens, *(t.content for t in self.decoder.values() if not t.special and t.normalized)]
            )
        )
        # Tried in this order at each position, as transformers' lower-casing regex does.
        self._protected = re.compile("|".join(map(re.escape, protected))) if protected else None
        # Keeping a protected token that lower-casing leaves as it is changes nothing: only a text holding one
        # of the others ("[MASK]") needs the protected scan.
        changed = [t for t in protected if lower_per_char(t) != t]
        self._case_protected = re.compile("|".join(map(re.escape, changed))) if changed else None
        # The same alternation as _match, capturing: re.split gives text, token, text, token, ..., text.
        self._splitter = re.compile("(" + "|".join(map(re.escape, contents)) + ")") if contents else None
        firsts = {c[0] for c in contents}
        if do_lower_case:
            firsts |= {c[0].lower()[0] for c in contents}
            if any(c.isalpha() for c in firsts):
                sources = _uppercase_sources()
                firsts |= {s for c in list(firsts) for s in sources.get(c, ())}
        # A text holding none of these characters holds no token: it is tokenized whole.
        self.trigger_chars = frozenset(firsts)
        self._trigger = re.compile("[" + "".join(map(re.escape, sorted(firsts))) + "]") if firsts else None
        self._plain = frozenset(i for i, t in self.decoder.items() if not (t.lstrip or t.rstrip or t.single_word))

    def __len__(self) -> int:
        return len(self.decoder)

    def may_hold_token(self, text: str) -> bool:
        """Whether ``text`` holds a character an added token can start with; a text for which this is False holds
        no added token (:meth:`split_texts` gives None for it), and is encoded whole."""
        if self._trigger is None:
            return False
        if len(self.trigger_chars) <= _FEW_TRIGGERS:
            for c in self.trigger_chars:  # noqa: SIM110  # a loop: any() would make a generator on every call
                if c in text:
                    return True
            return False
        return self._trigger.search(text) is not None

    def split_texts(self, texts: list[str]) -> Splits | None:
        """:meth:`split_ids` of each text, or None when no text holds an added token (checked for the whole
        batch at once: most batches hold none). When the batch comes back lower-cased (:class:`Splits`), a text
        without a token is one lower-cased part and no token instead of None."""
        if self._trigger is None:
            return None
        joined = "".join(texts)
        if len(self.trigger_chars) <= _FEW_TRIGGERS:  # a few str.find scans run in C with no regex engine
            present = [c for c in self.trigger_chars if c in joined]
            if not present:
                return None
            rows = sorted({i for c in present for i, t in enumerate(texts) if c in t})
        else:
            hits = [m.start() for m in self._trigger.finditer(joined)]
            if not hits:
                return None
            ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
            rows = np.unique(np.searchsorted(ends, hits, side="right")).tolist()
        out: list[tuple[list[str], list[int]] | None] = [None] * len(texts)
        lowered = self._lowered_batch([texts[i] for i in rows])
        if lowered is not None:
            # Only one token written in the whole batch, one that neither strips nor glues: str.split finds
            # what _match finds, in every text.
            batch = _JOINER.join(lowered)
            present = [c for c in self._contents if c in batch]
            if len(present) == 1 and self.encoder[present[0]] in self._plain:
                content, token = present[0], self.encoder[present[0]]
                for i, low in zip(rows, lowered, strict=False):
                    parts = low.split(content)
                    out[i] = parts, [token] * (len(parts) - 1)
                # the texts without a trigger character are lower-cased here too (one part, no token), so the
                # encoder skips step 1 for the whole batch instead of lower-casing the split rows again
                for i, split in enumerate(out):
                    if split is None:
                        out[i] = [lower_per_char(texts[i])], []
                return Splits(out, True)
        for k, i in enumerate(rows):
            out[i] = self.split_ids(texts[i], None if lowered is None else lowered[k])
        if all(out[i] is None for i in rows):  # a trigger character, but no token ("[" in prose)
            return None
        return Splits(out, False)

    def _lowered_batch(self, texts: list[str]) -> list[str] | None:
        """:meth:`_lowered` of every text as one call, when lower-casing keeps every text's length and no
        protected token that lower-casing would change is written in them; else None."""
        if not self.do_lower_case or not texts:
            return None
        joined = _JOINER.join(texts)
        if joined.count(_JOINER) != len(texts) - 1:
            return None
        if self._case_protected is not None and self._case_protected.search(joined) is not None:
            return None
        # text by text: one non-ASCII character would send a joined text down str.lower's slower path
        lowered = [lower_per_char(t) for t in texts]
        # no character lower-cases to nothing, so the same total length is the same length for every text
        return lowered if sum(map(len, lowered)) == len(joined) - len(texts) + 1 else None

    def split_ids(self, text: str, lowered: str | None = None) -> tuple[list[str], list[int]] | None:
        """What :meth:`split` gives, without character positions: the texts around the tokens (one more than
        the tokens; empty where two tokens touch or at an end) and the tokens' ids (:data:`NO_TOKEN` between two
        texts that are encoded apart); None when ``text`` holds no added token. ``lowered`` is
        ``_lowered(text)`` when the caller has it (same length as ``text``)."""
        if self._splitter is None or self._trigger is None or self._trigger.search(text) is None:
            return None
        if lowered is not None:
            matched, positions = lowered, None
        else:
            matched, positions = self._lowered(text) if self.do_lower_case else (text, None)
        if positions is None:
            present = [c for c in self._contents if c in matched]
            if len(present) == 1 and self.encoder[present[0]] in self._plain:  # str.split finds what _match finds
                parts = matched.split(present[0])
                return parts, [self.encoder[present[0]]] * (len(parts) - 1)
            parts = self._splitter.split(matched)
            if len(parts) == 1:
                return None
            ids = [self.encoder[t] for t in parts[1::2]]
            if self._plain.issuperset(ids):  # no token strips or glues: text and tokens alternate
                return parts[0::2], ids
        pieces = self.split(text)
        if pieces is None:
            return None
        texts: list[str] = []
        tokens: list[int] = []
        pending: str | None = None
        for piece in pieces:
            if piece.token is None:
                if pending is not None:  # two texts in a row (a glued single_word token): encoded apart
                    texts.append(pending)
                    tokens.append(NO_TOKEN)
                pending = piece.text
            else:
                texts.append(pending or "")
                tokens.append(piece.token)
                pending = None
        texts.append(pending or "")
        return texts, tokens

    def split(self, text: str) -> list[Piece] | None:
        """``text`` split around added tokens, or None when it holds none (then it is tokenized whole)."""
        if self._match is None or self._trigger is None or self._trigger.search(text) is None:
            return None
        matched, positions = self._lowered(text) if self.do_lower_case else (text, None)
        found = [(m.start(), m.end()) for m in self._match.finditer(matched)]
        if not found:
            return None
        ids = [self.encoder[matched[a:b]] for a, b in found]
        if positions is None and self._plain.issuperset(ids):
            return _plain_pieces(matched, found, ids)
        # items: [ranges of matched-text indices, token id or None]; merges may join non-adjacent ranges
        items: list[list[Any]] = []
        pos = 0
        for start, end in found:
            if start > pos:
                items.append([[(pos, start)], None])
            items.append([[(start, end)], self.encoder[matched[start:end]]])  # the token's id
            pos = end
        if pos < len(matched):
            items.append([[(pos, len(matched))], None])
        spans = {i: list(r[0][0]) for i, r in enumerate(items) if r[1] is not None}
        for i, item in enumerate(items):
            if item[1] is None or _text(matched, item[0]) != self.decoder[item[1]].content:
                continue
            token = self.decoder[item[1]]
            left = items[i - 1] if i > 0 else None
            right = items[i + 1] if i + 1 < len(items) else None
            # transformers reads both neighbours before changing either
            left_text = _text(matched, left[0]) if left is not None else ""
            right_text = _text(matched, right[0]) if right is not None else ""
            if token.rstrip and right is not None and right_text:
                right[0], cut = _strip(matched, right[0], leading=True)
                spans[i][1] += cut
            if token.lstrip and left_text:
                left[0], cut = _strip(matched, left[0], leading=False)  # type: ignore[index]
                spans[i][0] -= cut
            if token.single_word and left_text and left_text[-1] != " ":
                left[0] = left[0] + item[0]  # type: ignore[index]
                left[1] = None  # type: ignore[index]
                item[0], item[1] = [], None
            elif token.single_word and right is not None and right_text and right_text[0] != " ":
                right[0] = item[0] + right[0]
                right[1] = None
                item[0], item[1] = [], None
        return self._pieces(text, matched, positions, items, spans)

    def _lowered(self, text: str) -> tuple[str, list[int] | None]:
        """Step 1: ``text`` lower-cased outside protected tokens, and the original index of each character
        when lower-casing changed the length (only U+0130 lower-cases to two characters)."""
        if self._case_protected is None or self._case_protected.search(text) is None:
            lowered = lower_per_char(text)
            if len(lowered) == len(text):
                return lowered, None
        spans: list[tuple[int, int, bool]] = []  # (start, end, kept verbatim)
        pos = 0
        if self._protected is not None:
            for m in self._protected.finditer(text):
                spans += [(pos, m.start(), False), (m.start(), m.end(), True)]
                pos = m.end()
        spans.append((pos, len(text), False))
        lowered = "".join(text[a:b] if keep else lower_per_char(text[a:b]) for a, b, keep in spans)
        if len(lowered) == len(text):
            return lowered, None
        positions: list[int] = []
        for a, b, keep in spans:
            for k in range(a, b):
                positions.extend([k] * (1 if keep else len(text[k].lower())))
        return lowered, positions

    def _pieces(
        self, text: str, matched: str, positions: list[int] | None, items: list[list[Any]], spans: dict[int, list[int]]
    ) -> list[Piece]:
        def origin(k: int) -> int:
            return k if positions is None else (positions[k] if k < len(positions) else len(text))

        out: list[Piece] = []
        for i, (ranges, token) in enumerate(items):
            content = _text(matched, ranges)
            if not content:
                continue
            if token is None and content in self.encoder:  # a merge can spell another token (transformers)
                token = self.encoder[content]
            if token is not None:
                start, end = spans.get(i, [ranges[0][0], ranges[-1][1]])
                out.append(Piece(origin(start), origin(end) if end < len(matched) else len(text), token))
                continue
            start = origin(ranges[0][0])
            end = origin(ranges[-1][1] - 1) + 1
            simple = positions is None and len(ranges) == 1
            index = None if simple else tuple(origin(k) for a, b in ranges for k in range(a, b))
            out.append(Piece(start, end, None, content, index))
        return out


def _plain_pieces(matched: str, found: list[tuple[int, int]], ids: list[int]) -> list[Piece]:
    """The split when no matched token strips or glues (the common case): text and tokens alternate."""
    out: list[Piece] = []
    pos = 0
    for (start, end), token in zip(found, ids, strict=False):
        if start > pos:
            out.append(Piece(pos, start, None, matched[pos:start]))
        out.append(Piece(start, end, token))
        pos = end
    if pos < len(matched):
        out.append(Piece(pos, len(matched), None, matched[pos:]))
    return out


def _text(matched: str, ranges: list[tuple[int, int]]) -> str:
    return "".join(matched[a:b] for a, b in ranges)


def _strip(matched: str, ranges: list[tuple[int, int]], leading: bool) -> tuple[list[tuple[int, int]], int]:
    """``ranges`` without the whitespace at their start (``leading``) or end, and how many characters went."""
    chars = [k for a, b in ranges for k in range(a, b)]
    keep = chars
    if leading:
        n = 0
        while n < len(chars) and matched[chars[n]] in PYTHON_WHITESPACE:
            n += 1
        keep = chars[n:]
    else:
        n = len(chars)
        while n > 0 and matched[chars[n - 1]] in PYTHON_WHITESPACE:
            n -= 1
        keep = chars[:n]
    return _ranges(keep), len(chars) - len(keep)


def _ranges(chars: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for k in chars:
        if out and out[-1][1] == k:
            out[-1] = (out[-1][0], k + 1)
        else:
            out.append((k, k + 1))
    return out


def assemble(
    splits: list[list[Piece] | None], chunk_ids: list[list[int]], chunk_raw: list[Offsets] | None
) -> tuple[list[list[int]], list[Offsets] | None]:
    """Per text: the ids of its pieces in order (added tokens by id, text pieces from ``chunk_ids``, in the
    order of the texts and their text pieces) and their raw spans in the original text."""
    ids: list[list[int]] = []
    raw: list[Offsets] | None = [] if chunk_raw is not None else None
    k = 0
    for pieces in splits:
        if pieces is None:
            ids.append(chunk_ids[k])
            if raw is not None and chunk_raw is not None:
                raw.append(chunk_raw[k])
            k += 1
            continue
        row: list[int] = []
        spans: Offsets = []
        for piece in pieces:
            if piece.token is not None:
                row.append(piece.token)
                spans.append((piece.start, piece.end))
                continue
            row.extend(chunk_ids[k])
            if chunk_raw is not None:
                spans.extend(piece.span(s, e) for s, e in chunk_raw[k])
            k += 1
        ids.append(row)
        if raw is not None:
            raw.append(spans)
    return ids, raw
