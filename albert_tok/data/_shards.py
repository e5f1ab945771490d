"""The files of a tokenized corpus: shard arrays, shard records and the manifest; written atomically,
read back memory-mapped and validated.

Shard ``k`` is ``shard-KKKKK.ids.npy`` (all rows' token ids, ``uint16`` when the vocabulary fits, else
``int32``), ``shard-KKKKK.offsets.npy`` (``int64`` row boundaries: ``rows + 1`` values from 0 to the
number of ids) and, for sentence pairs, ``shard-KKKKK.type_starts.npy`` (where segment B starts in
each row); or, with ``format="parquet"``, one ``shard-KKKKK.parquet``. ``shard-KKKKK.json``, its
record, is written last; ``manifest.json`` after every shard.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from albert_tok.data._errors import CorpusError
from albert_tok.io.atomic import write_file

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "ShardArrays",
    "check_arrays",
    "is_shard_file",
    "load_shard",
    "read_json",
    "shard_files",
    "shard_name",
    "write_json",
    "write_shard",
]

MANIFEST = "manifest.json"
FORMAT_VERSION = 2
_SHARD_FILE = re.compile(r"shard-(\d{5,})\.(ids\.npy|offsets\.npy|type_starts\.npy|parquet|json)")


def shard_name(index: int) -> str:
    """The base name of shard ``index`` (``shard-00007``), its files' common prefix."""
    return f"shard-{index:05d}"


def shard_files(index: int, fmt: str, pairs: bool) -> list[str]:
    """The data files of shard ``index`` (its record not included)."""
    base = shard_name(index)
    if fmt == "parquet":
        return [base + ".parquet"]
    return [base + ".ids.npy", base + ".offsets.npy"] + ([base + ".type_starts.npy"] if pairs else [])


def is_shard_file(name: str) -> int | None:
    """The shard index of a file this module writes, else None."""
    match = _SHARD_FILE.fullmatch(name)
    return int(match.group(1)) if match else None


def write_json(path: str, data: dict[str, Any]) -> None:
    """Write ``data`` as indented, key-sorted JSON to ``path``, atomically."""
    write_file(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def read_json(path: str) -> dict[str, Any]:
    """The JSON object in ``path``; :class:`CorpusError` naming the file when it is unreadable or not an object."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CorpusError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def write_shard(
    out_dir: str, index: int, fmt: str, ids: np.ndarray, offsets: np.ndarray, type_starts: np.ndarray | None
) -> None:
    """Write the data files of shard ``index``, each atomically (the record comes after, elsewhere)."""
    base = os.path.join(out_dir, shard_name(index))
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        column = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(ids.astype(np.int32)))
        table = {"input_ids": column}
        if type_starts is not None:
            table["type_start"] = pa.array(type_starts)
        buffer = io.BytesIO()
        pq.write_table(pa.table(table), buffer)
        write_file(base + ".parquet", buffer.getvalue())
        return
    write_file(base + ".ids.npy", _npy_bytes(ids))
    write_file(base + ".offsets.npy", _npy_bytes(offsets))
    if type_starts is not None:
        write_file(base + ".type_starts.npy", _npy_bytes(type_starts))


@dataclass(frozen=True)
class ShardArrays:
    """One shard's arrays (memory-mapped for npy): row ``r`` is ``ids[offsets[r]:offsets[r + 1]]``."""

    ids: np.ndarray
    offsets: np.ndarray
    type_starts: np.ndarray | None


def _load_npy(path: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise CorpusError(f"{path} is missing: the corpus is incomplete; rerun tokenize-corpus")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{path}: not a readable .npy array ({exc})") from None


def _load_parquet(path: str) -> ShardArrays:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not os.path.isfile(path):
        raise CorpusError(f"{path} is missing: the corpus is incomplete; rerun tokenize-corpus")
    try:  # memory-mapped Arrow buffers, viewed as numpy without copying
        table = pq.read_table(path, memory_map=True)
        column = table.column("input_ids").combine_chunks()
        types = table.column("type_start").to_numpy() if "type_start" in table.column_names else None
    except (OSError, KeyError, pa.ArrowException) as exc:
        raise CorpusError(f"{path}: not a shard written by tokenize-corpus ({exc})") from None
    return ShardArrays(column.values.to_numpy(), column.offsets.to_numpy(), types)


def check_arrays(name: str, arrays: ShardArrays, rows: int | None, tokens: int | None, scan: bool = True) -> None:
    """Raise :class:`CorpusError` naming ``name`` unless the offsets describe the ids: 1-D integer arrays,
    ``offsets`` from 0, ending at ``len(ids)``, the expected counts, and (``scan``: reading every offset)
    non-decreasing offsets and type starts inside their rows."""
    ids, offsets, types = arrays.ids, arrays.offsets, arrays.type_starts
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise CorpusError(f"{name}: ids must be a 1-D integer array, found {ids.dtype} of shape {ids.shape}")
    if offsets.ndim != 1 or offsets.dtype.kind not in "iu" or len(offsets) < 1:
        raise CorpusError(
            f"{name}: offsets must be a non-empty 1-D integer array, found {offsets.dtype} of shape {offsets.shape}"
        )
    if int(offsets[0]) != 0 or int(offsets[-1]) != len(ids):
        raise CorpusError(
            f"{name}: offsets must run from 0 to the {len(ids)} ids, found {int(offsets[0])}..{int(offsets[-1])}"
        )
    if rows is not None and len(offsets) - 1 != rows:
        raise CorpusError(f"{name}: {len(offsets) - 1} rows where {rows} were expected")
    if tokens is not None and len(ids) != tokens:
        raise CorpusError(f"{name}: {len(ids)} token ids where {tokens} were expected")
    if types is not None and (types.ndim != 1 or types.dtype.kind not in "iu" or len(types) != len(offsets) - 1):
        raise CorpusError(
            f"{name}: type starts must be one integer per row ({len(offsets) - 1}), found "
            f"{types.dtype} of shape {types.shape}"
        )
    if not scan:
        return
    steps = np.diff(offsets)
    if len(steps) and int(steps.min()) < 0:
        row = int(np.argmax(steps < 0))
        raise CorpusError(f"{name}: offsets decrease at row {row} ({int(offsets[row])} -> {int(offsets[row + 1])})")
    if types is not None and len(types) and (int(types.min()) < 0 or bool(np.any(types > steps))):
        raise CorpusError(f"{name}: a type start lies outside its row")


def load_shard(
    out_dir: str, name: str, fmt: str, rows: int | None = None, tokens: int | None = None, scan: bool = True
) -> ShardArrays:
    """Shard ``name`` of ``out_dir``, memory-mapped and checked (:func:`check_arrays`)."""
    base = os.path.join(out_dir, name)
    if fmt == "parquet":
        arrays = _load_parquet(base + ".parquet")
        check_arrays(base + ".parquet", arrays, rows, tokens, scan)
        return arrays
    types = base + ".type_starts.npy"
    arrays = ShardArrays(
        _load_npy(base + ".ids.npy"),
        _load_npy(base + ".offsets.npy"),
        _load_npy(types) if os.path.exists(types) else None,
    )
    check_arrays(base + ".{ids,offsets}.npy", arrays, rows, tokens, scan)
    return arrays
