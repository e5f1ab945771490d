"""Ray Data integration: tokenize ``ray.data.Dataset`` batches on a cluster with ``map_batches``.

    import ray
    from albert_tok.data import TokenizeBatch

    ray.init()                                  # or ray.init(address="ray://head:10001") for a cluster
    ds = ray.data.read_text("s3://bucket/corpus/")          # one row per line, column "text"
    ds = ds.map_batches(TokenizeBatch, fn_constructor_kwargs={"tokenizer": "/path/to/tokenizer"},
                        concurrency=4, batch_size=1024)
    ds.write_parquet("s3://bucket/tokenized/")

Each actor loads the tokenizer once (the directory must be readable where the actor runs, or pass a
tokenizer object: it pickles with its vocabulary). Ray itself is an optional extra
(``pip install ".[ray]"``); this module imports it nowhere, it only defines the callable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from albert_tok.api import MODEL_INPUT_NAMES, AlbertTokenizerBase
from albert_tok.data._encode import load_tokenizer

__all__ = ["TokenizeBatch"]


def _texts(batch: dict[str, Any], column: str) -> list[str]:
    if column not in batch:
        raise KeyError(f"batch has no column {column!r}; columns: {sorted(batch)}")
    values: Sequence[Any] = batch[column]
    for i, value in enumerate(values):
        if not isinstance(value, str):  # str(None) or str(b"...") would be tokenized as text
            raise TypeError(f"column {column!r} row {i} is {type(value).__name__} {value!r:.40}; expected str")
    return list(values)


class TokenizeBatch:
    """``map_batches`` callable: adds ``input_ids``, ``token_type_ids`` and ``attention_mask`` columns
    (one int32 array per row, unpadded, truncated to ``max_length``) computed from ``text_column`` (and
    ``pair_column``). A directory is loaded with :func:`~albert_tok.data._encode.load_tokenizer`.

    Args:
        tokenizer: A tokenizer directory (str or path; loaded once, where the callable is built: on each
            Ray actor when passed through ``fn_constructor_kwargs``), or an :class:`~albert_tok.AlbertTokenizer`
            or :class:`~albert_tok.AlbertTokenizerFast` object, used as it is.
        text_column: The batch column holding the texts (str values); ``"text"`` by default, the column
            ``ray.data.read_text`` makes.
        pair_column: The column holding each text's second sequence, for ``[CLS] A [SEP] B [SEP]`` rows;
            None (the default) tokenizes single texts.
        max_length: The most tokens in a row, special tokens included; longer rows are truncated (for pairs,
            the longer sequence first). An int of at least 3; 512 by default.

    Raises:
        ValueError: ``max_length`` is not an int of at least 3.
        TypeError: ``tokenizer`` is neither a path nor an albert_tok tokenizer.
        FileNotFoundError: the tokenizer directory does not exist or holds no tokenizer (see
            :func:`~albert_tok.data.load_tokenizer` for what else loading raises).
    """

    def __init__(
        self,
        tokenizer: str | os.PathLike[str] | AlbertTokenizerBase,
        text_column: str = "text",
        pair_column: str | None = None,
        max_length: int = 512,
    ) -> None:
        if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 3:
            raise ValueError(f"max_length must be an int >= 3, got {max_length!r}")
        if isinstance(tokenizer, AlbertTokenizerBase):
            self.tokenizer = tokenizer
        elif isinstance(tokenizer, (str, os.PathLike)):
            self.tokenizer = load_tokenizer(tokenizer)
        else:
            raise TypeError(f"tokenizer must be a directory or an albert_tok tokenizer, got {type(tokenizer).__name__}")
        self.text_column = text_column
        self.pair_column = pair_column
        self.max_length = max_length

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Tokenize one batch.

        Args:
            batch: A batch in Ray Data's ``"default"`` or ``"numpy"`` format: column name -> values (a list
                or array), with ``text_column`` (and ``pair_column``) holding str.

        Returns:
            A new dict with every column of ``batch`` plus ``input_ids``, ``token_type_ids`` and
            ``attention_mask``: object arrays holding one unpadded int32 array per row.

        Raises:
            KeyError: the batch has no ``text_column`` (or ``pair_column``); the message lists its columns.
            TypeError: a value in one of those columns is not a str (None, bytes), naming the row.
        """
        texts = _texts(batch, self.text_column)
        pairs = None if self.pair_column is None else _texts(batch, self.pair_column)
        enc = self.tokenizer(texts, pairs, truncation=True, max_length=self.max_length)
        out = dict(batch)
        for name in MODEL_INPUT_NAMES:
            column = np.empty(len(texts), dtype=object)
            column[:] = [np.asarray(row, dtype=np.int32) for row in enc[name]]
            out[name] = column
        return out
