"""The one padding function (albert_tok.rules.pad_batch) and its one table of fill values (PAD_VALUES): what it
guarantees for any rows, and that every padder of the project fills its padding from that table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from albert_tok.rules import PAD_VALUES, Side, pad_batch, padded_length
from albert_tok.rules._padding import Padding

FIELDS = ("input_ids", *PAD_VALUES, "word_index")  # word_index: a field outside the table (``other``)


@st.composite
def batches(draw: st.DrawFn) -> dict:
    """Rows of every field for a batch, one row per example with the length of its ``input_ids`` row, and
    the options of one pad_batch call."""
    n = draw(st.integers(0, 6))
    lengths = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    names = ["input_ids", *draw(st.lists(st.sampled_from(FIELDS[1:]), unique=True))]
    values = st.integers(-(2**40), 2**40)
    fields = {
        name: [
            draw(
                st.one_of(st.lists(values, min_size=k, max_size=k), st.lists(values, min_size=k, max_size=k).map(tuple))
            )
            for k in lengths
        ]
        for name in names
    }
    if draw(st.booleans()) and n:  # numpy rows, as pretraining and data loaders give
        fields["input_ids"] = [np.asarray(row, dtype=np.int64) for row in fields["input_ids"]]
    longest = max(lengths, default=0)
    return {
        "fields": fields,
        "pad_id": draw(st.integers(0, 30_000)),
        "max_length": draw(st.one_of(st.none(), st.integers(longest, longest + 9))),
        "pad_to_multiple_of": draw(st.one_of(st.none(), st.integers(1, 9))),
        "side": draw(st.sampled_from(list(Side))),
        "attention_mask": draw(st.booleans()),
        "other": draw(st.integers(-5, 5)),
    }


@given(batch=batches())
def test_rows_are_kept_and_padding_holds_the_fields_fill(batch):
    fields, pad_id, side = batch["fields"], batch["pad_id"], batch["side"]
    out = pad_batch(
        fields,
        pad_id,
        max_length=batch["max_length"],
        pad_to_multiple_of=batch["pad_to_multiple_of"],
        side=side,
        attention_mask=batch["attention_mask"],
        other=batch["other"],
    )
    lengths = [len(row) for row in fields["input_ids"]]
    longest = max(lengths, default=0)
    width = out["input_ids"].shape[1]
    # the width: max_length (or the longest row), rounded up to pad_to_multiple_of, and no wider
    target = longest if batch["max_length"] is None else batch["max_length"]
    multiple = batch["pad_to_multiple_of"] or 1
    assert width >= target and width % multiple == 0 and width - target < multiple
    expected = list(fields) + (["attention_mask"] if batch["attention_mask"] and "attention_mask" not in fields else [])
    assert list(out) == expected
    for name, array in out.items():
        assert array.dtype == np.int64 and array.shape == (len(lengths), width), name
        fill = pad_id if name == "input_ids" else PAD_VALUES.get(name, batch["other"])
        rows = fields.get(name) or [[1] * k for k in lengths]  # a made attention mask: 1 over each row
        for got, row in zip(array.tolist(), rows, strict=True):
            kept, padding = (
                (got[: len(row)], got[len(row) :])
                if side is Side.RIGHT
                else (got[width - len(row) :], got[: width - len(row)])
            )
            assert kept == list(row), name
            assert padding == [fill] * (width - len(row)), name


@given(batch=batches())
def test_width_is_padded_length(batch):
    fields = batch["fields"]
    longest = max((len(row) for row in fields["input_ids"]), default=0)
    strategy = Padding.LONGEST if batch["max_length"] is None else Padding.MAX_LENGTH
    out = pad_batch(
        {"input_ids": fields["input_ids"]},
        batch["pad_id"],
        max_length=batch["max_length"],
        pad_to_multiple_of=batch["pad_to_multiple_of"],
    )
    assert out["input_ids"].shape[1] == padded_length(
        longest, strategy, batch["max_length"], batch["pad_to_multiple_of"]
    )


def test_dtype_none_keeps_the_values_as_they_are():
    out = pad_batch({"input_ids": [[5, 6], [7]], "attention_mask": [[1.0, True], [1.0]]}, 0, dtype=None)
    assert out["input_ids"].dtype == np.int64 and out["attention_mask"].dtype == object
    mask = out["attention_mask"].tolist()
    assert mask == [[1.0, True], [1.0, 0]] and [type(v) for v in mask[1]] == [float, int] and mask[0][1] is True
    empty = pad_batch({"input_ids": [[], []]}, 3, max_length=2, dtype=None)["input_ids"]
    assert empty.dtype == np.int64 and empty.tolist() == [[3, 3], [3, 3]]


def test_pad_batch_errors():
    with pytest.raises(ValueError, match="needs the 'input_ids' rows"):
        pad_batch({"labels": [[1]]}, 0)
    with pytest.raises(ValueError, match="'input_ids' row 1 has 3 values, more than the 2"):
        pad_batch({"input_ids": [[1], [1, 2, 3]]}, 0, max_length=2)
    with pytest.raises(ValueError, match="'labels' row 0 has 3 values, more than the 2"):
        pad_batch({"input_ids": [[1, 2]], "labels": [[1, 2, 3]]}, 0)
    with pytest.raises(ValueError, match="'labels' has 1 rows but 'input_ids' has 2"):
        pad_batch({"input_ids": [[1], [2]], "labels": [[1]]}, 0)
    with pytest.raises(ValueError, match="no fill value for 'scores'"):
        pad_batch({"input_ids": [[1]], "scores": [[1]]}, 0)
    with pytest.raises(ValueError, match="row 0 is not a flat list of numbers"):
        pad_batch({"input_ids": [[1]], "offset_mapping": [[(0, 1)]]}, 0, other=0)


# -- every padder fills from the one table --------------------------------------------------------------------
def test_padding_collator_pads_the_special_tokens_mask_as_the_tokenizer_does():
    """PaddingCollator padded special_tokens_mask with 0 (marking padding as tokens of the text that a masker
    may pick) where tokenizer.pad() and a tokenizer call pad it with 1."""
    from albert_tok.data import PaddingCollator

    batch = PaddingCollator(pad_token_id=0, return_tensors="np")(
        [
            {"input_ids": [2, 7, 3], "special_tokens_mask": [1, 0, 1]},
            {"input_ids": [2, 3], "special_tokens_mask": [1, 1]},
        ]
    )
    assert batch["special_tokens_mask"].tolist() == [[1, 0, 1], [1, 1, PAD_VALUES["special_tokens_mask"]]]
    assert PAD_VALUES["special_tokens_mask"] == 1
