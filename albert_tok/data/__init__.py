"""Data pipelines on the tokenizers: corpus shards (:func:`tokenize_corpus`, :class:`ShardedCorpus`),
the padding collator, and Ray Data callables. Like :mod:`albert_tok`, importing it never imports torch."""

from albert_tok.data._collate import PaddingCollator
from albert_tok.data._corpus import CorpusSettings, tokenize_corpus, tokenizer_hash, vocabulary_hash
from albert_tok.data._encode import load_tokenizer
from albert_tok.data._errors import CorpusError
from albert_tok.data._ray_data import TokenizeBatch
from albert_tok.data._reader import ShardedCorpus

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
