"""Reading a tokenized corpus back: :class:`ShardedCorpus`, a map-style dataset over memory-mapped shards."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from albert_tok.data._errors import CorpusError
from albert_tok.data._shards import MANIFEST, ShardArrays, load_shard, read_json

__all__ = ["ShardedCorpus"]

_READABLE_FORMATS = (1, 2)


def _manifest_lists(manifest: dict[str, Any], path: str) -> tuple[list[str], list[Any], list[Any]]:
    try:
        names = list(manifest["files"])
        fmt = manifest["settings"]["format"]
    except (KeyError, TypeError):
        raise CorpusError(f"{path} lacks 'files' or 'settings.format': not written by tokenize-corpus") from None
    if fmt not in ("npy", "parquet") or not all(isinstance(n, str) for n in names):
        raise CorpusError(f"{path}: unknown format {fmt!r} or shard names {names[:3]!r}")
    rows = manifest.get("shard_rows", [None] * len(names))  # format 1 did not record them
    tokens = manifest.get("shard_tokens", [None] * len(names))
    if len(rows) != len(names) or len(tokens) != len(names):
        raise CorpusError(f"{path}: {len(names)} shards but {len(rows)} row counts and {len(tokens)} token counts")
    return names, rows, tokens


class ShardedCorpus:
    """Memory-mapped rows of a :func:`~albert_tok.data.tokenize_corpus` output: ``corpus[i]`` is a dict
    with ``input_ids`` (int64 array) and, for pairs, ``token_type_ids``. A torch ``DataLoader`` takes it
    as it is (it pickles as its directory, so worker processes map the files themselves).

    Opening checks every shard against the manifest: the files exist, the offsets start at 0, never
    decrease and end at the number of ids, the counts match; otherwise :class:`CorpusError` names the
    file. ``check=False`` skips the scan of the offsets (the rest is still checked).

    ``len(corpus)`` is the number of rows; ``corpus[i]`` takes a negative ``i`` from the end and raises
    IndexError outside the corpus. Opening maps the shard files (and, with ``check``, reads their offsets
    once); a row's ids are read from the mapped files when it is asked for.

    Args:
        out_dir: The directory :func:`~albert_tok.data.tokenize_corpus` wrote, holding ``manifest.json`` (a
            run that did not finish has none).
        check: If True (the default), every shard's offsets are read once to check that they never
            decrease and that pair rows' type starts lie inside their rows (a pass over all the offsets);
            False skips that scan, for a corpus already checked. The other checks always run.

    Raises:
        CorpusError: (a ValueError) ``manifest.json`` is missing or not a manifest of a format this version
            reads, or a shard is missing, unreadable or does not match the manifest; the message names the
            file.
        ImportError: the corpus is in Parquet format and pyarrow is not installed.
    """

    def __init__(self, out_dir: str | os.PathLike[str], *, check: bool = True) -> None:
        self.out_dir = os.fspath(out_dir)
        self.check = check
        path = os.path.join(self.out_dir, MANIFEST)
        if not os.path.isfile(path):
            raise CorpusError(f"{self.out_dir!r} has no {MANIFEST}: the corpus is incomplete or not a corpus")
        self.manifest = read_json(path)
        if self.manifest.get("format") not in _READABLE_FORMATS:
            raise CorpusError(
                f"{path}: format {self.manifest.get('format')!r} is not one this version reads "
                f"({', '.join(map(str, _READABLE_FORMATS))})"
            )
        names, rows, tokens = _manifest_lists(self.manifest, path)
        fmt = self.manifest["settings"]["format"]
        self._shards: list[ShardArrays] = []
        for name, n_rows, n_tokens in zip(names, rows, tokens, strict=False):
            arrays = load_shard(self.out_dir, name, fmt, n_rows, n_tokens, scan=check)
            self._shards.append(arrays)
        self._starts = np.cumsum([0] + [len(s.offsets) - 1 for s in self._shards])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"row {i} is outside the corpus (0..{len(self) - 1})")
        i %= len(self)
        k = int(np.searchsorted(self._starts, i, side="right")) - 1
        shard, row = self._shards[k], i - int(self._starts[k])
        lo, hi = int(shard.offsets[row]), int(shard.offsets[row + 1])
        out = {"input_ids": np.asarray(shard.ids[lo:hi], dtype=np.int64)}
        if shard.type_starts is not None:
            types = np.zeros(hi - lo, dtype=np.int64)
            types[int(shard.type_starts[row]) :] = 1
            out["token_type_ids"] = types
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        # memory maps do not pickle: a DataLoader worker reopens the directory (checked once, here)
        return (_reopen, (self.out_dir,))


def _reopen(out_dir: str) -> ShardedCorpus:
    return ShardedCorpus(out_dir, check=False)
