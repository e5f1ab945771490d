"""Debian Reference, Developer's Reference, Debian FAQ and New Maintainers' Guide (English HTML): one page per
document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .. import html_pages
from ..packages import Inputs
from ..text import Doc

NAME = "debian_docs"

DEBIAN_DOCS = [  # (package, directory, page glob, pages to skip: tables of contents, one-page copies)
    ("debian-reference-en", Path("/usr/share/debian-reference"), "*.en.html", {"index.en.html"}),
    (
        "developers-reference",
        Path("/usr/share/developers-reference"),
        "*.html",
        {"index.html", "search.html", "developers-reference.html", "genindex.html"},
    ),
    ("debian-faq", Path("/usr/share/doc/debian/FAQ"), "*.en.html", {"index.en.html"}),
    ("maint-guide", Path("/usr/share/doc/maint-guide/html"), "*.en.html", {"index.en.html"}),
]


def documents(inputs: Inputs) -> Iterator[Doc]:
    for _, folder, pattern, skip in DEBIAN_DOCS:
        yield from html_pages.documents(p for p in sorted(folder.glob(pattern)) if p.name not in skip)


def metadata(inputs: Inputs) -> dict[str, str]:
    return {
        "package": " + ".join(f"debian:{p}" for p, *_ in DEBIAN_DOCS),
        "version": " / ".join(inputs.version(p) for p, *_ in DEBIAN_DOCS),
        "licence": "GPL-2+ (debian-reference, maint-guide); GPL-2 (developers-reference); "
        "debian-faq: SPI permissive notice (copy, modify, translate with notice kept)",
        "copyright_file": "; ".join(f"/usr/share/doc/{p}/copyright" for p, *_ in DEBIAN_DOCS),
        "origin": "; ".join(str(d) for _, d, *_ in DEBIAN_DOCS),
        "description": "Debian Reference, Developer's Reference, Debian FAQ, New Maintainers' Guide (English HTML)",
    }
