"""CPython's cyclic garbage collector paused for the length of a batch call.

A batch call allocates tens of thousands of containers that all live until it returns: one list of ids per text
from SentencePiece, the parts of texts split around added tokens, the rows. The generational collector counts
them. Every 700 it scans the young objects and promotes the survivors (most of what the call has made so far);
once enough have been promoted it runs a full collection, which scans every object the process tracks (hundreds
of thousands once transformers or torch is imported). None of those scans frees anything of the call's: the
collector frees only reference cycles, and the call makes none (what it drops, reference counting frees). In
such a process a large batch call runs a full collection every call or two, and that can take longer than the
tokenization itself: bench/tokenizer_speed.py measures the call with this pause made a no-op, and the time it
then spends in collections.

The collector is process-wide: while a call runs, no thread's cycles are collected; they are collected after it
returns. The collector is turned back on only by the call that turned it off, and never when it was off already;
a thread that turns it off while a call of another thread has it paused finds it on again once that call returns.
A process forked while a call has it paused (another thread forking a data-loader worker) gets it back on in the
child, where the pausing thread does not exist to turn it on.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator

__all__ = ["gc_paused"]

# Whether a pause of this module is in effect (the collector is off because a call turned it off).
_pausing = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Automatic garbage collection off inside the block (when it was on), back on after it, even on an error."""
    global _pausing
    if not gc.isenabled():
        yield
        return
    gc.disable()
    _pausing = True
    try:
        yield
    finally:
        _pausing = False
        gc.enable()


def _resume_in_child() -> None:
    global _pausing
    if _pausing:
        _pausing = False
        gc.enable()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_resume_in_child)
