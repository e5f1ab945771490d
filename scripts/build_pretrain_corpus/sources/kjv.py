"""King James Bible (Debian bible-kjv-text: windowed LZW, see tsl.c / compresslib.c of bible-kjv): one chapter
per document."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path

from ..packages import Inputs
from ..text import Doc

NAME = "kjv"

KJV_DATA = Path("/usr/lib/bible.data")


def documents(inputs: Inputs) -> Iterator[Doc]:
    doc: Doc = []
    chapter = None
    for line in kjv_text().split("\n"):
        m = re.match(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$", line)
        if not m:
            continue
        key = (m.group(1), m.group(2))
        if key != chapter and doc:
            yield doc
            doc = []
        chapter = key
        doc.append(m.group(4))
    if doc:
        yield doc


def metadata(inputs: Inputs) -> dict[str, str]:
    return dict(
        inputs.deb("bible-kjv-text"),
        licence="public domain text (KJV 1611); package data: unrestricted use (Chip Chapin) / GPL-2+ packaging",
        origin=str(KJV_DATA),
        description="King James Bible, one chapter per document",
    )


def _unlzw(data: bytes, maxbits: int = 16) -> bytes:
    """Decode one window of Unix ``compress`` (LZW, block mode) data, 8-code group alignment included."""
    out = bytearray()
    n_bits, maxcode, maxmaxcode = 9, 511, 1 << maxbits
    prefix = [0] * maxmaxcode
    suffix = list(range(256)) + [0] * (maxmaxcode - 256)
    free_ent, pos, n = 257, 0, len(data)
    buf = offset = size = 0
    clear_flg = False
    oldcode = -1
    finchar = 0
    while True:
        if clear_flg or offset >= size or free_ent > maxcode:
            if free_ent > maxcode:
                n_bits += 1
                maxcode = maxmaxcode if n_bits == maxbits else (1 << n_bits) - 1
            if clear_flg:
                n_bits, maxcode, clear_flg = 9, 511, False
            size = min(n_bits, n - pos)
            if size <= 0:
                break
            buf = int.from_bytes(data[pos : pos + size], "little")
            pos += size
            offset = 0
            size = (size << 3) - (n_bits - 1)
        code = (buf >> offset) & ((1 << n_bits) - 1)
        offset += n_bits
        if oldcode == -1:
            finchar = oldcode = code
            out.append(code)
            continue
        if code == 256:
            free_ent = 256
            clear_flg = True
            continue
        incode = code
        stack = bytearray()
        if code >= free_ent:
            stack.append(finchar)
            code = oldcode
        while code >= 256:
            stack.append(suffix[code])
            code = prefix[code]
        finchar = code
        stack.append(code)
        stack.reverse()
        out += stack
        if free_ent < maxmaxcode:
            prefix[free_ent] = oldcode
            suffix[free_ent] = finchar
            free_ent += 1
        oldcode = incode
    return bytes(out)


def kjv_text(path: Path = KJV_DATA) -> str:
    data = path.read_bytes()
    if data[:4] != b"EC02":
        raise ValueError(f"{path}: not a bible-kjv 'EC02' data file")
    wsize, wnum = struct.unpack(">II", data[84:92])
    table = struct.unpack(f">{wnum + 1}I", data[92 : 92 + 4 * (wnum + 1)])
    maxbits = data[table[0] - 1] & 0x1F  # window 0 is preceded by the compress header 1F 9D 90
    text = bytearray()
    for w in range(wnum):
        chunk = _unlzw(data[table[w] : table[w + 1]], maxbits)
        if w < wnum - 1 and len(chunk) != wsize:
            raise ValueError(f"{path}: window {w} decoded to {len(chunk)} bytes, expected {wsize}")
        text += chunk
    return text.decode("ascii")
