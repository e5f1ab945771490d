"""Moved to :mod:`albert_tok.data` (``corpus``, ``shards``, ``reader``); this name keeps old imports working."""

from __future__ import annotations

from .data.corpus import CorpusError, CorpusSettings, tokenize_corpus, tokenizer_hash, vocabulary_hash
from .data.reader import ShardedCorpus
from .data.shards import MANIFEST

__all__ = [
           "MANIFEST",
           "CorpusError",
           "CorpusSettings",
           "ShardedCorpus",
           "tokenize_corpus",
           "tokenizer_hash",
           "vocabulary_hash",
]
