"""Tokenizing one chunk of corpus text: bytes in, flat numpy ids and row lengths out.

This runs in the worker processes of :func:`albert_tok.data._corpus.tokenize_corpus` (or in the calling
process with one worker). A line far longer than ``max_length`` tokens can use is cut, at a space,
before it is tokenized: only its first ``max_length`` tokens survive truncation, and tokenizing a 5 MB
line whole would take hundreds of MB. The cut keeps the ids exact: ALBERT's pieces never cross a space,
and the cut is taken only when its text still gives more than ``max_length`` tokens (else the whole
line is tokenized).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from albert_tok.api import SPIECE, AlbertTokenizer, AlbertTokenizerFast
from albert_tok.data._errors import CorpusError
from albert_tok.io import resolve_directory

__all__ = [
    "CHARS_PER_TOKEN",
    "EncodedChunk",
    "decode_lines",
    "encode_chunk",
    "encode_lines",
    "load_tokenizer",
    "shorten_long_lines",
]

CHARS_PER_TOKEN = 20
"""A line longer than ``max_length * CHARS_PER_TOKEN`` characters is cut at the next space (ALBERT's
pieces are at most 16 characters, and whitespace runs collapse, so the cut text has ample tokens)."""


@dataclass(frozen=True)
class EncodedChunk:
    """Rows of one chunk: ``ids`` concatenated, ``lengths`` per row, and for pairs where segment B starts."""

    ids: np.ndarray
    lengths: np.ndarray
    type_starts: np.ndarray | None


def load_tokenizer(directory: str | os.PathLike[str]) -> AlbertTokenizer | AlbertTokenizerFast:
    """The tokenizer a directory allows, without offsets in mind: :class:`AlbertTokenizer` when it has
    ``spiece.model`` (the fast class would encode ids without offsets on the same SentencePiece engine, so
    nothing is gained by building its Rust pipeline too), else :class:`AlbertTokenizerFast` from
    ``tokenizer.json``. Both give the canonical ids.

    Args:
        directory: A tokenizer directory, as ``save_pretrained`` writes it (``spiece.model`` and/or
            ``tokenizer.json``, with ``tokenizer_config.json`` and ``special_tokens_map.json``), or a Hugging
            Face repo id, resolved in the standard cache (see :func:`albert_tok.io.resolve_directory`).

    Returns:
        The loaded tokenizer, with the directory's options (preprocessing switches, special and added
        tokens, ``model_max_length``).

    Raises:
        FileNotFoundError: ``directory`` does not exist (and is not a repo id), or holds neither
            ``spiece.model`` nor ``tokenizer.json``.
        OSError: a repo id that is not in the cache while downloads are off, or that the hub does not have.
        ValueError: a file of the directory cannot be honoured (malformed JSON, an unknown key, another
            tokenizer's files, added tokens that disagree); the message names the file.
        NotARegularFileError: (an OSError) a directory, device or FIFO stands in place of a tokenizer file.
    """
    path = resolve_directory(directory, what="tokenizer")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"tokenizer directory {path!r} does not exist")
    if os.path.isfile(os.path.join(path, SPIECE)):
        return AlbertTokenizer.from_pretrained(path)
    return AlbertTokenizerFast.from_pretrained(path)


def decode_lines(parts: Sequence[tuple[str, int, bytes]], errors: str) -> list[str]:
    """Lines of ``(input name, byte offset, bytes)`` parts, each a run of whole lines; a trailing ``\\r``
    is dropped, an empty line is a line."""
    lines: list[str] = []
    for name, offset, data in parts:
        try:
            text = data.decode("utf-8", errors=errors)
        except UnicodeDecodeError as exc:
            raise CorpusError(
                f"{name}: invalid UTF-8 at byte offset {offset + exc.start}; fix the file or pass --errors replace"
            ) from None
        rows = text.split("\n")
        if text.endswith("\n"):
            rows.pop()
        lines += [row.rstrip("\r") for row in rows] if "\r" in text else rows
    return lines


def shorten_long_lines(tokenizer: Any, lines: list[str], max_length: int) -> list[str]:
    """``lines`` with each very long line cut at a space, where the cut keeps more than ``max_length``
    tokens (so truncation to ``max_length`` gives the same ids)."""
    limit = max_length * CHARS_PER_TOKEN
    if not lines or max(map(len, lines)) <= limit:  # the common case, checked without a Python loop
        return lines
    cuts = {}
    for i in [i for i, line in enumerate(lines) if len(line) > limit]:
        end = lines[i].find(" ", limit)
        if end > 0:
            cuts[i] = lines[i][:end]
    if not cuts:
        return lines
    probe = tokenizer(
        list(cuts.values()),
        add_special_tokens=False,
        truncation=True,
        max_length=max_length + 1,
        return_attention_mask=False,
        return_token_type_ids=False,
    )["input_ids"]
    out = list(lines)
    for (i, cut), ids in zip(cuts.items(), probe, strict=False):
        if len(ids) > max_length:
            out[i] = cut
    return out


def _flat(rows: list[list[int]], dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter(map(len, rows), dtype=np.int32, count=len(rows))
    ids = np.fromiter(itertools.chain.from_iterable(rows), dtype=dtype, count=int(lengths.sum()))
    return ids, lengths


def encode_lines(tokenizer: Any, lines: list[str], max_length: int, pair_sentences: bool, dtype: Any) -> EncodedChunk:
    """``[CLS] line [SEP]`` per line, or ``[CLS] A [SEP] B [SEP]`` per two lines, truncated to ``max_length``."""
    if not pair_sentences:
        enc = tokenizer(
            lines, truncation=True, max_length=max_length, return_attention_mask=False, return_token_type_ids=False
        )
        return EncodedChunk(*_flat(enc["input_ids"], dtype), None)
    firsts, seconds = lines[0::2], lines[1::2]
    if len(seconds) < len(firsts):
        seconds.append("")
    enc = tokenizer(firsts, seconds, truncation=True, max_length=max_length, return_attention_mask=False)
    ids, lengths = _flat(enc["input_ids"], dtype)
    type_starts = lengths - np.fromiter(map(sum, enc["token_type_ids"]), dtype=np.int32, count=len(lengths))
    return EncodedChunk(ids, lengths, type_starts)


def encode_chunk(
    tokenizer: Any,
    parts: Sequence[tuple[str, int, bytes]],
    max_length: int,
    pair_sentences: bool,
    errors: str,
    dtype: Any,
) -> EncodedChunk:
    """Decode, shorten and encode one chunk (see the module docstring)."""
    lines = shorten_long_lines(tokenizer, decode_lines(parts, errors), max_length)
    return encode_lines(tokenizer, lines, max_length, pair_sentences, dtype)


_WORKER_TOKENIZER: Any = None  # set once per worker process by init_worker


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)  # the parent is gone (killed): nobody will read our results


def init_worker(tokenizer: Any, parent: int | None = None, inherited_fd: int | None = None) -> None:
    """Worker set-up: keep the tokenizer, close a descriptor inherited through fork (the output
    directory's lock, which must die with the parent), and exit when the parent ``parent`` does."""
    global _WORKER_TOKENIZER
    _WORKER_TOKENIZER = tokenizer
    if inherited_fd is not None:
        os.close(inherited_fd)
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def encode_in_worker(job: tuple[Any, ...]) -> EncodedChunk:
    """:func:`encode_chunk` with the tokenizer :func:`init_worker` kept in this worker process."""
    return encode_chunk(_WORKER_TOKENIZER, *job)
