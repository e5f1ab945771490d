"""Shakespeare's plays (char-rnn tinyshakespeare) from the shared corpora: speeches re-joined into sentences,
25 speeches per document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..packages import Inputs, sha256
from ..text import Doc, group, norm_ws, paragraphs, split_sentences

NAME = "shakespeare"


def documents(inputs: Inputs) -> Iterator[Doc]:
    return read(inputs.shared / "tinyshakespeare.txt")


def metadata(inputs: Inputs) -> dict[str, str]:
    return {
        "package": "shared:corpora/tinyshakespeare.txt",
        "version": "sha256:" + sha256(inputs.shared / "tinyshakespeare.txt")[:16],
        "licence": "public domain",
        "origin": "shared/corpora/tinyshakespeare.txt",
        "description": "Shakespeare plays (char-rnn tinyshakespeare), speeches re-joined into sentences",
    }


def read(path: Path) -> Iterator[Doc]:
    speeches: list[list[str]] = []
    for block in paragraphs(path.read_text(encoding="utf-8").split("\n")):
        speaker = block[0].strip()
        lines = block[1:] if speaker.endswith(":") else block
        speaker = speaker[:-1] if speaker.endswith(":") else ""
        sents = split_sentences(norm_ws(" ".join(lines)))
        if sents and speaker:
            name = " ".join(w if re.fullmatch(r"[IVX]+", w) else w.capitalize() for w in speaker.split())
            sents[0] = f"{name}: {sents[0]}"
        speeches.append(sents)
    return group(speeches, 25)
