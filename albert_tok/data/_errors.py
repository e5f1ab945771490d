"""The one exception of the corpus code, shared by its reader, worker and writer modules."""

from __future__ import annotations

__all__ = ["CorpusError"]


class CorpusError(ValueError):
    """A corpus input or output problem, naming the file (and byte offset) it concerns."""
