"""Data pipelines on the tokenizers: corpus shards (:func:`tokenize_corpus`, :class:`ShardedCorpus`),
the padding collator, and Ray Data callables. Like :mod:`albert_tok`, importing it never imports torch."""

from .collate import PaddingCollator
from .corpus import CorpusSettings, tokenize_corpus, tokenizer_hash, vocabulary_hash
from .encode import load_tokenizer
from .errors import CorpusError
from .ray_data import TokenizeBatch
from .reader import ShardedCorpus

__all__ = [
           "CorpusError",
           "CorpusSettings",
           "PaddingCollator",
           "ShardedCorpus",
           "TokenizeBatch",
           "load_tokenizer",
           "tokenize_corpus",
           "tokenizer_hash",
           "vocabulary_hash",
]
