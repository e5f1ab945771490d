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


SWAPPED = {"token_type_ids": 7, "attention_mask": 8, "special_tokens_mask": 9, "labels": -5}
"""A fill table no padder could have by chance: patched in for PAD_VALUES, every padder must follow it."""
PAD_ID = 31  # the pad id given to the padders that take one (not 0, which is also a fill of the table)


def padding_cells(batch, lengths, side=Side.RIGHT):
    """Field name to the set of values in the padding cells of each row (the cells past its length)."""
    out = {}
    for name, value in batch.items():
        array = np.asarray(value.tolist() if hasattr(value, "tolist") else value)
        if array.ndim != 2:
            continue
        cells = set()
        for row, n in zip(array.tolist(), lengths, strict=True):
            cells.update(row[n:] if side is Side.RIGHT else row[: len(row) - n])
        out[name] = cells
    return out


def examples():
    """Three encodings of different lengths with every field of the table and a label per token."""
    lengths = [5, 2, 3]
    return lengths, [
        {
            "input_ids": [40 + i for i in range(n)],
            "token_type_ids": [0] * 2 + [1] * (n - 2) if n > 2 else [0] * n,
            "attention_mask": [1] * n,
            "special_tokens_mask": [1] + [0] * (n - 2) + [1] if n > 1 else [1],
            "labels": [3] * n,
        }
        for n in lengths
    ]


def tokenizer_pad(side):
    from albert_tok import AlbertTokenizerFast

    from .conftest import SPIECE

    tok = AlbertTokenizerFast(SPIECE)
    lengths, features = examples()
    features = [{k: v for k, v in f.items() if k not in ("labels", "attention_mask")} for f in features]
    batch = tok.pad(features, padding_side=side.value, pad_to_multiple_of=4, return_tensors="np")
    return batch, lengths, {"input_ids": tok.pad_token_id}


def padding_collator(side):
    from albert_tok.data import PaddingCollator

    lengths, features = examples()
    features = [{k: v for k, v in f.items() if k != "attention_mask"} for f in features]
    return PaddingCollator(pad_token_id=PAD_ID, pad_to_multiple_of=8)(features), lengths, {"input_ids": PAD_ID}


def finetune_collate(side):
    from albert_model.training._finetune import collate

    lengths, features = examples()
    features = [{k: v for k, v in f.items() if k != "special_tokens_mask"} for f in features]
    return collate(features, PAD_ID), lengths, {"input_ids": PAD_ID}


def pipeline_batches(side):
    import torch

    from albert_model.pipelines._base import Pipeline

    class Tokenizer:
        pad_token_id = PAD_ID

    pipe = object.__new__(Pipeline)  # only its batching: no model is loaded
    pipe.tokenizer, pipe.device, pipe.batch_size, pipe.window = Tokenizer(), torch.device("cpu"), 8, None
    lengths, features = examples()
    rows = [{k: v for k, v in f.items() if k in ("input_ids", "token_type_ids")} for f in features]  # no mask
    seen = []
    pipe._run(rows, lambda batch: seen.append(batch) or [None] * len(batch["input_ids"]))
    (batch,) = seen
    return batch, sorted(lengths), {"input_ids": PAD_ID}  # the pipeline sorts its rows by length


def pretraining_collator(side):
    from albert_model.training._pretraining_data import PretrainingCollator

    collate = PretrainingCollator(2, 3, 4, PAD_ID, 60, pad_to_multiple_of=8, return_tensors="np")
    pairs = [([10, 11, 12], [13, 14], 0), ([20], [21], 1), ([30, 31], [32, 33, 34, 35], 0)]
    return collate(pairs), [len(a) + len(b) + 3 for a, b, _ in pairs], {"input_ids": PAD_ID}


PADDERS = [tokenizer_pad, padding_collator, finetune_collate, pipeline_batches, pretraining_collator]


@pytest.mark.parametrize("table", [dict(PAD_VALUES), SWAPPED], ids=["PAD_VALUES", "swapped"])
@pytest.mark.parametrize("padder", PADDERS, ids=lambda f: f.__name__)
def test_every_padder_fills_from_the_one_table(padder, table, monkeypatch):
    """tokenizer.pad(), PaddingCollator, fine-tuning's collate, the pipelines' batches and the pretraining
    collator pad every field with the value of albert_tok.rules.PAD_VALUES (the ids with the pad id): swapping
    the table swaps the padding of all of them, so there is no other table."""
    import albert_tok.rules._padding

    monkeypatch.setattr(albert_tok.rules._padding, "PAD_VALUES", table)
    for side in [Side.RIGHT, Side.LEFT] if padder is tokenizer_pad else [Side.RIGHT]:
        batch, lengths, fills = padder(side)
        cells = padding_cells(batch, lengths, side)
        assert {k: v for k, v in cells.items() if v}, "the batch has padding"
        for name, values in cells.items():
            expected = fills[name] if name in fills else table[name]
            assert values <= {expected}, (padder.__name__, side, name)


def test_a_tokenizer_call_pads_as_the_table():
    """A tokenizer call fills its padded arrays in one vectorised pass of its own (albert_tok.api._batch: rows
    are never made as lists there), with the values of the table."""
    from albert_tok import AlbertTokenizer, AlbertTokenizerFast

    from .conftest import SPIECE

    for cls in (AlbertTokenizer, AlbertTokenizerFast):
        tok = cls(SPIECE)
        for side in Side:
            tok.padding_side = side.value
            enc = tok(
                ["a b c d e f", "a"],
                ["g h", "i"],
                padding="max_length",
                max_length=24,
                return_special_tokens_mask=True,
                return_tensors="np",
            )
            lengths = enc["attention_mask"].sum(axis=1).tolist()
            cells = padding_cells({k: v for k, v in enc.items() if k != "attention_mask"}, lengths, side)
            assert cells.pop("input_ids") == {tok.pad_token_id}
            assert cells == {name: {PAD_VALUES[name]} for name in ("token_type_ids", "special_tokens_mask")}
            assert padding_cells({"attention_mask": enc["attention_mask"]}, lengths, side) == {
                "attention_mask": {PAD_VALUES["attention_mask"]}
            }
