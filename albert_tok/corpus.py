"""Tokenizing a corpus too big for memory into shards a trainer can memory-map, resumably.

Input lines are streamed (one row per line, empty lines included, so row ``i`` is line ``i``) (files, or ``-`` for standard input) and cut into shards of ``shard_lines``
lines; shard ``k`` always holds the same lines, so a rerun skips the shards already complete and
tokenizes the rest. Worker processes tokenize whole shards; at most ``2 * workers`` shards are in
flight, so memory stays bounded. Each shard is written as ``shard-KKKKK.ids.npy`` (token ids,
``uint16`` when the vocabulary fits, else ``int32``, all rows concatenated) and ``shard-KKKKK.offsets.npy``
(row boundaries) — or, with ``format="parquet"``, one ``shard-KKKKK.parquet`` — each to a temporary name, synced and renamed; its small ``shard-KKKKK.json`` record is
written last, and only a shard with its record counts as complete. ``manifest.json`` (counts, vocabulary
hash, settings) is written after every shard is done.

:class:`ShardedCorpus` reads the result back with memory mapping; it is a map-style dataset a torch
``DataLoader`` accepts as it is.
"""

from __future__ import annotations

import collections
import hashlib
import io
import json
import multiprocessing
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO, Iterator, Sequence

import numpy as np

from .files import _write_file

__all__ = ["CorpusError", "CorpusSettings", "tokenize_corpus", "ShardedCorpus", "vocabulary_hash"]

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class CorpusError(ValueError):
    """A corpus input or output problem, with the file (and byte offset) it concerns."""


@dataclass(frozen=True)
class CorpusSettings:
    max_length: int = 512
    pair_sentences: bool = False
    shard_lines: int = 50_000
    errors: str = "strict"
    format: str = "npy"

    def __post_init__(self) -> None:
        if self.format not in ("npy", "parquet"):
            raise ValueError(f"format={self.format!r}; accepted: 'npy' (memory-mapped) or 'parquet' (needs pyarrow)")
        if self.max_length < 3:
            raise ValueError(f"max_length must be >= 3, got {self.max_length}")
        if self.shard_lines < 1 or (self.pair_sentences and self.shard_lines % 2):
            raise ValueError(f"shard_lines must be a positive (even, with pair_sentences) int, got {self.shard_lines}")
        if self.errors not in ("strict", "replace"):
            raise ValueError(f"errors={self.errors!r}; accepted: 'strict' (stop at bad UTF-8) or 'replace'")


def vocabulary_hash(tokenizer: Any) -> str:
    """sha256 of the vocabulary (pieces in id order) and the preprocessing switches."""
    h = hashlib.sha256()
    for piece in tokenizer.convert_ids_to_tokens(list(range(tokenizer.vocab_size))):
        h.update(piece.encode("utf-8") + b"\0")
    h.update(repr((tokenizer.do_lower_case, tokenizer.remove_space, tokenizer.keep_accents)).encode())
    return h.hexdigest()


def _open(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    if not os.path.isfile(path):
        raise CorpusError(f"input {path!r} does not exist or is not a file")
    return open(path, "rb")


def _lines(paths: Sequence[str], errors: str) -> Iterator[tuple[str, int]]:
    """(line, bytes read) over every input, decoding strictly with the file and byte offset on error."""
    for path in paths:
        fh = _open(path)
        offset = 0
        try:
            for raw in fh:
                try:
                    line = raw.decode("utf-8", errors=errors)
                except UnicodeDecodeError as exc:
                    raise CorpusError(f"{path}: invalid UTF-8 at byte offset {offset + exc.start}; fix the file "
                                      f"or pass --errors replace") from None
                offset += len(raw)
                yield line.rstrip("\r\n"), len(raw)
        finally:
            if fh is not sys.stdin.buffer:
                fh.close()


def _blocks(paths: Sequence[str], settings: CorpusSettings) -> Iterator[tuple[int, list[str], int]]:
    block: list[str] = []
    size = 0
    index = 0
    for line, nbytes in _lines(paths, settings.errors):
        block.append(line)
        size += nbytes
        if len(block) == settings.shard_lines:
            yield index, block, size
            index, block, size = index + 1, [], 0
    if block:
        yield index, block, size


_WORKER_TOKENIZER: Any = None


def _init_worker(tokenizer: Any) -> None:
    global _WORKER_TOKENIZER
    _WORKER_TOKENIZER = tokenizer


def _tokenize_block(args: tuple[int, list[str], CorpusSettings]) -> tuple[int, np.ndarray, np.ndarray, np.ndarray | None]:
    index, lines, settings = args
    tok = _WORKER_TOKENIZER
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if settings.pair_sentences:
            firsts, seconds = lines[0::2], lines[1::2]
            if len(seconds) < len(firsts):
                seconds.append("")
            enc = tok(firsts, seconds, truncation=True, max_length=settings.max_length, return_attention_mask=False)
        else:
            enc = tok(lines, truncation=True, max_length=settings.max_length, return_attention_mask=False)
    rows = enc["input_ids"]
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    dtype = np.uint16 if tok.vocab_size <= 65536 else np.int32
    ids = np.fromiter((t for r in rows for t in r), dtype=dtype, count=int(offsets[-1]))
    type_starts = None
    if settings.pair_sentences:  # where segment B starts in each row
        type_starts = np.fromiter((r.index(1) if 1 in r else len(r) for r in enc["token_type_ids"]),
                                  dtype=np.int32, count=len(rows))
    return index, ids, offsets, type_starts


def _save_npy(path: str, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array)
    _write_file(path, buffer.getvalue())


def _save_parquet(path: str, ids: np.ndarray, offsets: np.ndarray, type_starts: np.ndarray | None) -> None:
    """One row per text: ``input_ids`` (list<int32>) and, for pairs, ``type_start``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    column = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(ids.astype(np.int32)))
    table = {"input_ids": column}
    if type_starts is not None:
        table["type_start"] = pa.array(type_starts)
    buffer = io.BytesIO()
    pq.write_table(pa.table(table), buffer)
    _write_file(path, buffer.getvalue())


def _save_json(path: str, data: dict[str, Any]) -> None:
    _write_file(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def _shard_name(index: int) -> str:
    return f"shard-{index:05d}"


def _complete(out_dir: str, index: int, identity: dict[str, Any]) -> dict[str, Any] | None:
    record = os.path.join(out_dir, _shard_name(index) + ".json")
    if not os.path.isfile(record):
        return None
    with open(record, encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("identity") != identity:
        raise CorpusError(f"{out_dir!r} holds shards made with other settings or another vocabulary "
                          f"({record}); use a new --out directory")
    return data


def tokenize_corpus(inputs: Sequence[str], out_dir: str, tokenizer: Any, *, max_length: int = 512,
                    pair_sentences: bool = False, workers: int | None = None, shard_lines: int = 50_000,
                    errors: str = "strict", format: str = "npy", progress: bool = True) -> dict[str, Any]:
    """Tokenize ``inputs`` into shards under ``out_dir``; return the manifest. See the module docstring."""
    settings = CorpusSettings(max_length=max_length, pair_sentences=pair_sentences, shard_lines=shard_lines,
                              errors=errors, format=format)
    if format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise CorpusError("--format parquet needs pyarrow: pip install pyarrow (or use --format npy)") from None
    if not inputs:
        raise CorpusError("no input files given")
    for path in inputs:
        if path != "-" and not os.path.isfile(path):
            raise CorpusError(f"input {path!r} does not exist or is not a file")
    try:
        os.makedirs(out_dir, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out_dir, prefix=".probe-")
        probe.close()
    except OSError as exc:
        raise CorpusError(f"cannot write to output directory {out_dir!r}: {exc.strerror or exc}") from None
    workers = max(1, workers if workers is not None else min(2, os.cpu_count() or 1))
    identity = {"format": FORMAT_VERSION, "vocabulary_sha256": vocabulary_hash(tokenizer),
                **asdict(settings), "errors": None}
    total_bytes = sum(os.path.getsize(p) for p in inputs if p != "-") or None
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=total_bytes, unit="B", unit_scale=True, desc="tokenize-corpus", file=sys.stderr)
        except ImportError:  # progress is optional
            bar = None
    shards: dict[int, dict[str, Any]] = {}

    def todo() -> Iterator[tuple[int, list[str], CorpusSettings]]:
        for index, block, size in _blocks(inputs, settings):
            done = _complete(out_dir, index, identity)
            if done is not None:
                shards[index] = done
                if bar is not None:
                    bar.update(size)
                continue
            sizes[index] = size
            yield index, block, settings

    sizes: dict[int, int] = {}

    def store(index: int, ids: np.ndarray, offsets: np.ndarray, type_starts: np.ndarray | None) -> None:
        base = os.path.join(out_dir, _shard_name(index))
        if settings.format == "parquet":
            _save_parquet(base + ".parquet", ids, offsets, type_starts)
        else:
            _save_npy(base + ".ids.npy", ids)
            _save_npy(base + ".offsets.npy", offsets)
            if type_starts is not None:
                _save_npy(base + ".type_starts.npy", type_starts)
        record = {"identity": identity, "rows": int(len(offsets) - 1), "tokens": int(offsets[-1]),
                  "dtype": str(ids.dtype)}
        _save_json(base + ".json", record)  # last: only now does the shard count as complete
        shards[index] = record
        if bar is not None:
            bar.update(sizes.pop(index, 0))
            bar.set_postfix(shards=len(shards))

    if workers == 1:
        _init_worker(tokenizer)
        for job in todo():
            store(*_tokenize_block(job))
    else:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(tokenizer,)) as pool:
            pending: collections.deque[Any] = collections.deque()
            for job in todo():  # at most 2 * workers shards in flight: memory stays bounded
                pending.append(pool.apply_async(_tokenize_block, (job,)))
                if len(pending) >= 2 * workers:
                    store(*pending.popleft().get())
            while pending:
                store(*pending.popleft().get())
    if bar is not None:
        bar.close()
    ordered = [shards[i] for i in sorted(shards)]
    manifest = {"format": FORMAT_VERSION, "vocabulary_sha256": identity["vocabulary_sha256"],
                "settings": {**asdict(settings)}, "inputs": list(inputs), "shards": len(ordered),
                "rows": sum(s["rows"] for s in ordered), "tokens": sum(s["tokens"] for s in ordered),
                "files": [_shard_name(i) for i in sorted(shards)]}
    _save_json(os.path.join(out_dir, MANIFEST), manifest)
    return manifest


class ShardedCorpus:
    """Memory-mapped rows of a :func:`tokenize_corpus` output: ``corpus[i]`` is a dict with
    ``input_ids`` (int64 array) and, for pairs, ``token_type_ids``."""

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.out_dir = os.fspath(out_dir)
        path = os.path.join(self.out_dir, MANIFEST)
        if not os.path.isfile(path):
            raise CorpusError(f"{self.out_dir!r} has no {MANIFEST}: the corpus is incomplete or not a corpus")
        with open(path, encoding="utf-8") as fh:
            self.manifest = json.load(fh)
        self._ids, self._offsets, self._types = [], [], []
        parquet = self.manifest["settings"].get("format") == "parquet"
        for name in self.manifest["files"]:
            base = os.path.join(self.out_dir, name)
            if parquet:  # memory-mapped Arrow buffers, viewed as numpy without copying
                import pyarrow.parquet as pq

                table = pq.read_table(base + ".parquet", memory_map=True)
                column = table.column("input_ids").combine_chunks()
                self._ids.append(column.values.to_numpy())
                self._offsets.append(column.offsets.to_numpy())
                self._types.append(table.column("type_start").to_numpy() if "type_start" in table.column_names
                                   else None)
                continue
            self._ids.append(np.load(base + ".ids.npy", mmap_mode="r"))
            self._offsets.append(np.load(base + ".offsets.npy", mmap_mode="r"))
            types = base + ".type_starts.npy"
            self._types.append(np.load(types, mmap_mode="r") if os.path.exists(types) else None)
        self._starts = np.cumsum([0] + [len(o) - 1 for o in self._offsets])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"row {i} is outside the corpus (0..{len(self) - 1})")
        i %= len(self)
        shard = int(np.searchsorted(self._starts, i, side="right")) - 1
        row = i - int(self._starts[shard])
        lo, hi = int(self._offsets[shard][row]), int(self._offsets[shard][row + 1])
        out = {"input_ids": np.asarray(self._ids[shard][lo:hi], dtype=np.int64)}
        if self._types[shard] is not None:
            types = np.zeros(hi - lo, dtype=np.int64)
            types[int(self._types[shard][row]):] = 1
            out["token_type_ids"] = types
        return out
