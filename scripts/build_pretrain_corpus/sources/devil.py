"""Ambrose Bierce, *The Devil's Dictionary* (1911; Debian dict-devil): 20 entries per document."""

from __future__ import annotations

from collections.abc import Iterator

from .. import dictd
from ..packages import Inputs
from ..text import Doc, group, norm_ws, paragraphs, prose_block

NAME = "devil"


def documents(inputs: Inputs) -> Iterator[Doc]:
    def entry(text: str) -> list[str]:
        lines = _dict_prose(text)
        return [norm_ws(ln.replace("_", "")) for ln in lines]

    return group((entry(e) for e in dictd.entries("devil")), 20)


def metadata(inputs: Inputs) -> dict[str, str]:
    return dict(
        inputs.deb("dict-devil"),
        licence="public domain (Ambrose Bierce, 1911)",
        origin=str(dictd.DICTD / "devil.dict.dz"),
        description="The Devil's Dictionary",
    )


def _dict_prose(text: str) -> list[str]:
    out: list[str] = []
    for block in paragraphs(text.split("\n")):
        out.extend(prose_block(block))
    return out
