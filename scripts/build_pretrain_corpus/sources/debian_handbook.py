"""The Debian Administrator's Handbook (Debian debian-handbook, en-US HTML): one page per document, code
listings dropped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .. import html_pages
from ..packages import Inputs
from ..text import Doc

NAME = "debian_handbook"

HANDBOOK_DIR = Path("/usr/share/doc/debian-handbook/html/en-US")


def documents(inputs: Inputs) -> Iterator[Doc]:
    return html_pages.documents(
        p for p in sorted(HANDBOOK_DIR.glob("*.html")) if p.name not in ("index.html", "ix01.html")
    )


def metadata(inputs: Inputs) -> dict[str, str]:
    return dict(
        inputs.deb("debian-handbook"),
        licence="GPL-2+ or CC-BY-SA-3.0",
        origin=str(HANDBOOK_DIR),
        description="The Debian Administrator's Handbook (en-US HTML -> prose; code listings dropped)",
    )
