"""Ray Data integration: tokenize ``ray.data.Dataset`` batches on a cluster with ``map_batches``.

    import ray
    from albert_tok.ray_data import TokenizeBatch

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
from typing import Any

import numpy as np

from .fast import AlbertTokenizerFast

__all__ = ["TokenizeBatch"]


class TokenizeBatch:
    """``map_batches`` callable: adds ``input_ids``, ``token_type_ids`` and ``attention_mask`` columns
    (one int32 array per row, unpadded) computed from ``text_column`` (and ``pair_column``)."""

    def __init__(self, tokenizer: str | os.PathLike[str] | AlbertTokenizerFast, text_column: str = "text",
                 pair_column: str | None = None, max_length: int = 512) -> None:
        self.tokenizer = (tokenizer if isinstance(tokenizer, AlbertTokenizerFast)
                          else AlbertTokenizerFast.from_pretrained(tokenizer))
        self.text_column = text_column
        self.pair_column = pair_column
        self.max_length = max_length

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        if self.text_column not in batch:
            raise KeyError(f"batch has no column {self.text_column!r}; columns: {sorted(batch)}")
        texts = [str(t) for t in batch[self.text_column]]
        pairs = None if self.pair_column is None else [str(t) for t in batch[self.pair_column]]
        enc = self.tokenizer(texts, pairs, truncation=True, max_length=self.max_length)
        out = dict(batch)
        for name in ("input_ids", "token_type_ids", "attention_mask"):
            column = np.empty(len(texts), dtype=object)
            column[:] = [np.asarray(row, dtype=np.int32) for row in enc[name]]
            out[name] = column
        return out
