"""dictd databases (``/usr/share/dictd``: a dictzip'd text and an index of base64 offsets), the format of the
gcide, devil, foldoc and jargon sources; and the cross-reference braces that foldoc and jargon share."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

DICTD = Path("/usr/share/dictd")

_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def _b64(s: str) -> int:
    v = 0
    for c in s:
        v = v * 64 + _B64[c]
    return v


def entries(name: str) -> list[str]:
    """Entries of a dictd database in file order (``00-database-*`` metadata skipped)."""
    with gzip.open(DICTD / f"{name}.dict.dz") as fh:
        data = fh.read()
    spans: set[tuple[int, int]] = set()
    skip: set[tuple[int, int]] = set()
    with open(DICTD / f"{name}.index", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3:
                continue
            span = (_b64(fields[1]), _b64(fields[2]))
            (skip if fields[0].startswith(("00-database", "00database")) else spans).add(span)
    entries = []
    for off, length in sorted(spans - skip):
        raw = data[off : off + length]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
        entries.append(text)
    return entries


def braces(text: str) -> str:
    text = re.sub(r"\{\s*\(?(?:https?|ftp|mailto|news):[^}]*\}", "", text)  # link-only braces
    text = re.sub(r"\{([^{}]*?)\s*\((?:https?|ftp)://[^)]*\)\s*\}", r"\1", text)
    text = re.sub(r"\{([^{}()]*?)\s*\([^{}()]*\)\}", r"\1", text)  # {text (target)}
    text = re.sub(r"\{\s*([^{}]*?)\s*\}", r"\1", text)
    text = re.sub(r"\(?(?:https?|ftp)://\S+", "", text)
    return text
