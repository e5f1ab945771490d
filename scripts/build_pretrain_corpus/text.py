"""Text cleaning that the readers share: whitespace, sentences, over-long lines, verse, paragraphs, detokenising
and grouping entries into documents.

A reader turns its source into documents (:data:`Doc`, a list of lines) with these; the assembly
(:mod:`.build`) then cleans and de-duplicates every document the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

Doc = list[str]

MAX_LINE = 400  # longer lines are split at sentence, then clause boundaries

_ABBREV = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "jr",
    "sr",
    "prof",
    "rev",
    "gen",
    "col",
    "capt",
    "lt",
    "sgt",
    "gov",
    "sen",
    "rep",
    "hon",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "cf",
    "viz",
    "no",
    "nos",
    "vol",
    "vols",
    "ch",
    "chap",
    "fig",
    "ed",
    "eds",
    "approx",
    "inc",
    "ltd",
    "co",
    "corp",
    "dept",
    "univ",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "mt",
    "ave",
    "esp",
    "pp",
    "p",
    "op",
    "al",
    "ft",
    "lb",
    "lbs",
    "oz",
    "sq",
    "pl",
    "sing",
    "n",
    "v",
    "a",
    "adj",
    "adv",
    "prep",
    "conj",
    "obs",
    "fr",
    "gr",
    "lat",
    "ca",
    "rom",
    "cor",
    "gal",
    "eph",
    "matt",
    "messrs",
}
_SENT_END = re.compile(r"([.!?]+[\"'\u201d\u2019)\]]*)\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_INITIALS = re.compile(r"(?:[a-z]\.)+[a-z]")
_WS = re.compile(r"\s+")
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\ufeff\ufffd]")


def norm_ws(text: str) -> str:
    return _WS.sub(" ", _CTRL.sub("", text)).strip()


def split_sentences(text: str) -> list[str]:
    """Split prose at sentence ends, not after common abbreviations or initials."""
    out: list[str] = []
    start = 0
    for m in _SENT_END.finditer(text):
        if m.group(1).startswith("."):
            words = text[start : m.start(1)].split()
            word = words[-1].lower().lstrip("(\"'[") if words else ""
            if word in _ABBREV or (len(word) == 1 and word.isalpha()) or _INITIALS.fullmatch(word):
                continue
        out.append(text[start : m.end(1)].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def split_long(line: str, limit: int = MAX_LINE) -> list[str]:
    """Pieces of at most ``limit`` characters: sentences first, then clauses, then words."""
    if len(line) <= limit:
        return [line]
    parts = split_sentences(line)
    if len(parts) > 1:
        return [p for part in parts for p in split_long(part, limit)]
    mid = len(line) // 2
    for sep in ("; ", ": ", ", ", " -- ", " "):
        cuts = [m.end() for m in re.finditer(re.escape(sep), line)]
        cuts = [c for c in cuts if 20 <= c <= len(line) - 20]
        if cuts:
            cut = min(cuts, key=lambda c: (abs(c - mid), c))
            return split_long(line[:cut].strip(), limit) + split_long(line[cut:].strip(), limit)
    return [line[i : i + limit] for i in range(0, len(line), limit)]


_RULE = re.compile(r"([^\w\s])\1{4,}")  # ----- or ***** : table rules, ASCII art
_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s+[\w:-]+=(?:\"[^\"]*\"|'[^']*'|[^\s>]+))*\s*/?>")  # HTML/XML code


def mostly_letters(line: str) -> bool:
    if _RULE.search(line) or _TAG.search(line):
        return False
    chars = [c for c in line if not c.isspace()]
    letters = sum(1 for c in chars if c.isalpha())
    return letters >= 2 and letters >= 0.6 * len(chars)


def is_verse(lines: list[str], verse_width: int = 56) -> bool:
    """Short lines that mostly start with a capital: poetry or song, kept line by line."""
    lines = [ln.strip() for ln in lines if ln.strip()]
    if len(lines) < 3 or max(len(ln.expandtabs()) for ln in lines) > verse_width:
        return False
    capital = sum(1 for ln in lines if re.match(r"[\"'(\[]*[A-Z0-9]", ln))
    return capital >= 0.75 * len(lines)


def prose_block(lines: list[str]) -> list[str]:
    """Lines of one block of wrapped text: verse stays line by line, prose is re-joined and split
    into sentences."""
    lines = [ln.rstrip() for ln in lines if ln.strip()]
    if not lines:
        return []
    if is_verse(lines):
        return [norm_ws(ln) for ln in lines]
    return split_sentences(norm_ws(" ".join(lines)))


def paragraphs(lines: list[str]) -> Iterator[list[str]]:
    """Runs of non-blank lines."""
    block: list[str] = []
    for ln in lines:
        if ln.strip():
            block.append(ln)
        elif block:
            yield block
            block = []
    if block:
        yield block


_ATTACH_LEFT = {
    ".",
    ",",
    ";",
    ":",
    "!",
    "?",
    "%",
    ")",
    "]",
    "}",
    "n't",
    "'s",
    "'re",
    "'ve",
    "'m",
    "'ll",
    "'d",
    "''",
    "...",
    "'S",
    "N'T",
}
_ATTACH_RIGHT = {"(", "[", "{", "$", "``", "`"}


def detokenize(tokens: list[str]) -> str:
    """Join word tokens (Brown, WikiText) back into ordinary text."""
    out: list[str] = []
    no_space = True
    in_quote = False
    for tok in tokens:
        if tok == '"':
            if in_quote:
                out.append('"')
                no_space = False
            else:
                if not no_space:
                    out.append(" ")
                out.append('"')
                no_space = True
            in_quote = not in_quote
            continue
        if tok in ("``",):
            if not no_space:
                out.append(" ")
            out.append('"')
            no_space = True
            continue
        if tok == "''":
            out.append('"')
            no_space = False
            continue
        if not no_space and tok not in _ATTACH_LEFT:
            out.append(" ")
        out.append(tok)
        no_space = tok in _ATTACH_RIGHT
    return "".join(out)


def group(items: Iterable[list[str]], size: int) -> Iterator[Doc]:
    """Documents of ``size`` non-empty items each (the last may have fewer): dictionary entries, fortunes,
    speeches."""
    doc: Doc = []
    count = 0
    for lines in items:
        if not lines:
            continue
        doc.extend(lines)
        count += 1
        if count >= size:
            yield doc
            doc, count = [], 0
    if doc:
        yield doc
