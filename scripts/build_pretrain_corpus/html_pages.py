"""HTML documentation pages as prose (DocBook and Sphinx output), the format of the debian_handbook and
debian_docs sources."""

from __future__ import annotations

import html.parser
from collections.abc import Iterable, Iterator
from pathlib import Path

from .text import Doc, norm_ws, split_sentences


class _DocHTMLParser(html.parser.HTMLParser):
    """Text blocks of a DocBook / Sphinx HTML page, without navigation, code, tables and index."""

    BLOCK = frozenset(
        {
            "div",
            "p",
            "li",
            "dd",
            "dt",
            "pre",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "tr",
            "td",
            "th",
            "ul",
            "ol",
            "dl",
            "br",
            "blockquote",
            "title",
            "body",
        }
    )
    SKIP_TAGS = frozenset({"pre", "script", "style", "table", "title", "head"})
    SKIP_CLASSES = frozenset(
        {
            "docnav",
            "toc",
            "titlepage",
            "programlisting",
            "screen",
            "index",
            "indexdiv",
            "footnotes",
            "author",
            "editor",
            "othercredit",
            "legalnotice",
            "revhistory",
            "list-of-tables",
            "list-of-figures",
            "list-of-examples",
            "calloutlist",
            "synopsis",
            "cmdsynopsis",
            "navheader",
            "navfooter",
            "sphinxsidebar",
            "related",
            "footer",
            "highlight",
            "headerlink",
            "literallayout",
            "table",
            "informaltable",
            "copyright",
            "toctree-wrapper",
        }
    )
    SKIP_IDS = frozenset({"banner", "title", "site_footer", "searchbox"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []
        self.blocks: list[str] = []
        self.cur: list[str] = []

    def _flush(self) -> None:
        text = norm_ws("".join(self.cur))
        if text:
            self.blocks.append(text)
        self.cur = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        skip = tag in self.SKIP_TAGS or bool(classes & self.SKIP_CLASSES) or a.get("id") in self.SKIP_IDS
        if tag in self.BLOCK:
            self._flush()
        if tag in ("br", "img", "meta", "link", "hr", "input"):
            return
        self.stack.append(skip or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if tag in ("br", "img", "meta", "link", "hr", "input"):
            return
        if tag in self.BLOCK:
            self._flush()
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.cur.append(data)


def documents(paths: Iterable[Path]) -> Iterator[Doc]:
    """One document per HTML page: its prose blocks split into sentences."""
    for path in paths:
        parser = _DocHTMLParser()
        parser.feed(path.read_text(encoding="utf-8"))
        parser.close()
        parser._flush()
        doc: Doc = []
        for block in parser.blocks:
            if len(block.split()) < 5:
                continue  # captions, labels, navigation
            doc.extend(split_sentences(block))
        if doc:
            yield doc
