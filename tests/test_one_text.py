"""The one-text path (albert_tok/api/_one_text.py) gives what the general path gives, for every argument.

Each example calls a tokenizer twice on one text (or pair): as it is, and with the one-text path switched off
(``albert_tok.api._base.one_text_call`` patched to decline), and compares the results field by field and type by
type, the token-level answers, the warnings, and the exception when one is raised.
"""

from __future__ import annotations

import pickle
import warnings
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from albert_tok import AlbertTokenizer, AlbertTokenizerFast, BatchEncoding, Preprocessing
from albert_tok.api import _base
from albert_tok.api import _one_text as one_text
from tests.strategies import SPIECE, add_test_tokens, added_token_text, any_text, ascii_text, long_text, text


def _declined(*args, **kwargs):
    return None


def _outcome(fn):
    """``fn()``'s result or exception, and the warnings it gave (category, message)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn()
        except Exception as exc:  # compared with the other path's: type and message
            result = exc
    return result, [(w.category, str(w.message)) for w in caught]


def _both(fn):
    """``fn()`` through the one-text path, and through the general path."""
    quick = _outcome(fn)
    with mock.patch.object(_base, "one_text_call", _declined):
        general = _outcome(fn)
    return quick, general


def _same_value(a, b, where):
    assert type(a) is type(b), where
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), where
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), where
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_value(x, y, f"{where}[{k}]")
    elif isinstance(a, tuple):
        assert a == b and [type(x) for x in a] == [type(y) for y in b], where
    else:
        assert a == b, where


def _same(quick, general):
    (got, got_warnings), (want, want_warnings) = quick, general
    assert got_warnings == want_warnings
    if isinstance(want, Exception):
        assert type(got) is type(want) and str(got) == str(want)
        return
    _same_value_or_encoding(got, want)


def _same_value_or_encoding(got, want):
    assert type(got) is type(want)
    if not isinstance(want, BatchEncoding):
        _same_value(got, want, "encode")
        return
    assert list(got) == list(want)
    for name in want:
        _same_value(got[name], want[name], name)
    assert got.n_sequences == want.n_sequences and got.is_fast == want.is_fast
    rows = len(want._alignment)  # one, or one per window with return_overflowing_tokens
    assert len(got._alignment) == rows
    for row in range(min(rows, 3)):
        for answer in ("tokens", "word_ids", "sequence_ids"):
            assert getattr(got, answer)(row) == getattr(want, answer)(row), answer
    width = len(got.tokens())
    for k in (0, width // 2, width - 1) if width else ():
        assert got.token_to_chars(k) == want.token_to_chars(k)
        assert got.token_to_word(k) == want.token_to_word(k)
        assert got.char_to_token(k) == want.char_to_token(k)
        assert got.word_to_tokens(k) == want.word_to_tokens(k)
    with pytest.raises(IndexError):
        got.tokens(rows)
    again = pickle.loads(pickle.dumps(got))
    assert again.tokens() == want.tokens() and list(again) == list(want)


def _tokenizers():
    made = {}
    for cls in (AlbertTokenizer, AlbertTokenizerFast):
        made[cls.__name__] = cls(SPIECE)
        # a short model_max_length (the warning without truncation), left truncation, added tokens
        made[cls.__name__ + " short, left"] = cls(SPIECE, model_max_length=12, truncation_side="left")
        made[cls.__name__ + " added"] = add_test_tokens(cls(SPIECE, keep_accents=True))
    # no spiece.model: the Rust tokenizer encodes the one text
    json_only = AlbertTokenizerFast(
        tokenizer_json=AlbertTokenizerFast(SPIECE)._model_file_contents()["tokenizer.json"].decode()
    )
    assert json_only._engine is None
    made["AlbertTokenizerFast tokenizer.json"] = json_only
    return made


TOKENIZERS = _tokenizers()

arguments = st.fixed_dictionaries(
    {},
    optional={
        "add_special_tokens": st.booleans(),
        "padding": st.sampled_from([False, True, None, "longest", "max_length", "do_not_pad", "sideways", 1]),
        "truncation": st.sampled_from(
            [None, False, True, "longest_first", "only_first", "only_second", "do_not_truncate", "middle"]
        ),
        "max_length": st.sampled_from([None, 0, 1, 2, 3, 4, 7, 16, 64, True, 2.0]),
        "pad_to_multiple_of": st.sampled_from([None, 1, 3, 8]),
        "padding_side": st.sampled_from([None, "left", "right", "up"]),
        "stride": st.sampled_from([0, 1, -1]),
        "return_tensors": st.sampled_from([None, "np", "pt", "tf"]),
        "return_token_type_ids": st.sampled_from([None, True, False]),
        "return_attention_mask": st.sampled_from([None, True, False]),
        "return_special_tokens_mask": st.booleans(),
        "return_offsets_mapping": st.booleans(),
        "return_overflowing_tokens": st.booleans(),
        "return_length": st.booleans(),
        "verbose": st.booleans(),
    },
)
one_text_input = st.one_of(text, ascii_text, any_text, added_token_text, st.just(""), st.just("a\ud800b"))
pairs = st.one_of(st.none(), one_text_input)


@given(
    name=st.sampled_from(sorted(TOKENIZERS)),
    first=one_text_input,
    second=pairs,
    kwargs=arguments,
)
def test_call_on_one_text_is_the_general_path(name, first, second, kwargs):
    tok = TOKENIZERS[name]
    _same(*_both(lambda: tok(first, second, **kwargs)))


@given(
    name=st.sampled_from(sorted(TOKENIZERS)),
    first=one_text_input,
    second=pairs,
    add_special_tokens=st.booleans(),
    kwargs=arguments,
)
def test_encode_on_one_text_is_the_general_path(name, first, second, add_special_tokens, kwargs):
    tok = TOKENIZERS[name]
    _same(*_both(lambda: tok.encode(first, second, add_special_tokens=add_special_tokens, **kwargs)))


@given(name=st.sampled_from(sorted(TOKENIZERS)), first=long_text, kwargs=arguments)
def test_long_text_is_the_general_path(name, first, kwargs):
    tok = TOKENIZERS[name]
    _same(*_both(lambda: tok(first, **kwargs)))


def test_one_text_path_is_taken(slow, fast):
    # The everyday calls go the one-text way; the general path is not entered.
    for tok in (slow, fast):
        with mock.patch.object(_base, "check_texts", side_effect=AssertionError("general path")):
            assert tok("Hello world!")["input_ids"] == [2, 10975, 126, 187, 3]
            assert tok.encode("Hello world!") == [2, 10975, 126, 187, 3]
            assert tok("Hello world!", return_tensors="np")["input_ids"].tolist() == [[2, 10975, 126, 187, 3]]
            pair = tok("Hello world!", "Yes.")["input_ids"]
            assert pair == [2, 10975, 126, 187, 3, 1643, 9, 3]
            padded = tok("Hello world!", "Yes.", padding="max_length", max_length=12, truncation=True)
            assert padded["input_ids"] == pair + [0] * 4 and padded["attention_mask"] == [1] * 8 + [0] * 4


def test_warning_names_the_caller(slow):
    short = AlbertTokenizer(SPIECE, model_max_length=4)
    with pytest.warns(UserWarning, match="longer than the specified maximum") as caught:
        short("one two three four five")
    assert caught[0].filename == __file__
    with pytest.warns(UserWarning, match="longer than the specified maximum") as caught:
        short.encode("one two three four five")
    assert caught[0].filename == __file__


def test_token_level_answers_are_those_of_the_call_time(slow):
    # The rows behind word_ids() are built on first use from what the call captured: tokens added afterwards
    # do not change the answers of an earlier call.
    tok = AlbertTokenizer(SPIECE)
    enc = tok("new_tok here")
    before = BatchEncoding(dict(enc))
    tok.add_tokens(["new_tok"])
    assert tok("new_tok here")["input_ids"] != enc["input_ids"]
    with mock.patch.object(_base, "one_text_call", _declined):
        general = AlbertTokenizer(SPIECE)("new_tok here")
    assert enc.word_ids() == general.word_ids() and enc.tokens() == general.tokens()
    assert dict(before) == dict(enc)


def test_lazy_rows_are_built_once(slow):
    enc = slow("Hello world, again!", "And a pair.")
    rows = enc._alignment.rows
    assert isinstance(rows, one_text.LazyRows) and rows._rows is None  # nothing built by the call itself
    enc.word_ids()
    built = rows._rows
    assert built is not None
    enc.char_to_token(3)
    assert rows._rows is built


@given(
    chunk=st.one_of(any_text, ascii_text, st.just("x``y'' it's"), st.just("  Two  spaces "), st.just("a\x01b")),
    switches=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    later=st.booleans(),
)
def test_apply_one_is_apply_batch_of_one(chunk, switches, later):
    p = Preprocessing(*switches)
    assert p.apply_one(chunk, spaces_collapsed_later=later) == p.apply_batch([chunk], spaces_collapsed_later=later)[0]


@given(chunk=st.one_of(any_text, ascii_text, st.just("in 2010, 1,000 and 7,")))
def test_engine_encode_one_is_encode_flat_of_one(chunk):
    for tok in (TOKENIZERS["AlbertTokenizer"], TOKENIZERS["AlbertTokenizer added"]):
        engine = tok._engine
        flat, lengths = engine.encode_flat([chunk])
        assert engine.encode_one(chunk) == flat.tolist() and lengths.tolist() == [len(flat)]
