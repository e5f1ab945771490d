"""ALBERT's text preprocessing: the single definition of every normalisation rule.

The slow tokenizer runs these rules in Python; the fast tokenizer's normaliser is *generated* from the same
character sets (:func:`whitespace_class`, :func:`combining_class`), so both see the same text. The rules
follow Google's ``tokenization.preprocess_text`` as the published checkpoints were trained with, in the
order the Hugging Face SentencePiece tokenizer applies them:

1. with ``do_lower_case``, every character outside special tokens is lower-cased on its own
   (``str.lower`` per character: no final-sigma rule);
2. the text is split on special tokens written in it; ``[MASK]`` eats the whitespace on its left;
3. each remaining chunk: whitespace runs collapse to one space and the ends are stripped
   (``remove_space``), ````` and ``''`` become ``"``, NFKD and combining marks are dropped unless
   ``keep_accents``, then the chunk is lower-cased (``do_lower_case``);
4. SentencePiece (its own ``nmt_nfkc`` normaliser, dummy prefix) and the digit-comma rule.

:class:`Preprocessing` holds the three switches as one validated value; :meth:`Preprocessing.align` is
step 3 again, keeping for every output character the span of the input characters it came from (what
character offsets are built on). This module does not tokenize; it only transforms text.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

__all__ = [
    "COMBINING_MARKS",
    "PYTHON_WHITESPACE",
    "SPIECE_UNDERLINE",
    "Aligned",
    "Preprocessing",
    "class_pattern",
    "collapse_whitespace",
    "combining_class",
    "lower_per_char",
    "preprocess_text",
    "replace_quotes",
    "strip_accents",
    "whitespace_class",
]

SPIECE_UNDERLINE = "\u2581"  # SentencePiece's visible space: starts a word's first piece

# Every character Python's ``str.split()``/``str.strip()`` treat as whitespace. Rust's notion differs
# (U+001C..U+001F are whitespace only in Python), so the fast normaliser uses this explicit set.
PYTHON_WHITESPACE: frozenset[str] = frozenset(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
# Characters with a non-zero canonical combining class (``unicodedata.combining``), as Google's code
# drops them; tokenizers' ``StripAccents`` drops general category M instead, which is not the same set.
COMBINING_MARKS: frozenset[str] = frozenset(chr(c) for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c)))
_DROP_COMBINING = dict.fromkeys(map(ord, COMBINING_MARKS))
# Joins a batch's chunks for Preprocessing.apply_batch: printable by none of the rules, whitespace to none.
_BATCH_JOINER = "\x01"
_NON_ASCII = re.compile("[^\x00-\x7f]+")
# Every byte but the ASCII controls (and the batch joiner, itself one).
_NOT_ASCII_CONTROL = bytes([0x01, *range(0x20, 0x7F), *range(0x80, 0x100)])


def lower_per_char(text: str) -> str:
    """Lower-case each character on its own, as transformers' ``tokenize`` does before splitting.

    ``str.lower`` of a whole string applies the final-sigma rule; per character it does not. Only a
    capital sigma can make the two differ, so the common case stays one C call.

    Args:
        text: The text to lower-case.

    Returns:
        ``text`` with each character lower-cased on its own (a capital sigma always becomes the small sigma
        U+03C3, never the final sigma U+03C2).
    """
    if "\u03a3" not in text:
        return text.lower()
    return "".join(c.lower() for c in text)


def collapse_whitespace(text: str) -> str:
    """Collapse whitespace runs to one space and strip both ends (ALBERT's ``remove_space``)."""
    return " ".join(text.split())


def replace_quotes(text: str) -> str:
    """LaTeX-style quotes as in ALBERT's preprocessing: ````` and ``''`` become ``"``."""
    return text.replace("``", '"').replace("''", '"')


def strip_accents(text: str) -> str:
    """NFKD, then drop every character with a non-zero combining class."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).translate(_DROP_COMBINING)


def _finish_run(run: str, keep_accents: bool, do_lower_case: bool) -> str | None:
    """Accent stripping and lower-casing of a run of non-ASCII characters (step 3 without the whitespace and
    quotes), or None where stripping leaves a capital sigma (its lower case depends on the text around it)."""
    done = run if keep_accents else strip_accents(run)
    if not do_lower_case:
        return done
    return None if "\u03a3" in done else done.lower()


def preprocess_text(
    text: str, *, remove_space: bool = True, keep_accents: bool = False, do_lower_case: bool = True
) -> str:
    """ALBERT's per-chunk preprocessing (step 3 of the module docstring): :meth:`Preprocessing.apply`."""
    return Preprocessing(do_lower_case, remove_space, keep_accents).apply(text)


# Text with, for each of its characters, the (start, end) span of the input characters it came from.
Aligned = tuple[str, list[tuple[int, int]]]


@dataclass(frozen=True)
class Preprocessing:
    """ALBERT's preprocessing switches (``do_lower_case``, ``remove_space``, ``keep_accents``), as one value.

    The tokenizers, the fast converter, the saved ``tokenizer_config.json`` and the vocabulary trainer all
    take this object, so the switches are validated once and cannot be passed in a different order.

    Args:
        do_lower_case: If True (the default), text is lower-cased: character by character outside special
            tokens (step 1), then each chunk again after accent stripping (step 3). False keeps the case.
        remove_space: If True (the default), each chunk's whitespace runs collapse to one space and its ends
            are stripped; False leaves the whitespace to SentencePiece.
        keep_accents: If False (the default), each chunk is NFKD-decomposed and its combining marks dropped
            (``é`` -> ``e``); True keeps the characters as they are.

    Raises:
        TypeError: a switch is not True or False (an int such as 1 is refused too).
    """

    do_lower_case: bool = True
    remove_space: bool = True
    keep_accents: bool = False

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, bool):
                raise TypeError(f"{field.name} must be True or False, got {value!r}")

    def as_dict(self) -> dict[str, bool]:
        """``{"do_lower_case": ..., "remove_space": ..., "keep_accents": ...}`` (the config.json keys).

        Returns:
            A new dict of the three switches, under the names ``tokenizer_config.json`` uses.
        """
        return {
            "do_lower_case": self.do_lower_case,
            "remove_space": self.remove_space,
            "keep_accents": self.keep_accents,
        }

    def with_overrides(self, **switches: bool | None) -> Preprocessing:
        """A copy with the switches that are not None replaced.

        Args:
            **switches: ``do_lower_case``, ``remove_space`` and ``keep_accents`` by name; each set to True or
                False replaces that switch, None (a caller's "not given") keeps this object's value.

        Returns:
            A new :class:`Preprocessing`, or this same object when every switch given is None.

        Raises:
            TypeError: a name is not one of the three switches, or a value is neither None nor a bool
                (raised by the constructor).
        """
        given = {name: value for name, value in switches.items() if value is not None}
        return replace(self, **given) if given else self

    def lower(self, text: str) -> str:
        """Step 1: per-character lower-casing of text outside special tokens (identity without
        ``do_lower_case``).

        Args:
            text: The text to lower-case; the caller leaves special tokens out of it.

        Returns:
            :func:`lower_per_char` of ``text`` with ``do_lower_case``, else ``text`` itself.
        """
        return lower_per_char(text) if self.do_lower_case else text

    def apply(self, chunk: str) -> str:
        """Step 3 on one chunk between special tokens (:func:`preprocess_text` with these switches).

        Called once per chunk on the hot path, so the switches are read as attributes: building a dict per
        call (``dataclasses.asdict``, which walks the fields and copies each value) would redo that work for
        every chunk of every text, next to string operations that are cheap on short chunks.

        Args:
            chunk: Text between special tokens, already through step 1 (:meth:`lower`) when the caller
                follows the module's order.

        Returns:
            The chunk with whitespace collapsed (``remove_space``), LaTeX quotes replaced, accents stripped
            (unless ``keep_accents``) and lower-cased (``do_lower_case``), in that order.
        """
        if self.remove_space:
            chunk = collapse_whitespace(chunk)
        chunk = replace_quotes(chunk)
        if not self.keep_accents:
            chunk = strip_accents(chunk)
        if self.do_lower_case:
            chunk = chunk.lower()
        return chunk

    def apply_batch(self, chunks: list[str], spaces_collapsed_later: bool = False, lowered: bool = False) -> list[str]:
        """Steps 1 and 3 on every chunk, ``[self.apply(self.lower(c)) for c in chunks]``, as a few calls over
        the whole batch: the checks run once on the chunks joined by a character none of them holds,
        lower-casing once on that joined text (chunk by chunk where some are not ASCII), quotes are replaced
        only where the batch holds a pair, accents are stripped from the runs of non-ASCII characters only, and
        only chunks holding an unprintable character (a tab, a no-break space, a control...) go through
        :meth:`apply` one by one.

        With ``spaces_collapsed_later`` (the tokenizer that reads the result strips the text and collapses
        runs of spaces itself, as SentencePiece's ``remove_extra_whitespaces`` does), a printable chunk, whose
        only whitespace is the ASCII space (every other whitespace character is unprintable), keeps its runs
        of spaces: they are the only difference from :meth:`apply`, and that tokenizer removes them. Without
        it, and ``remove_space`` set, every chunk goes through :meth:`apply`. ``lowered``: every chunk is
        ``self.lower(chunk)`` already (step 1 is not run again).

        Args:
            chunks: Texts between special tokens, in step 1's input form (not lower-cased) unless ``lowered``.
            spaces_collapsed_later: True when the consumer of the result collapses runs of spaces and strips
                the ends itself (SentencePiece's ``remove_extra_whitespaces``): printable chunks then keep
                their runs of spaces. False (the default) gives exactly :meth:`apply`'s text.
            lowered: True when every chunk has been through :meth:`lower` already, so step 1 is skipped;
                False (the default) runs it.

        Returns:
            One preprocessed text per chunk, in order; an empty list for no chunks. With
            ``spaces_collapsed_later`` a text may differ from :meth:`apply`'s by spaces only (runs of them, and
            spaces at its ends).
        """
        if not chunks:
            return []
        joined = _BATCH_JOINER.join(chunks)
        if (self.remove_space and not spaces_collapsed_later) or joined.count(_BATCH_JOINER) != len(chunks) - 1:
            return [self.apply(self.lower(c)) for c in chunks]
        # Steps 1 and 3 but whitespace and accents: what printable ASCII needs (a second lower() changes nothing).
        # Lower-casing goes text by text: one non-ASCII character would send the whole joined text down
        # str.lower's slower path.
        all_ascii = joined.isascii()  # str.isascii is O(1)
        if lowered or not self.do_lower_case:
            quick = list(chunks)
        elif all_ascii or "\u03a3" in joined:
            quick = lower_per_char(joined).split(_BATCH_JOINER)
        else:
            quick = [c.lower() for c in chunks]
        # LaTeX-style quote pairs are rare in most text: the chunks are touched only when the batch holds one
        # (lower-casing makes no quote character, so the batch as given answers). A one-character search is a
        # single-character scan, cheaper than a substring search, and most text has no backquote, so the
        # "``" search is usually skipped.
        if ("`" in joined and "``" in joined) or "''" in joined:
            quick = [replace_quotes(c) for c in quick]
        # ASCII controls (tabs, newlines, ...) anywhere? One byte translation of the batch answers for all
        # ASCII chunks; the non-ASCII ones are checked one by one below.
        controls = joined.encode("utf-8", "surrogatepass").translate(None, _NOT_ASCII_CONTROL)
        non_ascii = [] if all_ascii else [i for i, c in enumerate(chunks) if not c.isascii()]
        unprintable = [] if not controls else [i for i, c in enumerate(chunks) if c.isascii() and not c.isprintable()]
        if non_ascii:
            printable: list[int] = []
            for i in non_ascii:
                (printable if chunks[i].isprintable() else unprintable).append(i)
            # one pass over the printable non-ASCII chunks joined (the joiner is ASCII: no run crosses it)
            finished = self._finish_non_ascii(_BATCH_JOINER.join([quick[i] for i in printable])) if printable else ""
            if finished is None:  # a capital sigma left by accent stripping: those chunks one by one
                unprintable += printable
            else:
                for i, text in zip(printable, finished.split(_BATCH_JOINER), strict=False):
                    quick[i] = text
        for i in unprintable:
            quick[i] = self.apply(self.lower(chunks[i]))
        return quick

    def apply_one(self, chunk: str, spaces_collapsed_later: bool = False) -> str:
        """:meth:`apply_batch` of one chunk, ``self.apply_batch([chunk], spaces_collapsed_later)[0]``, without the
        batch's joining and splitting where the chunk is printable ASCII (a sentence of prose, the common call on
        one text): then step 1 and the quotes are all that change it.

        Args:
            chunk: Text between special tokens, not lower-cased.
            spaces_collapsed_later: As for :meth:`apply_batch`: the consumer of the result collapses runs of
                spaces and strips the ends itself.

        Returns:
            The preprocessed text, exactly what :meth:`apply_batch` gives for it.
        """
        if not (chunk.isascii() and chunk.isprintable()) or (self.remove_space and not spaces_collapsed_later):
            return self.apply_batch([chunk], spaces_collapsed_later)[0]
        if self.do_lower_case:
            chunk = chunk.lower()  # ASCII: no capital sigma, so lower_per_char is str.lower
        if ("`" in chunk and "``" in chunk) or "''" in chunk:
            chunk = replace_quotes(chunk)
        return chunk

    def _finish_non_ascii(self, text: str) -> str | None:
        """The accent and lower-casing steps of :meth:`apply` on ``text`` (lower-cased by step 1, quotes
        replaced), applied to its runs of non-ASCII characters, which are all they change: NFKD changes no
        ASCII character and never reorders across one. None where accent stripping leaves a capital sigma
        (U+1D6BA -> U+03A3), whose lower case depends on the letters around it."""
        if self.keep_accents and not self.do_lower_case:
            return text
        sigma = False

        def finish(match: re.Match[str]) -> str:
            nonlocal sigma
            run = match.group()
            done = _finish_run(run, self.keep_accents, self.do_lower_case)
            if done is None:
                sigma = True
                return run
            return done

        finished = _NON_ASCII.sub(finish, text)
        return None if sigma else finished

    def align(self, part: str) -> Aligned:
        """Steps 1 and 3 on ``part`` (original text between special tokens, already right-stripped when a
        left-stripping token follows), with each output character's span in ``part``.

        The text is exactly ``self.apply(self.lower(part))``. A character that expands (``ﬁ`` -> ``fi``,
        ``İ`` -> ``i̇``) gives each output character the span of its source; ```` `` ```` -> ``"`` takes the
        span of the second backquote; a collapsed whitespace run becomes one space with the span of the run's
        last character, the one next to the word that follows (as the fast tokenizer's normaliser does);
        dropped characters (combining marks, stripped ends) have no output character.

        Args:
            part: Original text between special tokens (not lower-cased; step 1 is run here).

        Returns:
            ``(text, spans)``: ``text`` is ``self.apply(self.lower(part))``, and ``spans[i]`` is the
            ``(start, end)`` range of the characters of ``part`` that ``text[i]`` came from. Should the
            character walk ever disagree with ``text`` in length, every span is the whole part.
        """
        chars: list[tuple[str, int, int]] = [(c, i, i + 1) for i, c in enumerate(part)]
        if self.do_lower_case:
            chars = _expand(chars, lower_per_char)
        if self.remove_space:
            chars = _collapse_whitespace(chars)
        chars = _merge_pair(_merge_pair(chars, "`", '"'), "'", '"')
        if not self.keep_accents:
            chars = [
                (d, s, e) for c, s, e in chars for d in unicodedata.normalize("NFKD", c) if d not in COMBINING_MARKS
            ]
        if self.do_lower_case:
            chars = _expand(chars, str.lower)
        text = self.apply(self.lower(part))
        spans = [(s, e) for _, s, e in chars]
        if len(text) != len(spans):  # not reached for any known input; stay within the part regardless
            spans = [(0, len(part))] * len(text)
        return text, spans


def _expand(chars: list[tuple[str, int, int]], fn: Callable[[str], str]) -> list[tuple[str, int, int]]:
    return [(d, s, e) for c, s, e in chars for d in fn(c)]


def _collapse_whitespace(chars: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    pending: tuple[str, int, int] | None = None  # the last whitespace character of the current run
    for item in chars:
        if item[0] in PYTHON_WHITESPACE:
            pending = item
            continue
        if pending is not None and out:
            out.append((" ", pending[1], pending[2]))
        pending = None
        out.append(item)
    return out


def _merge_pair(chars: list[tuple[str, int, int]], char: str, into: str) -> list[tuple[str, int, int]]:
    """``str.replace(char * 2, into)`` (left to right, non-overlapping) with spans; the replacement takes
    the span of the second character, as the Rust normaliser aligns it."""
    out: list[tuple[str, int, int]] = []
    i = 0
    while i < len(chars):
        if chars[i][0] == char and i + 1 < len(chars) and chars[i + 1][0] == char:
            out.append((into, chars[i + 1][1], chars[i + 1][2]))
            i += 2
        else:
            out.append(chars[i])
            i += 1
    return out


def char_class(chars: frozenset[str], flavor: str = "oniguruma") -> str:
    """A regex character class matching exactly ``chars``, for Oniguruma (Rust ``tokenizers``) or
    Python's ``re`` (``flavor="python"``)."""

    def esc(code: int) -> str:
        return f"\\x{{{code:X}}}" if flavor == "oniguruma" else f"\\U{code:08X}"

    codes = sorted(map(ord, chars))
    parts: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], None]:
        if code is not None and code == prev + 1:
            prev = code
            continue
        parts.append(esc(start) if start == prev else f"{esc(start)}-{esc(prev)}")
        if code is not None:
            start = prev = code
    return "[" + "".join(parts) + "]"


def class_pattern(chars: frozenset[str]) -> re.Pattern[str]:
    """A compiled Python regex finding any of ``chars``. A large class is slow to test in Python's ``re``
    (each character is checked against a set of thousands of code points), so the class is guarded by a
    look-ahead that rejects every other ASCII character with one small test: same matches, and on
    mostly-ASCII text the large class is tested only at the few characters the guard lets through.

    Args:
        chars: The characters to find, each a single code point.

    Returns:
        The compiled pattern; it matches one character of ``chars`` at a time.
    """
    others = frozenset(map(chr, range(128))) - chars
    guard = f"(?={char_class(others, 'python').replace('[', '[^', 1)})" if others else ""
    return re.compile(guard + char_class(chars, "python"))


@functools.cache
def whitespace_class() -> str:
    """Oniguruma character class of :data:`PYTHON_WHITESPACE`, for the fast normaliser."""
    return char_class(PYTHON_WHITESPACE)


@functools.cache
def combining_class() -> str:
    """Oniguruma character class of :data:`COMBINING_MARKS`, for the fast normaliser."""
    return char_class(COMBINING_MARKS)
