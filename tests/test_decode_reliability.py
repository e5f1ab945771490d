"""decode/batch_decode take token ids as numpy gives them (numpy integer scalars, 1-D and 2-D arrays), as
transformers does, and decode them exactly as the same ids written as Python ints; anything else is refused
with a TypeError naming what was given."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

NUMPY_INTS = (np.int64, np.int32, np.int16, np.uint16, np.uint32, np.intp)
ids = st.lists(st.integers(0, 29999), max_size=20)
kinds = st.sampled_from(NUMPY_INTS)


@settings(max_examples=40)
@given(ids=ids, kind=kinds, skip=st.booleans())
def test_decode_takes_numpy_integers_as_ints(tokenizer, ids, kind, skip):
    expected = tokenizer.decode(ids, skip_special_tokens=skip)
    assert tokenizer.decode([kind(i) for i in ids], skip_special_tokens=skip) == expected
    assert tokenizer.decode(np.array(ids, dtype=kind), skip_special_tokens=skip) == expected
    assert tokenizer.decode(tuple(kind(i) for i in ids), skip_special_tokens=skip) == expected


@settings(max_examples=20)
@given(rows=st.lists(ids, min_size=1, max_size=4), kind=kinds)
def test_batch_decode_takes_numpy_integers_as_ints(tokenizer, rows, kind):
    expected = tokenizer.batch_decode(rows)
    assert tokenizer.batch_decode([[kind(i) for i in row] for row in rows]) == expected
    assert tokenizer.batch_decode([np.array(row, dtype=kind) for row in rows]) == expected
    width = max(map(len, rows))
    if all(len(row) == width for row in rows):
        assert tokenizer.batch_decode(np.array(rows, dtype=kind).reshape(len(rows), width)) == expected


def test_one_numpy_integer_is_one_token(tokenizer):
    assert tokenizer.decode(np.int64(4)) == tokenizer.decode(4) == tokenizer.decode([4])
    assert tokenizer.decode([np.int32(4), 5, np.uint8(6)]) == tokenizer.decode([4, 5, 6])  # mixed


@pytest.mark.parametrize(
    "bad",
    [
        [1.0, 2],
        [np.float32(3)],
        [np.float64(3.0)],
        ["5"],
        [[1, 2]],
        [None],
        [np.array([1, 2])],
        np.array([1.0, 2.0]),
        2.5,
        "5",
    ],
)
def test_ids_that_are_not_integers_are_refused(tokenizer, bad):
    with pytest.raises(TypeError, match="token ids must be"):
        tokenizer.decode(bad)


def test_ids_outside_the_vocabulary_are_refused(tokenizer):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.decode([np.int64(-1)])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.decode(np.array([len(tokenizer)]))


@pytest.mark.parametrize("bad", [5, "abc", None, np.int64(3)])
def test_batch_decode_refuses_what_is_not_a_list_of_sequences(tokenizer, bad):
    with pytest.raises(TypeError, match="batch_decode takes a list of token id sequences"):
        tokenizer.batch_decode(bad)


@settings(max_examples=30)
@given(ids=ids, kind=kinds)
def test_convert_ids_to_tokens_takes_numpy_integers_as_ints(tokenizer, ids, kind):
    """One rule for ids everywhere (vocab.as_id_list): convert_ids_to_tokens takes numpy integers as decode does."""
    assert tokenizer.convert_ids_to_tokens([kind(i) for i in ids]) == tokenizer.convert_ids_to_tokens(ids)
