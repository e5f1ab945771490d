"""A batch of texts through SentencePiece as one flat array of ids and the number of ids of each text.

``SentencePieceProcessor.encode(list)`` builds a Python list of Python ints per text, which the tokenizer then
flattens into numpy: making those ints and reading them back costs a sixth of a batch call on long lines.
sentencepiece (0.2.1 and later) also hands each text's ids back as a raw int32 buffer, the buffer its
``out_type="numpy"`` wraps one array per text. :class:`FlatEncoder` joins those buffers with ``-1``, an id that
cannot occur, between them, and reads each text's length off the separators: no Python int is made per id.

That buffer entry point is private to sentencepiece's binding, so it is used only where it gives the public
call's ids on a probe batch; anywhere else (an older sentencepiece, a changed signature) the public call's lists
are flattened instead. Both give the same arrays.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import sentencepiece as spm

__all__ = ["FlatEncoder"]

_SEPARATOR = np.array([-1], dtype=np.int32).tobytes()
# Texts the buffer path must agree on with the public call before it is trusted: empty, plain, non-ASCII,
# a float32 near-tie ("aloof"), digits.
_PROBE = ["", "Hello world", " ünïcödé ½ ﬁ x666 ", "aloof", "a" * 40, ""]


class FlatEncoder:
    """``encode(texts, num_threads)`` -> ``(flat, lengths)``: every text's SentencePiece ids one after the other
    (int64) and the number of ids of each text (int64), the ids ``processor.encode(texts)`` gives."""

    def __init__(self, processor: spm.SentencePieceProcessor) -> None:
        self._processor = processor
        self._buffers = _buffer_batch(processor)
        if self._buffers is not None and not self._buffer_path_agrees():
            self._buffers = None

    @property
    def uses_buffers(self) -> bool:
        """Whether ids come from sentencepiece's int32 buffers (else from its lists of ints)."""
        return self._buffers is not None

    def __call__(self, texts: list[str], num_threads: int) -> tuple[np.ndarray, np.ndarray]:
        if not texts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if self._buffers is None:
            return self._from_lists(texts, num_threads)
        return self._from_buffers(texts, num_threads)

    def _from_lists(self, texts: list[str], num_threads: int) -> tuple[np.ndarray, np.ndarray]:
        encoded = self._processor.encode(texts, num_threads=num_threads)
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        # via int32 (every SentencePiece id fits): numpy fills it faster from Python ints
        flat = np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.int32, count=int(lengths.sum()))
        return flat.astype(np.int64), lengths

    def _from_buffers(self, texts: list[str], num_threads: int) -> tuple[np.ndarray, np.ndarray]:
        assert self._buffers is not None
        joined = np.frombuffer(_SEPARATOR.join(self._buffers(texts, num_threads)) + _SEPARATOR, dtype=np.int32)
        ids = joined >= 0
        lengths = np.diff(np.flatnonzero(~ids), prepend=-1) - 1
        return joined[ids].astype(np.int64), lengths

    def _buffer_path_agrees(self) -> bool:
        try:
            flat, lengths = self._from_buffers(_PROBE, 1)
        except (TypeError, ValueError, RuntimeError, AttributeError):
            return False
        expected = self._from_lists(_PROBE, 1)
        return np.array_equal(flat, expected[0]) and np.array_equal(lengths, expected[1])


def _buffer_batch(processor: spm.SentencePieceProcessor) -> Callable[[list[str], int], Any] | None:
    """sentencepiece's batch encode into int32 buffers, with the arguments its own ``encode`` passes when
    nothing is sampled or added; None where this sentencepiece has none."""
    method = getattr(getattr(processor, "_processor", None), "_EncodeAsBufferBatch", None)
    if method is None:
        return None

    def buffers(texts: list[str], num_threads: int) -> Any:
        # texts, num_threads, thread_pool, enable_sampling, nbest_size, alpha, add_bos, add_eos, reverse
        return method(texts, num_threads, None, False, -1, 0.1, False, False, False)

    return buffers
