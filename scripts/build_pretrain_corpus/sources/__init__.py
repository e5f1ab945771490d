"""The corpus's sources, one module each, and :data:`SOURCES`, the one table of them.

A source module has ``NAME`` (its output file is ``NAME.txt``), ``documents(inputs)`` (its documents, each a list
of lines, read lazily) and ``metadata(inputs)`` (what SOURCES.json records: package, version, licence, origin,
description). Formats that several sources share are read by the modules above this folder (``dictd``,
``html_pages``, ``sword``); cleaning and de-duplication happen afterwards, the same for all (``build``).
"""

from __future__ import annotations

from . import (
    botchan,
    brown,
    debian_docs,
    debian_handbook,
    devil,
    factbook,
    foldoc,
    fortunes,
    gcide,
    jargon,
    kjv,
    mhcc,
    shakespeare,
    tdavid,
    wikitext,
    wordnet,
)

# The order decides which copy of a duplicated line or document is kept: the first.
SOURCES = (
    brown,
    botchan,
    shakespeare,
    wikitext,
    factbook,
    debian_handbook,
    debian_docs,
    kjv,
    mhcc,
    tdavid,
    fortunes,
    devil,
    jargon,
    foldoc,
    wordnet,
    gcide,
)

__all__ = ["SOURCES"]
