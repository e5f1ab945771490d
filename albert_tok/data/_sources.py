"""Reading corpus inputs as whole lines, cut into shards and work chunks, with the hashes that name them.

The inputs are read as one stream of lines (split on ``\\n`` only). A shard is ``shard_lines`` of them
(the last one may be shorter); a shard is split into chunks of about ``chunk_bytes`` for the worker
processes. Both cuts fall on line ends, so a chunk never splits a line (a line longer than
``chunk_bytes`` is a chunk of its own) and, with sentence pairs, never splits a pair.

Each shard carries the sha256 of the bytes it covers, with the length of each input's part (so moving
a line break from one file to the next changes it): that digest, not a file's name, size or time, says
whether a shard written before still holds these lines. Files are read twice: once here to cut and
hash, and again (:meth:`Input.read`, from the page cache) for the chunks that have to be tokenized, so
memory holds a chunk at a time, never a shard. Standard input cannot be read twice: the current
shard's bytes wait in an unnamed temporary file.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from albert_tok.data._errors import CorpusError

__all__ = ["STDIN", "Chunk", "Input", "Segment", "ShardSource", "open_inputs", "plan_shards"]

STDIN = "-"


class Input:
    """One input, a file or ``-`` (standard input), read in order by :func:`plan_shards` and re-read
    by position for tokenizing."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sha256 = hashlib.sha256()
        self.nbytes = 0
        self._spool: BinaryIO | None = None
        self._spool_start = 0
        if path == STDIN:
            self.name = STDIN
            self.size: int | None = None
            self.mtime_ns: int | None = None
            self.stream: BinaryIO = sys.stdin.buffer
            self._spool = tempfile.TemporaryFile(prefix="albert-stdin-")  # noqa: SIM115 - closed by close()
            return
        self.name = os.path.abspath(path)
        if not os.path.isfile(path):
            raise CorpusError(f"input {path!r} does not exist or is not a file")
        try:
            self.stream = open(path, "rb")  # noqa: SIM115 - open for the run, closed by close()
        except OSError as exc:
            raise CorpusError(f"cannot read input {path!r}: {exc.strerror or exc}") from None
        stat = os.fstat(self.stream.fileno())
        self.size, self.mtime_ns = stat.st_size, stat.st_mtime_ns

    def keep(self, start: int, data: bytes) -> None:
        """Remember bytes ``start:start+len(data)`` just read from the stream (hash; spool for stdin)."""
        self.sha256.update(data)
        self.nbytes += len(data)
        if self._spool is not None:
            self._spool.seek(start - self._spool_start)
            self._spool.write(data)

    def forget_before(self, start: int) -> None:
        """Bytes before ``start`` will not be read again: standard input's spool starts over there."""
        if self._spool is not None:
            self._spool.seek(0)
            self._spool.truncate()
            self._spool_start = start

    def read(self, start: int, end: int, crc: int) -> bytes:
        """Bytes ``start:end`` again, checked against the CRC-32 they had when the shard was planned."""
        if self._spool is not None:
            self._spool.seek(start - self._spool_start)
            data = self._spool.read(end - start)
        else:
            data = os.pread(self.stream.fileno(), end - start, start)
        if len(data) != end - start or zlib.crc32(data) != crc:
            raise CorpusError(
                f"input {self.path!r} changed while it was being read (bytes {start}..{end}); "
                f"rerun when it is no longer being written"
            )
        return data

    def describe(self) -> dict[str, Any]:
        """What this input was, for the manifest."""
        return {
            "path": self.name,
            "bytes": self.nbytes,
            "sha256": self.sha256.hexdigest(),
            "size": self.size,
            "mtime_ns": self.mtime_ns,
        }

    def close(self) -> None:
        """Close the file (standard input stays open) and drop standard input's spool."""
        if self.stream is not sys.stdin.buffer:
            self.stream.close()
        if self._spool is not None:
            self._spool.close()


def open_inputs(paths: Sequence[str]) -> list[Input]:
    """Open every input up front, so a missing file is reported before any work is done."""
    if not paths:
        raise CorpusError("no input files given")
    if sum(p == STDIN for p in paths) > 1:
        raise CorpusError("standard input ('-') can be given only once")
    opened: list[Input] = []
    try:
        for path in paths:
            opened.append(Input(os.fspath(path)))
    except BaseException:
        for inp in opened:
            inp.close()
        raise
    return opened


@dataclass(frozen=True)
class Segment:
    """Bytes ``start:end`` of input number ``source``: whole lines of one input."""

    source: int
    start: int
    end: int
    crc: int = 0


@dataclass(frozen=True)
class Chunk:
    """The unit of work of one worker call: whole lines, possibly across inputs."""

    segments: tuple[Segment, ...]
    lines: int

    @property
    def nbytes(self) -> int:
        """How many input bytes the chunk covers."""
        return sum(s.end - s.start for s in self.segments)


@dataclass(frozen=True)
class ShardSource:
    """What shard ``index`` is made from: its chunks, line count, byte count and content digest."""

    index: int
    chunks: tuple[Chunk, ...]
    lines: int
    nbytes: int
    sha256: str
    parts: tuple[Segment, ...]  # one per input the shard touches

    def describe(self, inputs: Sequence[Input]) -> dict[str, Any]:
        """The record of the shard's source: digest, counts and each input's byte range."""
        return {
            "sha256": self.sha256,
            "lines": self.lines,
            "bytes": self.nbytes,
            "inputs": [
                {
                    "path": inputs[p.source].name,
                    "start": p.start,
                    "end": p.end,
                    "size": inputs[p.source].size,
                    "mtime_ns": inputs[p.source].mtime_ns,
                }
                for p in self.parts
            ],
        }


class _LineReader:
    """Whole lines from a binary stream, in pieces bounded in lines and (but for one long line) bytes."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._buf = bytearray()
        self._eof = False
        self.offset = 0  # stream position of the first byte not yet returned

    def read(self, max_lines: int, max_bytes: int) -> bytes:
        """The next piece: at most ``max_lines`` lines, at most ``max_bytes`` unless its one line is
        longer; ``b""`` at the end of the stream."""
        while (cut := self._cut(max_lines, max_bytes)) is None:
            block = self._stream.read(max(max_bytes, len(self._buf)))  # doubling: a long line costs O(n log n)
            if block:
                self._buf += block
            else:
                self._eof = True
        piece = bytes(self._buf[:cut])
        del self._buf[:cut]
        self.offset += cut
        return piece

    def _cut(self, max_lines: int, max_bytes: int) -> int | None:
        buf, window = self._buf, min(len(self._buf), max_bytes)
        newlines = buf.count(b"\n", 0, window)
        if newlines >= max_lines:
            end = -1
            for _ in range(max_lines):
                end = buf.find(b"\n", end + 1)
            return end + 1
        if not self._eof and len(buf) < max_bytes:
            return None  # the window is not full yet
        if self._eof and len(buf) <= max_bytes:
            return len(buf)  # the rest fits (its last line may lack a newline)
        if newlines:
            return buf.rfind(b"\n", 0, window) + 1
        end = buf.find(b"\n", window)  # a single line longer than max_bytes
        if end >= 0:
            return end + 1
        return len(buf) if self._eof else None


def count_lines(piece: bytes) -> int:
    """The lines in ``piece``, a last line without ``\\n`` included (``b""`` counts as one)."""
    return piece.count(b"\n") + (not piece.endswith(b"\n"))


@dataclass
class _Builder:
    """The shard being planned: finished chunks, the open chunk, and the digest of its parts."""

    index: int
    chunks: list[Chunk] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)  # of the open chunk
    chunk_lines: int = 0
    chunk_bytes: int = 0
    lines: int = 0
    parts: list[Segment] = field(default_factory=list)
    part_hashes: list[Any] = field(default_factory=list)

    def add(self, source: int, start: int, piece: bytes, lines: int) -> None:
        end = start + len(piece)
        self.segments.append(Segment(source, start, end, zlib.crc32(piece)))
        if self.parts and self.parts[-1].source == source:
            self.parts[-1] = Segment(source, self.parts[-1].start, end)
        else:
            self.parts.append(Segment(source, start, end))
            self.part_hashes.append(hashlib.sha256())
        self.part_hashes[-1].update(piece)
        self.chunk_lines += lines
        self.chunk_bytes += len(piece)
        self.lines += lines

    def close_chunk(self) -> None:
        if self.segments:
            self.chunks.append(Chunk(tuple(self.segments), self.chunk_lines))
        self.segments, self.chunk_lines, self.chunk_bytes = [], 0, 0

    def finish(self) -> ShardSource:
        self.close_chunk()
        digest = hashlib.sha256()
        for part, h in zip(self.parts, self.part_hashes, strict=False):
            digest.update(f"{part.end - part.start}:".encode() + h.digest())
        return ShardSource(
            self.index,
            tuple(self.chunks),
            self.lines,
            sum(c.nbytes for c in self.chunks),
            digest.hexdigest(),
            tuple(self.parts),
        )


def plan_shards(
    inputs: Sequence[Input], shard_lines: int, chunk_bytes: int, pairs: bool = False
) -> Iterator[ShardSource]:
    """Cut the inputs into shards of ``shard_lines`` lines and chunks of about ``chunk_bytes``.

    The caller must read (:meth:`Input.read`) the chunks of a shard before asking for the next one:
    standard input keeps only the current shard's bytes.
    """
    if shard_lines < 1 or chunk_bytes < 1:
        raise ValueError(f"shard_lines and chunk_bytes must be positive, got {shard_lines} and {chunk_bytes}")
    shard = _Builder(0)
    for source, inp in enumerate(inputs):
        reader = _LineReader(inp.stream)
        while True:
            if shard.lines == shard_lines:
                yield shard.finish()
                inp.forget_before(reader.offset)
                shard = _Builder(shard.index + 1)
            odd_pair = pairs and shard.chunk_lines % 2 == 1
            room = 1 if odd_pair and shard.chunk_bytes >= chunk_bytes else max(1, chunk_bytes - shard.chunk_bytes)
            start = reader.offset
            piece = reader.read(shard_lines - shard.lines, room)
            if not piece:
                break
            inp.keep(start, piece)
            shard.add(source, start, piece, count_lines(piece))
            if shard.chunk_bytes >= chunk_bytes and not (pairs and shard.chunk_lines % 2):
                shard.close_chunk()
    if shard.lines:
        yield shard.finish()
