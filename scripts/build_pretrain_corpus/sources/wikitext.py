"""The WikiText-2 validation split from the shared corpora, detokenised: one article per document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..packages import Inputs, sha256
from ..text import Doc, detokenize, norm_ws, split_sentences

NAME = "wikitext"


def documents(inputs: Inputs) -> Iterator[Doc]:
    return read(inputs.shared / "wikitext-2-valid.tokens.txt")


def metadata(inputs: Inputs) -> dict[str, str]:
    return {
        "package": "shared:corpora/wikitext-2-valid.tokens.txt",
        "version": "sha256:" + sha256(inputs.shared / "wikitext-2-valid.tokens.txt")[:16],
        "licence": "CC BY-SA 3.0 (Wikipedia, via WikiText-2; attribution and share-alike required)",
        "origin": "shared/corpora/wikitext-2-valid.tokens.txt",
        "description": "WikiText-2 validation split, detokenised; a single <unk> is deleted, "
        "sentences with more are dropped",
    }


def read(path: Path) -> Iterator[Doc]:
    doc: Doc = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        s = line.strip()
        if not s:
            continue
        if re.fullmatch(r"= [^=].* =", s):
            if doc:
                yield doc
            doc = []
            continue
        if s.startswith("= ="):
            continue
        s = s.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
        text = detokenize(s.split())
        for sent in split_sentences(text):
            # <unk> marks a word outside WikiText's vocabulary: a sentence with one loses that word,
            # a sentence with more is dropped
            if sent.count("<unk>") > 1:
                continue
            sent = re.sub(r"\s*\(\s*<unk>\s*\)|<unk>\s*", "", sent)
            sent = re.sub(r"\(\s*[,;]?\s*\)", "", sent)
            sent = re.sub(r"\s+([,.;:])", r"\1", norm_ws(sent))
            if sent[:1].isalpha() or sent[:1] in "\"'(":
                doc.append(sent[0].upper() + sent[1:])
    if doc:
        yield doc
