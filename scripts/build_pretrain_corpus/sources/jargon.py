"""The Jargon File 4.4.7 (Debian dict-jargon): 15 entries per document."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .. import dictd
from ..packages import Inputs
from ..text import Doc, group, norm_ws, paragraphs, split_sentences

NAME = "jargon"


def documents(inputs: Inputs) -> Iterator[Doc]:
    def entry(text: str) -> list[str]:
        lines = text.split("\n")
        head = norm_ws(lines[0]) if lines else ""
        out: list[str] = []
        for block in paragraphs(lines[1:]):
            para = norm_ws(" ".join(block))
            if (
                len(block) == 1
                and len(para.split()) <= 6
                and (para.startswith("/") or re.fullmatch(r"(?:[\w-]+\.,?\s*)+", para))
            ):
                continue  # pronunciation and part of speech: "/boh·go't@·fi:/, vt.", "n.", "imper."
            if block[0].startswith("        "):
                out.extend(norm_ws(ln) for ln in block)  # examples / verse, deeper indented
                continue
            para = re.sub(r"^\d+\.\s+(?:(?:n|v|adj|adv|vt|vi|interj|excl)\.\s*)*", "", para)
            sents = split_sentences(norm_ws(dictd.braces(para)))
            if sents and not out and head:
                sents[0] = f"{head}: {sents[0]}"
            out.extend(sents)
        return out

    return group((entry(e) for e in dictd.entries("jargon")), 15)


def metadata(inputs: Inputs) -> dict[str, str]:
    return dict(
        inputs.deb("dict-jargon"),
        licence="public domain (Jargon File 4.4.7)",
        origin=str(dictd.DICTD / "jargon.dict.dz"),
        description="The Jargon File",
    )
