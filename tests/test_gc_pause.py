"""The tokenizers' calls pause the garbage collector while they run, and leave it as they found it."""

from __future__ import annotations

import gc
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from albert_tok.api._gc_pause import gc_paused

from .strategies import texts


@pytest.fixture
def collector_restored():
    """Whatever a test does to the collector, it is on again afterwards (as pytest runs with it)."""
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_restored_after(collector_restored):
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_left_off_when_it_was_off(collector_restored):
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_restored_on_error(collector_restored):
    gc.enable()
    with pytest.raises(KeyError), gc_paused():
        raise KeyError("x")
    assert gc.isenabled()


def test_call_encodes_with_the_collector_paused(tokenizer, monkeypatch, collector_restored):
    seen: list[bool] = []
    encode = tokenizer._encode_texts

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return encode(*args, **kwargs)

    monkeypatch.setattr(tokenizer, "_encode_texts", spy)
    gc.enable()
    tokenizer(["one text", "and [MASK] another"], padding=True, return_tensors="np")
    assert seen == [False]
    assert gc.isenabled()


def test_call_that_raises_inside_the_pause_restores_the_collector(tokenizer, collector_restored):
    gc.enable()
    with pytest.raises(ValueError, match="cannot make tensors"):  # raised by batch.arrays, inside the pause
        tokenizer(["a", "a b c d"], return_tensors="np")
    assert gc.isenabled()


@given(batch=texts, enabled=st.booleans(), pair=st.booleans())
def test_call_leaves_the_collector_as_it_found_it(tokenizer, collector_restored, batch, enabled, pair):
    gc.enable() if enabled else gc.disable()
    tokenizer(batch, batch if pair else None, padding=True, truncation=True, max_length=32)
    assert gc.isenabled() is enabled


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_child_forked_during_a_pause_gets_the_collector_back(collector_restored):
    gc.enable()
    with gc_paused():
        pid = os.fork()
        if pid == 0:  # the child: exit status 0 only when its collector is on
            os._exit(0 if gc.isenabled() else 1)
        _, status = os.waitpid(pid, 0)
        assert not gc.isenabled()  # the parent's pause goes on
    assert os.waitstatus_to_exitcode(status) == 0
    assert gc.isenabled()
