"""The Free On-line Dictionary of Computing (Debian dict-foldoc), prose only: 25 entries per document."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .. import dictd
from ..packages import Inputs
from ..text import Doc, group, norm_ws, paragraphs, split_sentences

NAME = "foldoc"


def documents(inputs: Inputs) -> Iterator[Doc]:
    def entry(text: str) -> list[str]:
        lines = text.split("\n")
        k = 0
        while k < len(lines) and lines[k].strip() and not lines[k][:1].isspace():
            k += 1
        head = norm_ws(lines[0]) if lines else ""
        out: list[str] = []
        for block in paragraphs(lines[k:]):
            para = norm_ws(" ".join(block))
            if re.fullmatch(r"\(\d{4}-\d{2}-\d{2}\)", para) or para.startswith(("[", "{")):
                continue
            if block[0].startswith(("     ", "\t")):
                continue  # indented: code or tables
            para = re.sub(r"^(?:<[^>]{1,40}>\s*)+", "", para)
            para = norm_ws(dictd.braces(para))
            sents = split_sentences(para)
            if sents and not out and head:
                sents[0] = f"{head}: {sents[0]}"
            out.extend(sents)
        return out

    return group((entry(e) for e in dictd.entries("foldoc")), 25)


def metadata(inputs: Inputs) -> dict[str, str]:
    return dict(
        inputs.deb("dict-foldoc"),
        licence="GFDL-1.1+ (no invariant sections)",
        origin=str(dictd.DICTD / "foldoc.dict.dz"),
        description="Free On-line Dictionary of Computing (prose paragraphs; links, dates, references dropped)",
    )
