"""Which library encodes what in AlbertTokenizerFast, and that each route gives the canonical ids.

With the ``spiece.model`` at hand, calls without offsets are encoded by the SentencePiece engine the slow
tokenizer encodes with (the same ids; SentencePiece is the faster of the two libraries on them); calls with
offsets by the Rust tokenizer. The Rust route for plain ids is still what a tokenizer loaded from a
``tokenizer.json`` alone runs, and these tests keep it equal to the slow tokenizer by turning the engine route off
(the private ``_plain_ids_by_engine``, a switch for tests only: no configuration turns it off).
"""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from albert_tok import AlbertTokenizer, AlbertTokenizerFast
from albert_tok.engines import SentencePieceEngine
from tests.strategies import SPIECE, any_text, grapheme_clusters, numbers, text, texts, vocabulary_text


class _NoRust:
    """Stands in for a Rust tokenizer that must not be called."""

    def __init__(self, real):
        self.real = real

    def __getattr__(self, name):
        if name.startswith("encode"):
            raise AssertionError(f"the Rust tokenizer was called ({name})")
        return getattr(self.real, name)


@pytest.fixture(scope="module")
def rust_only():
    """A fast tokenizer whose plain-id calls take the Rust route (as one loaded from a tokenizer.json does, with
    the SentencePiece fixes of rows Rust cannot do)."""
    tok = AlbertTokenizerFast(SPIECE)
    tok._plain_ids_by_engine = False
    return tok


def test_plain_ids_never_reach_rust(fast, monkeypatch):
    monkeypatch.setattr(fast, "_tok", _NoRust(fast._tok))
    batch = ["Hello world!", "x666 and 1,000,000", "café\tline", "a [MASK] b"]
    slow = AlbertTokenizer(SPIECE)
    assert fast(batch, padding=True)["input_ids"] == slow(batch, padding=True)["input_ids"]
    assert (
        fast(batch[1], batch[2], truncation=True, max_length=8)["input_ids"]
        == slow(batch[1], batch[2], truncation=True, max_length=8)["input_ids"]
    )
    assert fast.encode(batch[0]) == slow.encode(batch[0])
    assert (
        fast(["a", "b"], is_split_into_words=True)["input_ids"]
        == slow(["a", "b"], is_split_into_words=True)["input_ids"]
    )


def test_offsets_take_the_rust_route(fast, monkeypatch):
    monkeypatch.setattr(fast, "_tok", _NoRust(fast._tok))
    with pytest.raises(AssertionError, match="Rust tokenizer was called"):
        fast("Hello world!", return_offsets_mapping=True)


def test_plain_ids_go_to_the_engine(fast, monkeypatch):
    seen = []
    real_flat, real_one = SentencePieceEngine.encode_flat, SentencePieceEngine.encode_one

    def encode_flat(engine, chunks, lowered=False):
        seen.append(("batch", len(chunks)))
        return real_flat(engine, chunks, lowered)

    def encode_one(engine, chunk):
        seen.append(("one", 1))
        return real_one(engine, chunk)

    monkeypatch.setattr(SentencePieceEngine, "encode_flat", encode_flat)
    monkeypatch.setattr(SentencePieceEngine, "encode_one", encode_one)
    fast(["one", "two", "three"], padding=True, return_tensors="np")
    fast("one text")
    assert seen == [("batch", 3), ("one", 1)]


def test_without_spiece_model_everything_is_rust(tmp_path):
    AlbertTokenizerFast(SPIECE).save_pretrained(tmp_path)
    tok = AlbertTokenizerFast(tokenizer_file=tmp_path / "tokenizer.json")
    assert tok._engine is None
    assert tok(["Hello world!"])["input_ids"] == [[2, 10975, 126, 187, 3]]
    assert tok("Hello world!")["input_ids"] == [2, 10975, 126, 187, 3]


@given(t=st.one_of(any_text, numbers, vocabulary_text, grapheme_clusters))
def test_rust_route_equals_slow_single(slow, rust_only, t):
    assert rust_only.encode(t) == slow.encode(t), repr(t)
    assert rust_only.encode(" " + t + " x") == slow.encode(" " + t + " x"), repr(t)


@given(batch=texts, pairs=st.none() | st.lists(text, min_size=6, max_size=6))
def test_rust_route_equals_slow_batch(slow, rust_only, batch, pairs):
    pairs = None if pairs is None else pairs[: len(batch)]
    kw = {"padding": True, "truncation": "longest_first", "max_length": 24, "return_special_tokens_mask": True}
    got, want = rust_only(batch, pairs, **kw), slow(batch, pairs, **kw)
    assert dict(got) == dict(want)


def _rename_hello(tok: AlbertTokenizerFast) -> None:
    """What a user may do to ``backend_tokenizer``: a normaliser step of their own (here "hello" -> "goodbye")."""
    from tokenizers import normalizers

    backend = tok.backend_tokenizer
    backend.normalizer = normalizers.Sequence([backend.normalizer, normalizers.Replace("hello", "goodbye")])


def test_a_change_to_backend_tokenizer_reaches_offset_calls_only(slow):
    # docs/tokenizers.md: with the spiece.model, calls without offsets are SentencePiece's and never see it
    tok = AlbertTokenizerFast(SPIECE)
    _rename_hello(tok)
    want = slow("Hello world")["input_ids"]
    goodbye = slow("Goodbye world")["input_ids"]
    assert want != goodbye
    assert tok("Hello world")["input_ids"] == want
    assert tok(["Hello world"])["input_ids"] == [want]
    assert tok("Hello world", return_offsets_mapping=True)["input_ids"] == goodbye
    # a pickle (and save_pretrained) is the model and the options: the change is not kept
    copy = pickle.loads(pickle.dumps(tok))
    assert copy("Hello world", return_offsets_mapping=True)["input_ids"] == want


def test_a_change_to_backend_tokenizer_of_a_tokenizer_json_reaches_every_call(slow, tmp_path):
    AlbertTokenizerFast(SPIECE).save_pretrained(tmp_path / "saved")
    tok = AlbertTokenizerFast(tokenizer_file=tmp_path / "saved" / "tokenizer.json")
    _rename_hello(tok)
    goodbye = slow("Goodbye world")["input_ids"]
    assert tok("Hello world")["input_ids"] == goodbye
    assert tok(["Hello world"])["input_ids"] == [goodbye]
    assert tok("Hello world", return_offsets_mapping=True)["input_ids"] == goodbye
    tok.save_pretrained(tmp_path / "again")
    again = AlbertTokenizerFast(tokenizer_file=tmp_path / "again" / "tokenizer.json")
    assert again("Hello world")["input_ids"] == slow("Hello world")["input_ids"]
