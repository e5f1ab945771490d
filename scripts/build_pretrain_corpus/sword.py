"""Bible commentaries packaged for SWORD (zCom4 modules: zlib blocks of OSIS XML, index ``*.?zs``, data
``*.?zz``), the format of the mhcc and tdavid sources."""

from __future__ import annotations

import html
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from .text import Doc, norm_ws, split_sentences


def sword_text(folder: Path, testament: str) -> str:
    """All text of one testament of a compressed SWORD module, blocks in order."""
    indexes = [p for p in sorted(folder.glob(f"{testament}.?zs")) if p.stat().st_size]
    if not indexes:
        return ""
    index = indexes[0].read_bytes()
    data = indexes[0].with_suffix(indexes[0].suffix[:3] + "z").read_bytes()
    out = []
    for i in range(len(index) // 12):
        off, size, usize = struct.unpack("<III", index[12 * i : 12 * i + 12])
        block = zlib.decompress(data[off : off + size])
        if len(block) != usize:
            raise ValueError(f"{folder}/{testament}.bzz block {i}: {len(block)} bytes, expected {usize}")
        out.append(block.decode("utf-8"))
    return "".join(out)


def documents(folder: Path) -> Iterator[Doc]:
    """One document per Bible chapter commented on; titles, outline tables and verse headings dropped."""
    for testament in ("ot", "nt"):
        text = sword_text(folder, testament)
        for chapter in re.split(r"<chapter\b[^>]*\bsID=[^>]*/>", text):
            chapter = re.sub(r"<table>.*?</table>", " ", chapter, flags=re.DOTALL)  # chapter outlines
            chapter = re.sub(r"<title\b[^>]*>.*?</title>", "\n\n", chapter, flags=re.DOTALL)
            chapter = re.sub(r"<hi type=\"bold\">[^<]*</hi>", "\n\n", chapter)  # "Verses 1-2"
            chapter = re.sub(r"<div\b[^>]*/>", "\n\n", chapter)
            chapter = html.unescape(re.sub(r"<[^>]+>", " ", chapter))
            doc = [x for para in chapter.split("\n\n") for x in split_sentences(norm_ws(para))]
            if doc:
                yield doc
