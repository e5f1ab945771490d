"""Tokenizing a corpus too big for memory into shards a trainer can memory-map, resumably.

Row ``i`` is line ``i`` of the inputs taken as one stream (lines split on ``\\n``, empty lines
included), or with ``pair_sentences`` lines ``2i`` and ``2i + 1`` as ``[CLS] A [SEP] B [SEP]``.
Shard ``k`` holds lines ``k * shard_lines`` onwards (files: :mod:`albert_tok.data._shards`). The work
is cut into chunks of about ``chunk_bytes`` across ``workers`` processes, at most ``2 * workers``
chunks in flight, and a line far longer than ``max_length`` can use is cut before tokenizing
(:mod:`albert_tok.data._encode`), so memory stays bounded whatever the input.

Rerunning into the same ``out_dir`` resumes: a shard is kept only when its record names the same
tokenizer (sha256 of its model and options), the same settings, and the same content (sha256 of the
bytes the shard covers, :mod:`albert_tok.data._sources`); a shard whose lines changed is tokenized again,
shards past the new end are deleted, and ``manifest.json`` (removed when the run starts) is written
last. A grown file therefore keeps its unchanged shards and redoes the rest; another file redoes
everything; other settings or another tokenizer are refused (use a new directory). Standard input
(``-``) is verified the same way, by content. Temporary files left by a killed run are deleted, and
a lock keeps two runs out of one directory. Worker processes are forked on Linux (they share the loaded
tokenizer; spawned elsewhere) and exit by themselves when the run is killed.
"""

from __future__ import annotations

import collections
import fcntl
import hashlib
import multiprocessing
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from albert_tok.data._encode import EncodedChunk, encode_chunk, encode_in_worker, init_worker
from albert_tok.data._errors import CorpusError
from albert_tok.data._shards import (
    FORMAT_VERSION,
    MANIFEST,
    is_shard_file,
    load_shard,
    read_json,
    shard_name,
    write_json,
    write_shard,
)
from albert_tok.data._sources import STDIN, Input, ShardSource, open_inputs, plan_shards
from albert_tok.io import atomic
from albert_tok.rules import Preprocessing

__all__ = ["CHUNK_BYTES", "CorpusSettings", "tokenize_corpus", "tokenizer_hash", "vocabulary_hash"]

LOCK = ".tokenize-corpus.lock"
"""Held (``flock``) by the run writing the directory; the empty file stays."""

CHUNK_BYTES = 1 << 20
"""Text per worker task: large enough to amortise a call, small enough to balance two workers."""


@dataclass(frozen=True)
class CorpusSettings:
    """The settings of one :func:`tokenize_corpus` run, validated; recorded in every shard's record and in
    the manifest, so a rerun with other settings is refused instead of mixing shards.

    Args:
        max_length: The most tokens in a row, special tokens included: each line (or pair) is truncated to
            it. An int of at least 3 (``[CLS] A [SEP]`` with one token); 512 by default.
        pair_sentences: If True, lines ``2i`` and ``2i + 1`` make row ``i`` as ``[CLS] A [SEP] B [SEP]``
            (an odd last line is paired with an empty one); False (the default) makes one row per line.
        shard_lines: How many input lines a shard holds (the last shard may hold fewer); a positive int,
            even with ``pair_sentences`` so that no pair is split across shards. 50,000 by default.
        errors: What invalid UTF-8 in an input does: ``"strict"`` (the default) stops the run with a
            :class:`CorpusError` naming the file and byte offset; ``"replace"`` reads it as U+FFFD.
        format: How shards are stored: ``"npy"`` (the default; memory-mapped ``.npy`` arrays) or
            ``"parquet"`` (one Parquet file per shard; needs pyarrow).

    Raises:
        ValueError: a setting is outside the values above (the message names it and what is accepted).
    """

    max_length: int = 512
    pair_sentences: bool = False
    shard_lines: int = 50_000
    errors: str = "strict"
    format: str = "npy"

    def __post_init__(self) -> None:
        if self.format not in ("npy", "parquet"):
            raise ValueError(f"format={self.format!r}; accepted: 'npy' (memory-mapped) or 'parquet' (needs pyarrow)")
        if not isinstance(self.max_length, int) or self.max_length < 3:
            raise ValueError(f"max_length must be an int >= 3, got {self.max_length!r}")
        if (
            not isinstance(self.shard_lines, int)
            or self.shard_lines < 1
            or (self.pair_sentences and self.shard_lines % 2)
        ):
            raise ValueError(f"shard_lines must be a positive int (even with pair_sentences), got {self.shard_lines!r}")
        if self.errors not in ("strict", "replace"):
            raise ValueError(f"errors={self.errors!r}; accepted: 'strict' (stop at bad UTF-8) or 'replace'")

    def identity(self) -> dict[str, Any]:
        """The settings a shard's ids depend on (``errors`` only decides whether bad bytes stop the run).

        Returns:
            A new dict of ``max_length``, ``pair_sentences``, ``shard_lines`` and ``format``: what a kept
            shard's record must match.
        """
        return {
            "max_length": self.max_length,
            "pair_sentences": self.pair_sentences,
            "shard_lines": self.shard_lines,
            "format": self.format,
        }


def _switches(tokenizer: Any) -> tuple[bool, bool, bool]:
    options: Preprocessing = tokenizer.preprocessing
    return (options.do_lower_case, options.remove_space, options.keep_accents)


def vocabulary_hash(tokenizer: Any) -> str:
    """sha256 of the vocabulary (pieces in id order) and the preprocessing switches.

    Added tokens and special tokens are not part of it; :func:`tokenizer_hash` covers those.

    Args:
        tokenizer: An :class:`~albert_tok.AlbertTokenizer` or :class:`~albert_tok.AlbertTokenizerFast` (any
            object with ``vocab_size``, ``convert_ids_to_tokens`` and ``preprocessing``).

    Returns:
        The digest as 64 lower-case hex characters.
    """
    h = hashlib.sha256()
    for piece in tokenizer.convert_ids_to_tokens(list(range(tokenizer.vocab_size))):
        h.update(piece.encode("utf-8") + b"\0")
    h.update(repr(_switches(tokenizer)).encode())
    return h.hexdigest()


def tokenizer_hash(tokenizer: Any) -> str:
    """sha256 of what decides the ids: the SentencePiece model bytes when the tokenizer has them (else
    its vocabulary), the preprocessing switches and the special tokens.

    A resumed run keeps a shard only when this digest is the one its record holds.

    Args:
        tokenizer: An :class:`~albert_tok.AlbertTokenizer` or :class:`~albert_tok.AlbertTokenizerFast`;
            ``model_bytes`` is read when present (a fast tokenizer loaded without ``spiece.model`` has none,
            and its vocabulary is hashed with :func:`vocabulary_hash` instead).

    Returns:
        The digest as 64 lower-case hex characters.
    """
    h = hashlib.sha256()
    model = getattr(tokenizer, "model_bytes", None)
    h.update(b"spiece\0" + model if model else b"vocabulary\0" + vocabulary_hash(tokenizer).encode())
    h.update(repr((_switches(tokenizer), list(tokenizer.all_special_tokens))).encode())
    return h.hexdigest()


def _differences(found: dict[str, Any], wanted: dict[str, Any]) -> str:
    keys = sorted(set(found) | set(wanted))
    return "; ".join(
        f"{k}: {found.get(k)!r} there, {wanted.get(k)!r} now" for k in keys if found.get(k) != wanted.get(k)
    )


class _OutputDir:
    """The output directory during a run: locked, cleared of a killed run's temporary files and of the
    manifest, and the keeper of shard records."""

    def __init__(self, path: str, identity: dict[str, Any], settings: CorpusSettings) -> None:
        self.path, self.identity, self.settings = path, identity, settings
        try:
            os.makedirs(path, exist_ok=True)
            self.lock_fd = os.open(os.path.join(path, LOCK), os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise CorpusError(f"cannot write to output directory {path!r}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.lock_fd)
            raise CorpusError(
                f"{path!r} is being written by another tokenize-corpus run; wait for it to end or use another directory"
            ) from None
        try:
            self._check_records()
            for entry in os.scandir(path):
                if atomic.is_file_temporary(entry.name) and entry.is_file():  # left by a killed run's atomic writes
                    os.unlink(entry.path)
            if os.path.exists(os.path.join(path, MANIFEST)):
                os.unlink(os.path.join(path, MANIFEST))  # the directory is complete again only at the end
        except BaseException:
            self.close()
            raise

    def _check_records(self) -> None:
        """Refuse before touching anything when the directory holds shards of other settings."""
        for entry in os.scandir(self.path):
            if entry.name.endswith(".json") and is_shard_file(entry.name) is not None:
                try:
                    found = read_json(entry.path).get("identity")
                except CorpusError:
                    continue  # unreadable: that shard is simply redone
                if found != self.identity:
                    what = _differences(found if isinstance(found, dict) else {}, self.identity)
                    raise CorpusError(
                        f"{self.path!r} holds shards made with other settings or another tokenizer "
                        f"({entry.name}: {what}); use a new output directory"
                    )

    def _record_path(self, index: int) -> str:
        return os.path.join(self.path, shard_name(index) + ".json")

    def reusable(self, shard: ShardSource) -> dict[str, Any] | None:
        """The record of a complete shard made from exactly these bytes, else None."""
        path = self._record_path(shard.index)
        if not os.path.isfile(path):
            return None
        try:
            record = read_json(path)
            source = record["source"]
            if source["sha256"] != shard.sha256 or source["lines"] != shard.lines:
                return None
            load_shard(
                self.path, shard_name(shard.index), self.settings.format, record["rows"], record["tokens"], scan=False
            )
        except (CorpusError, KeyError, TypeError):
            return None
        return record

    def discard(self, index: int) -> None:
        """Shard ``index`` is about to be rewritten: it stops counting as complete first."""
        if os.path.exists(self._record_path(index)):
            os.unlink(self._record_path(index))

    def write(self, shard: ShardSource, inputs: Sequence[Input], parts: list[EncodedChunk]) -> dict[str, Any]:
        ids = np.concatenate([p.ids for p in parts])
        offsets = np.zeros(sum(len(p.lengths) for p in parts) + 1, dtype=np.int64)
        np.cumsum(np.concatenate([p.lengths for p in parts]), out=offsets[1:])
        types = None if parts[0].type_starts is None else np.concatenate([p.type_starts for p in parts])  # type: ignore[misc, unused-ignore]
        write_shard(self.path, shard.index, self.settings.format, ids, offsets, types)
        record = {
            "identity": self.identity,
            "source": shard.describe(inputs),
            "rows": len(offsets) - 1,
            "tokens": int(offsets[-1]),
            "dtype": str(ids.dtype),
        }
        write_json(self._record_path(shard.index), record)  # last: only now does the shard count as complete
        return record

    def remove_shards_from(self, count: int) -> None:
        """Delete the files of shards ``count`` and up, left by an earlier run over a longer input."""
        for entry in os.scandir(self.path):
            index = is_shard_file(entry.name)
            if index is not None and index >= count:
                os.unlink(entry.path)

    def close(self) -> None:
        os.close(self.lock_fd)  # releases the lock


class _Done:
    """A result computed in this process, with the ``get`` of a pool's ``AsyncResult``."""

    def __init__(self, value: EncodedChunk) -> None:
        self.value = value

    def get(self) -> EncodedChunk:
        return self.value


def _start_method() -> str:
    """``fork`` where it is safe (Linux, no other thread running): workers inherit the loaded tokenizer
    and skip importing numpy, SentencePiece and the tokenizer code and loading the model again, which a
    spawned worker does before its first chunk. Elsewhere ``spawn``."""
    return "fork" if sys.platform.startswith("linux") and threading.active_count() == 1 else "spawn"


class _Workers:
    """Runs chunk jobs in this process (one worker) or in a pool of ``workers`` processes."""

    def __init__(self, tokenizer: Any, workers: int, lock_fd: int) -> None:
        self.tokenizer = tokenizer
        self._pool: Any = None
        if workers > 1:
            method = _start_method()
            inherited = lock_fd if method == "fork" else None  # spawn passes on no descriptor
            self._pool = multiprocessing.get_context(method).Pool(
                workers, initializer=init_worker, initargs=(tokenizer, os.getpid(), inherited)
            )

    def submit(self, job: tuple[Any, ...]) -> Any:
        if self._pool is None:
            return _Done(encode_chunk(self.tokenizer, *job))
        return self._pool.apply_async(encode_in_worker, (job,))

    def close(self, ok: bool) -> None:
        if self._pool is not None:
            if ok:
                self._pool.close()
            else:
                self._pool.terminate()
            self._pool.join()


def _jobs(
    plan: Iterator[ShardSource], out: _OutputDir, inputs: Sequence[Input], settings: CorpusSettings, dtype: Any
) -> Iterator[tuple[ShardSource, dict[str, Any] | None, tuple[Any, ...] | None]]:
    """Per shard: ``(shard, record, None)`` when it is kept, else ``(shard, None, job)`` per chunk. A
    chunk's bytes are read here, before the plan moves on (standard input keeps one shard)."""
    for shard in plan:
        record = out.reusable(shard)
        if record is not None:
            yield shard, record, None
            continue
        out.discard(shard.index)
        for chunk in shard.chunks:
            parts = [
                (inputs[s.source].path, s.start, inputs[s.source].read(s.start, s.end, s.crc)) for s in chunk.segments
            ]
            yield shard, None, (parts, settings.max_length, settings.pair_sentences, settings.errors, dtype)


def _in_order(
    jobs: Iterator[tuple[ShardSource, dict[str, Any] | None, tuple[Any, ...] | None]], workers: _Workers, window: int
) -> Iterator[tuple[ShardSource, dict[str, Any] | None, EncodedChunk | None, int]]:
    """``(shard, record, encoded chunk, bytes)`` in input order, at most ``window`` chunks in flight."""
    pending: collections.deque[tuple[ShardSource, dict[str, Any] | None, Any, int]] = collections.deque()
    for shard, record, job in jobs:
        if job is None:
            pending.append((shard, record, None, shard.nbytes))
        else:
            pending.append((shard, None, workers.submit(job), sum(len(p[2]) for p in job[0])))
        while len(pending) > window or (pending and pending[0][2] is None):
            shard, record, result, nbytes = pending.popleft()
            yield shard, record, None if result is None else result.get(), nbytes
    while pending:
        shard, record, result, nbytes = pending.popleft()
        yield shard, record, None if result is None else result.get(), nbytes


def _progress(enabled: bool, total: int | None) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    # disable=None: on a terminal only, so logs and error output stay free of bar redraws
    return tqdm(total=total, unit="B", unit_scale=True, desc="tokenize-corpus", file=sys.stderr, disable=None)


def tokenize_corpus(
    inputs: Sequence[str],
    out_dir: str | os.PathLike[str],
    tokenizer: Any,
    *,
    max_length: int = 512,
    pair_sentences: bool = False,
    workers: int | None = None,
    shard_lines: int = 50_000,
    errors: str = "strict",
    format: str = "npy",
    progress: bool = True,
    chunk_bytes: int = CHUNK_BYTES,
) -> dict[str, Any]:
    """Tokenize ``inputs`` (paths, ``-`` for standard input) into shards under ``out_dir``; return the
    manifest. ``workers`` defaults to ``min(2, CPUs)``; ``chunk_bytes`` changes how work is split, never
    the output. See the module docstring.

    Rerunning into the same ``out_dir`` resumes: shards whose bytes, settings and tokenizer are unchanged
    are kept, the others are tokenized again, and shards past a shorter input are deleted.
    :class:`ShardedCorpus` reads the result.

    Args:
        inputs: Paths of UTF-8 text files, read one after the other as one stream of lines (split on
            ``\\n``; carriage returns at a line's end are dropped; empty lines are rows too); ``"-"`` (at
            most once) reads standard input. A list or tuple, not a single path.
        out_dir: The directory to write (created if missing). Besides the shards and the manifest, the run
            keeps an empty lock file there and deletes temporary files a killed run left; other files are
            left alone.
        tokenizer: A loaded :class:`~albert_tok.AlbertTokenizer` or :class:`~albert_tok.AlbertTokenizerFast`
            (:func:`load_tokenizer` loads one from a directory). Worker processes get a copy.
        max_length: The most tokens in a row, special tokens included; longer rows are truncated. An int
            of at least 3; 512 by default.
        pair_sentences: If True, lines ``2i`` and ``2i + 1`` make row ``i`` (``[CLS] A [SEP] B [SEP]``,
            with ``token_type_ids`` stored); False (the default) makes one row per line.
        workers: How many processes tokenize: a positive int, 1 for this process alone, or None (the
            default) for ``min(2, CPUs)``. An input known to fit one chunk is done in this process anyway.
        shard_lines: Input lines per shard; a positive int, even with ``pair_sentences``. 50,000 by default.
        errors: ``"strict"`` (the default) stops at invalid UTF-8; ``"replace"`` reads it as U+FFFD.
        format: ``"npy"`` (the default; memory-mapped arrays) or ``"parquet"`` (needs pyarrow).
        progress: If True (the default), a byte progress bar on standard error when it is a terminal;
            False shows none.
        chunk_bytes: About how many input bytes one worker task tokenizes (whole lines, and whole pairs);
            a positive int, :data:`CHUNK_BYTES` (1 MiB) by default. It changes the speed and memory of a
            run, never the output.

    Returns:
        The manifest, as written to ``out_dir/manifest.json``: ``format`` (the layout version),
        ``tokenizer_sha256`` and ``vocabulary_sha256``, ``settings``, ``inputs`` (each input's path, bytes,
        sha256, size and mtime), ``dtype`` of the ids (``uint16`` or ``int32``), the counts ``shards``,
        ``rows`` and ``tokens``, and per shard its ``files`` name, ``shard_rows`` and ``shard_tokens``.

    Raises:
        TypeError: ``inputs`` is a single path (a str, bytes or path object) instead of a list.
        ValueError: ``max_length``, ``shard_lines``, ``errors``, ``format``, ``workers`` or ``chunk_bytes``
            is outside the values above.
        CorpusError: (a ValueError) ``format="parquet"`` without pyarrow; no input, ``"-"`` twice, an input
            that is missing or unreadable or that changes while it is read; invalid UTF-8 with
            ``errors="strict"``; ``out_dir`` cannot be written, another run holds its lock, or it holds
            shards made with other settings or another tokenizer.
        OSError: writing a shard or the manifest fails (a full disk, for one).

    Example:
        >>> from albert_tok import AlbertTokenizer
        >>> from albert_tok.data import ShardedCorpus, tokenize_corpus
        >>> tokenizer = AlbertTokenizer("fixtures/spiece.model")
        >>> manifest = tokenize_corpus(["corpus.txt"], "shards", tokenizer, max_length=128, progress=False)
        >>> manifest["rows"] == len(ShardedCorpus("shards"))  # one row per line of corpus.txt
        True
    """
    settings = CorpusSettings(
        max_length=max_length, pair_sentences=pair_sentences, shard_lines=shard_lines, errors=errors, format=format
    )
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be a positive int or None (min(2, CPUs)), got {workers!r}")
    if not isinstance(chunk_bytes, int) or chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be a positive int, got {chunk_bytes!r}")
    if isinstance(inputs, (str, bytes, os.PathLike)):
        raise TypeError(f"inputs must be a list of paths, got one path {inputs!r}: pass [{inputs!r}]")
    if format == "parquet":
        try:
            import pyarrow  # noqa: F401 -- imported only to check that it is installed, before any work
        except ImportError:
            raise CorpusError("--format parquet needs pyarrow: pip install pyarrow (or use --format npy)") from None
    paths = [os.fspath(p) for p in inputs]
    opened = open_inputs(paths)
    try:
        return _tokenize(opened, os.fspath(out_dir), tokenizer, settings, workers, progress, chunk_bytes)
    finally:
        for inp in opened:
            inp.close()


def _tokenize(
    inputs: list[Input],
    out_dir: str,
    tokenizer: Any,
    settings: CorpusSettings,
    workers: int | None,
    progress: bool,
    chunk_bytes: int,
) -> dict[str, Any]:
    identity = {"version": FORMAT_VERSION, "tokenizer_sha256": tokenizer_hash(tokenizer), **settings.identity()}
    out = _OutputDir(out_dir, identity, settings)
    known = None if any(inp.path == STDIN for inp in inputs) else sum(inp.size or 0 for inp in inputs)
    count = workers if workers is not None else min(2, os.cpu_count() or 1)
    if known is not None and known <= chunk_bytes:
        count = 1  # one chunk: starting processes would cost more than it saves
    dtype = np.uint16 if tokenizer.vocab_size <= 65536 else np.int32
    records: list[dict[str, Any]] = []
    parts: list[EncodedChunk] = []
    pool, bar, ok = None, None, False
    try:
        pool = _Workers(tokenizer, count, out.lock_fd)  # before the progress bar: its thread would rule out fork
        bar = _progress(progress, known)
        plan = plan_shards(inputs, settings.shard_lines, chunk_bytes, settings.pair_sentences)
        for shard, record, encoded, nbytes in _in_order(_jobs(plan, out, inputs, settings, dtype), pool, 2 * count):
            if encoded is not None:
                parts.append(encoded)
                if len(parts) == len(shard.chunks):
                    record, parts = out.write(shard, inputs, parts), []
            if record is not None:
                records.append(record)
            if bar is not None:
                bar.update(nbytes)
        out.remove_shards_from(len(records))
        manifest = {
            "format": FORMAT_VERSION,
            "tokenizer_sha256": identity["tokenizer_sha256"],
            "vocabulary_sha256": vocabulary_hash(tokenizer),
            "settings": asdict(settings),
            "inputs": [inp.describe() for inp in inputs],
            "dtype": np.dtype(dtype).name,
            "shards": len(records),
            "rows": sum(r["rows"] for r in records),
            "tokens": sum(r["tokens"] for r in records),
            "files": [shard_name(i) for i in range(len(records))],
            "shard_rows": [r["rows"] for r in records],
            "shard_tokens": [r["tokens"] for r in records],
        }
        write_json(os.path.join(out_dir, MANIFEST), manifest)
        ok = True
        return manifest
    finally:
        if pool is not None:
            pool.close(ok)
        if bar is not None:
            bar.close()
        out.close()
