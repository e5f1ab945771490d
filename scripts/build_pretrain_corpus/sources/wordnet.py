"""WordNet 3.0 glosses and example sentences (Debian wordnet-base): 40 synsets of one lexicographer file per
document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..packages import Inputs
from ..text import Doc

NAME = "wordnet"

WORDNET_DIR = Path("/usr/share/wordnet")


def documents(inputs: Inputs) -> Iterator[Doc]:
    def synsets() -> Iterator[tuple[str, list[str]]]:
        for pos in ("noun", "verb", "adj", "adv"):
            with open(WORDNET_DIR / f"data.{pos}", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.startswith("  ") or "|" not in line:
                        continue
                    fields, gloss = line.split("|", 1)
                    f = fields.split()
                    lexfile = f"{pos}.{f[1]}"
                    n = int(f[3], 16)
                    words = [re.sub(r"\([a-z]+\)$", "", w).replace("_", " ") for w in f[4 : 4 + 2 * n : 2]]
                    defs, examples = [], []
                    for part in re.split(r";\s*(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", gloss.strip()):
                        part = part.strip()
                        if not part:
                            continue
                        if part.startswith('"'):
                            ex = part.strip('"').strip()
                            ex = re.sub(r"\"\s*-+\s*[A-Z][^\"]*$", "", ex).strip('" ')
                            if ex:
                                examples.append(ex[0].upper() + ex[1:])
                        else:
                            defs.append(part)
                    if not defs:
                        continue
                    lines = [f"{', '.join(dict.fromkeys(words))}: {'; '.join(defs)}"]
                    lines[0] = lines[0].rstrip(".") + "."
                    lines += [e if e[-1] in ".!?" else e + "." for e in examples]
                    yield lexfile, lines

    doc: Doc = []
    count, current = 0, None
    for lexfile, lines in synsets():
        if doc and (lexfile != current or count >= 40):
            yield doc
            doc, count = [], 0
        current = lexfile
        doc.extend(lines)
        count += 1
    if doc:
        yield doc


def metadata(inputs: Inputs) -> dict[str, str]:
    return dict(
        inputs.deb("wordnet-base"),
        licence="WordNet 3.0 licence (Princeton; permissive, keep notice)",
        origin=str(WORDNET_DIR) + "/data.{noun,verb,adj,adv}",
        description="WordNet 3.0 synset glosses and example sentences",
    )
