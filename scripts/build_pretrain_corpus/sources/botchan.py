"""Natsume Soseki, *Botchan* (tr. Morri, 1919; Project Gutenberg #8868) from the shared corpora: one chapter per
document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..packages import Inputs, sha256
from ..text import Doc, norm_ws, split_sentences

NAME = "botchan"


def documents(inputs: Inputs) -> Iterator[Doc]:
    return read(inputs.shared / "botchan.txt")


def metadata(inputs: Inputs) -> dict[str, str]:
    return {
        "package": "shared:corpora/botchan.txt",
        "version": "sha256:" + sha256(inputs.shared / "botchan.txt")[:16],
        "licence": "public domain (Project Gutenberg #8868)",
        "origin": "shared/corpora/botchan.txt",
        "description": "Natsume Soseki, Botchan (English translation), PG header/footer removed",
    }


def read(path: Path) -> Iterator[Doc]:
    """The novel without the Project Gutenberg header and licence; one chapter per document. This copy
    has lost its paragraph breaks, so each chapter is re-joined and split into sentences."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    start = next((i + 1 for i, ln in enumerate(lines) if re.match(r"\*\*\* ?START OF (THE|THIS) PROJECT", ln)), 0)
    end = next((i for i, ln in enumerate(lines) if re.match(r"\*\*\* ?END OF (THE|THIS) PROJECT", ln)), len(lines))
    chapters: list[list[str]] = [[]]
    for ln in lines[start:end]:
        s = ln.strip()
        if s.startswith("--(THE END)--"):
            break  # what follows is the transcriber's errata list
        if re.fullmatch(r"(?:CHAPTER|Chapter) [IVXLC]+\.?", s):
            chapters.append([])
        elif s and not re.match(r"Produced by |By The Late |TRANSLATED By |Revised by |\d+$", s) and not s.isupper():
            chapters[-1].append(s)
    for chapter in chapters:
        doc = split_sentences(norm_ws(" ".join(chapter)))
        if doc:
            yield doc
