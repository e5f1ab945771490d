"""transformers-compatible API: pad() under transformers' data collators, encode_plus/batch_encode_plus,
is_split_into_words, overflowing windows, padding/truncation sides and BatchEncoding's token-level methods.

transformers' slow AlbertTokenizer is the reference for ids; its fast tokenizer for the shapes it alone
returns (overflow_to_sample_mapping, word_ids, char_to_token...), compared only where its ids are canonical.
"""

from __future__ import annotations

import itertools
import pickle
import warnings

import numpy as np
import pytest
import torch
import transformers
from hypothesis import given
from hypothesis import strategies as st

from albert_tok import AlbertTokenizer, AlbertTokenizerFast, BatchEncoding, CharSpan, TokenSpan
from albert_tok.rules._padding import Side, windows

from .conftest import SPIECE
from .strategies import text, vocabulary_text

CLASSES = [AlbertTokenizer, AlbertTokenizerFast]
LONG = "one two three four five six seven eight nine ten"
WORDS = ["Hello world, it's 1,000 x", "a [MASK] b", "plain  words here", "x"]


@pytest.fixture(scope="module")
def hf_slow():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return transformers.AlbertTokenizer(str(SPIECE))


@pytest.fixture(scope="module")
def hf_fast():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return transformers.AlbertTokenizerFast(vocab_file=str(SPIECE))


@pytest.fixture(params=CLASSES, ids=["slow", "fast"])
def tok(request):
    """A fresh tokenizer per test: tests change padding_side."""
    return request.param(SPIECE)


def assert_same_batch(ours, theirs):
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        mine = ours[key]
        if isinstance(value, torch.Tensor):
            assert isinstance(mine, torch.Tensor) and mine.dtype == value.dtype, key
            assert torch.equal(mine, value), key
        elif isinstance(value, np.ndarray):
            assert isinstance(mine, np.ndarray) and mine.dtype == value.dtype and mine.shape == value.shape, key
            assert [np.asarray(x).tolist() for x in mine] == [np.asarray(x).tolist() for x in value], key
        else:
            assert mine == value, key


def features(ref, extra):
    enc = ref(WORDS, return_special_tokens_mask=True)
    return [{**{k: enc[k][i] for k in enc}, **extra(i, len(enc["input_ids"][i]))} for i in range(len(WORDS))]


# -- pad() under transformers' own data collators ------------------------------------------------------
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("options", [{}, {"pad_to_multiple_of": 8}, {"padding": "max_length", "max_length": 20}])
def test_collators_give_transformers_batches(tok, hf_slow, side, options):
    from transformers import DataCollatorForTokenClassification, DataCollatorWithPadding

    tok.padding_side = hf_slow.padding_side = side
    try:

        def labelled():
            return features(hf_slow, lambda i, n: {"label": i % 2, "score": 0.5 * i})

        assert_same_batch(
            DataCollatorWithPadding(tok, **options)(labelled()), DataCollatorWithPadding(hf_slow, **options)(labelled())
        )

        def tagged():
            return features(hf_slow, lambda i, n: {"labels": list(range(n))})

        assert_same_batch(
            DataCollatorForTokenClassification(tok, **options)(tagged()),
            DataCollatorForTokenClassification(hf_slow, **options)(tagged()),
        )
    finally:
        hf_slow.padding_side = "right"


@pytest.mark.parametrize("with_mask", [True, False])
def test_mlm_collator_gives_transformers_batches(tok, hf_slow, with_mask):
    from transformers import DataCollatorForLanguageModeling

    def examples():
        out = features(hf_slow, lambda i, n: {})
        return out if with_mask else [{k: v for k, v in e.items() if k != "special_tokens_mask"} for e in out]

    torch.manual_seed(0)
    ours = DataCollatorForLanguageModeling(tok, mlm=True, pad_to_multiple_of=4)(examples())
    torch.manual_seed(0)
    theirs = DataCollatorForLanguageModeling(hf_slow, mlm=True, pad_to_multiple_of=4)(examples())
    assert_same_batch(ours, theirs)


def test_pad_inputs_like_transformers(tok, hf_slow):
    cases = [
        lambda: features(hf_slow, lambda i, n: {"labels": [7] * n}),  # other keys are left alone
        lambda: [hf_slow(w) for w in WORDS],  # BatchEncodings
        lambda: {"input_ids": [[2, 5, 3], [2, 3]], "token_type_ids": [[0, 0, 0], [0, 0]]},  # a dict of lists
        lambda: {"input_ids": [torch.tensor([2, 5, 3]), torch.tensor([2, 3])]},  # tensors make tensors
        lambda: {"input_ids": [np.array([2, 5, 3]), np.array([2, 3])]},
        lambda: {"input_ids": [2, 5, 3]},  # one encoding
    ]
    for k, make in enumerate(cases):
        for kw in (
            {},
            {"return_tensors": "pt"},
            {"return_tensors": "np"},
            {"padding": "max_length", "max_length": 9},
            {"padding": False},
            {"return_attention_mask": False},
            {"pad_to_multiple_of": 4},
            {"padding_side": "left"},
        ):
            if k == 0 and "return_tensors" in kw:
                continue  # ragged labels cannot become tensors (transformers' collators pad them)
            try:
                theirs = hf_slow.pad(make(), **kw)
            except ValueError:  # unpadded tensors of different lengths: both refuse
                with pytest.raises(ValueError, match="cannot make a tensor of 'input_ids'"):
                    tok.pad(make(), **kw)
                continue
            assert_same_batch(tok.pad(make(), **kw), theirs)


def test_pad_errors(tok):
    with pytest.raises(ValueError, match="needs 'input_ids'"):
        tok.pad([{"attention_mask": [1]}])
    with pytest.raises(ValueError, match="cannot make a tensor of 'labels'"):
        tok.pad([{"input_ids": [1, 2], "labels": [1]}, {"input_ids": [1], "labels": [1, 2, 3]}], return_tensors="pt")
    with pytest.raises(ValueError, match=r"encoded_inputs\[1\] has no \['token_type_ids'\]"):
        tok.pad([{"input_ids": [1], "token_type_ids": [0]}, {"input_ids": [1]}])
    with pytest.raises(ValueError, match="padding_side='up' is not supported"):
        tok.pad([{"input_ids": [1]}], padding_side="up")
    with pytest.raises(TypeError, match="must be a dict/BatchEncoding or a list of them"):
        tok.pad("input_ids")
    empty = tok.pad({"input_ids": []}, return_attention_mask=True)
    assert empty == {"input_ids": [], "attention_mask": []}


def test_attributes_collators_touch(tok):
    assert tok.model_input_names == ["input_ids", "token_type_ids", "attention_mask"]
    assert tok.pad_token_type_id == 0 and tok.deprecation_warnings == {}
    assert tok.is_fast is (type(tok) is AlbertTokenizerFast)
    assert tok.mask_token == "[MASK]" and tok.convert_tokens_to_ids(tok.mask_token) == 4 and len(tok) == 30000


# -- encode_plus, batch_encode_plus, is_split_into_words -------------------------------------------------
def test_encode_plus_and_batch_encode_plus(tok, hf_slow):
    for a, b in (("a b c", None), ("a b c", "d e")):
        assert tok.encode_plus(a, b, return_special_tokens_mask=True) == hf_slow.encode_plus(
            a, b, return_special_tokens_mask=True
        )
    batch = [("a b", "c"), ("d", "e f g")]
    assert tok.batch_encode_plus(batch, padding=True) == hf_slow.batch_encode_plus(batch, padding=True)
    assert tok.batch_encode_plus(WORDS) == tok(WORDS)
    with pytest.raises(TypeError, match="encode_plus takes one text"):
        tok.encode_plus(["a", "b"])
    with pytest.raises(ValueError, match="mixes single texts and pairs"):
        tok.batch_encode_plus(["a", ("b", "c")])


@pytest.mark.parametrize(
    "words", [["Hello", "wor[MASK]ld", "ab,c"], ["", " a  b ", "x"], ["1,000", "[MASK]", "é"], ["Paris", "is", "nice"]]
)
def test_split_into_words_equals_transformers_slow(tok, hf_slow, words):
    ours = tok(words, is_split_into_words=True)
    assert ours["input_ids"] == hf_slow(words, is_split_into_words=True)["input_ids"]
    assert tok.encode(words, is_split_into_words=True) == ours["input_ids"]
    pieces = [tok.encode(w, add_special_tokens=False) for w in words]
    assert ours.word_ids() == [None, *[i for i, p in enumerate(pieces) for _ in p], None]
    batch = tok([words, ["z"]], [["q"], ["r", "s"]], is_split_into_words=True)
    assert batch["input_ids"] == hf_slow([words, ["z"]], [["q"], ["r", "s"]], is_split_into_words=True)["input_ids"]
    # "s" alone is two pieces ("▁", "s"); word indices count from 0 again in the second sequence
    assert batch.tokens(1) == ["[CLS]", "▁z", "[SEP]", "▁r", "▁", "s", "[SEP]"]
    assert batch.word_ids(1) == [None, 0, None, 0, 1, 1, None]
    assert batch.sequence_ids(1) == [None, 0, None, 1, 1, 1, None]


def test_split_into_words_offsets_are_per_word(tok):
    enc = tok(["Hello", "wonderful", "world"], is_split_into_words=True, return_offsets_mapping=True)
    for (start, end), word, token in zip(enc["offset_mapping"], enc.word_ids(), enc.tokens(), strict=False):
        if word is not None:
            assert token.lstrip("▁").startswith(["hello", "wonderful", "world"][word][start:end].lower()[:1])
    with pytest.raises(ValueError, match="non-empty list of words"):
        tok([], is_split_into_words=True)
    with pytest.raises(TypeError, match=r"text\[1\] must be a list of words"):
        tok([["a"], "b"], is_split_into_words=True)


# -- overflowing windows, as transformers' fast tokenizer cuts them ------------------------------------------
OVERFLOW_CASES = [
    ((LONG,), {"truncation": True, "max_length": 6, "stride": 2}),
    (([LONG, "a b"],), {"truncation": True, "max_length": 6, "stride": 2, "return_length": True}),
    ((["q x", "q"], [LONG, "a b"]), {"truncation": "only_second", "max_length": 8, "stride": 2, "padding": True}),
    (("q x", LONG), {"truncation": "only_second", "max_length": 8, "stride": 1, "return_offsets_mapping": True}),
    ((LONG, "q x"), {"truncation": "only_first", "max_length": 8, "stride": 1, "return_special_tokens_mask": True}),
    (([LONG, "q x"],), {"truncation": True, "max_length": 7, "stride": 3, "padding": True, "return_tensors": "np"}),
    (([LONG],), {"truncation": True, "max_length": 6, "stride": 0}),
]


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("case", range(len(OVERFLOW_CASES)))
def test_overflow_equals_transformers_fast(tok, hf_fast, side, case):
    args, options = OVERFLOW_CASES[case]
    tok.truncation_side = hf_fast.truncation_side = side
    try:
        ours = tok(*args, return_overflowing_tokens=True, **options)
        theirs = hf_fast(*args, return_overflowing_tokens=True, **options)
    finally:
        hf_fast.truncation_side = "right"
    assert set(ours) == set(theirs)
    for key in theirs:
        mine, other = ours[key], theirs[key]
        if isinstance(other, np.ndarray):
            mine, other = mine.tolist(), other.tolist()
        if key == "offset_mapping":
            mine, other = [[tuple(p) for p in row] for row in mine], [[tuple(p) for p in row] for row in other]
        assert mine == other, key
    for row in range(len(theirs["input_ids"])):
        assert ours.word_ids(row) == theirs.word_ids(row)
        assert ours.sequence_ids(row) == theirs.sequence_ids(row)
        assert ours.tokens(row) == theirs.tokens(row)


def test_overflow_errors(tok):
    with pytest.raises(ValueError, match="needs truncation='only_first' or 'only_second'"):
        tok("a b c", LONG, truncation=True, max_length=6, return_overflowing_tokens=True)
    with pytest.raises(ValueError, match="stride=4 must be smaller than the window"):
        tok(LONG, truncation=True, max_length=6, stride=4, return_overflowing_tokens=True)
    with pytest.raises(ValueError, match="only_second' needs a text_pair"):
        tok(LONG, truncation="only_second", max_length=6, return_overflowing_tokens=True)
    with pytest.raises(ValueError, match="already fill max_length=6"):
        tok("q x y", LONG, truncation="only_second", max_length=6, return_overflowing_tokens=True)
    with pytest.raises(ValueError, match="stride must be an int >= 0"):
        tok(LONG, stride=-1)


@given(length=st.integers(0, 60), size=st.integers(1, 12), data=st.data())
def test_windows_cover_the_sequence_with_stride_overlap(length, size, data):
    stride = data.draw(st.integers(0, size - 1))
    side = data.draw(st.sampled_from([Side.RIGHT, Side.LEFT]))
    parts = windows(length, size, stride, side)
    ordered = sorted(parts)
    assert ordered[0][0] == 0 and ordered[-1][1] == length
    assert all(stop - start <= size for start, stop in parts)
    for (_, a1), (b0, b1) in itertools.pairwise(ordered):
        assert b0 <= a1 and b1 > a1  # no gap, always progress
        if side is Side.RIGHT:
            assert a1 - b0 == stride  # each window repeats the last `stride` tokens of the one before
    assert parts == (ordered if side is Side.RIGHT else ordered[::-1])


# -- padding and truncation sides ----------------------------------------------------------------------
def test_sides_from_every_source(tmp_path, hf_slow):
    for cls in CLASSES:
        tok = cls(SPIECE, padding_side="left", truncation_side="left")
        assert tok(["a", "b c d"], padding=True)["input_ids"][0][:2] == [0, 0]
        tok.save_pretrained(tmp_path / cls.__name__)
        loaded = cls.from_pretrained(tmp_path / cls.__name__)
        assert (loaded.padding_side, loaded.truncation_side) == ("left", "left")
        assert cls.from_pretrained(tmp_path / cls.__name__, padding_side="right").padding_side == "right"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = transformers.AlbertTokenizer.from_pretrained(str(tmp_path / cls.__name__))
        assert (theirs.padding_side, theirs.truncation_side) == ("left", "left")  # keys transformers reads
        assert (
            tok(LONG, truncation=True, max_length=5)["input_ids"]
            == theirs(LONG, truncation=True, max_length=5)["input_ids"]
        )
        with pytest.raises(ValueError, match="padding_side='middle' is not supported; accepted: 'right', 'left'"):
            cls(SPIECE, padding_side="middle")
        with pytest.raises(ValueError, match="truncation_side='up' is not supported"):
            tok.truncation_side = "up"
        with pytest.raises(ValueError, match="padding_side='up'"):
            tok(["a"], padding=True, padding_side="up")


@pytest.mark.parametrize("side", ["right", "left"])
@given(batch=st.lists(text, min_size=1, max_size=4), pairs=st.booleans(), data=st.data())
def test_sides_equal_transformers_slow(hf_slow, slow, side, batch, pairs, data):
    second = data.draw(st.lists(text, min_size=len(batch), max_size=len(batch))) if pairs else None
    options = {
        "padding": data.draw(st.sampled_from([True, "max_length"])),
        "truncation": True,
        "max_length": data.draw(st.integers(3, 20)),
        "return_special_tokens_mask": True,
        "return_length": True,
    }
    slow.padding_side = slow.truncation_side = hf_slow.padding_side = hf_slow.truncation_side = side
    try:
        ours, theirs = slow(batch, second, **options), hf_slow(batch, second, **options)
    finally:
        slow.padding_side = slow.truncation_side = hf_slow.padding_side = hf_slow.truncation_side = "right"
    assert dict(ours) == dict(theirs)


# -- BatchEncoding's token-level methods ---------------------------------------------------------------------
MAPPINGS = ("token_to_word", "token_to_chars", "token_to_sequence")


def overlapping(theirs, row: int) -> bool:
    """Whether transformers' fast tokenizer gave two tokens of row ``row`` the same characters (a ``▁`` of its
    own spans the character of the token after it): our offsets never overlap (:mod:`albert_tok.rules._offsets`),
    so character mappings differ there by design."""
    spans = [theirs.token_to_chars(row, k) for k in range(len(theirs["input_ids"][row]))]
    seqs = theirs.sequence_ids(row)
    return any(
        a is not None and b is not None and s == t and b.start < a.end
        for a, b, s, t in zip(spans, spans[1:], seqs, seqs[1:], strict=False)
    )


def compare_alignment(ours: BatchEncoding, theirs, n_chars: int) -> None:
    assert ours.n_sequences == theirs.n_sequences
    for row in range(len(theirs["input_ids"])):
        assert ours.word_ids(row) == theirs.word_ids(row)
        assert ours.sequence_ids(row) == theirs.sequence_ids(row)
        chars = not overlapping(theirs, row)
        for k in range(len(theirs["input_ids"][row])):
            for name in MAPPINGS if chars else ("token_to_word", "token_to_sequence"):
                assert getattr(ours, name)(row, k) == getattr(theirs, name)(row, k), (name, row, k)
        for seq in range(theirs.n_sequences):
            for c in range(n_chars + 1 if chars else 0):
                assert ours.char_to_token(row, c, seq) == theirs.char_to_token(row, c, seq), (row, c, seq)
                assert ours.char_to_word(row, c, seq) == theirs.char_to_word(row, c, seq), (row, c, seq)
            for w in range(max((x for x in theirs.word_ids(row) if x is not None), default=-1) + 1):
                assert ours.word_to_tokens(row, w, seq) == theirs.word_to_tokens(row, w, seq)
                if chars and theirs.word_to_tokens(row, w, seq) is not None:
                    assert ours.word_to_chars(row, w, seq) == theirs.word_to_chars(row, w, seq)


@pytest.mark.parametrize("side", ["right", "left"])
def test_alignment_equals_transformers_fast(tok, hf_fast, side):
    tok.padding_side = hf_fast.padding_side = side
    try:
        for args in ((WORDS[:2], ["pair here", "c"]), (["plain words here", "x"],)):
            ours, theirs = tok(*args, padding=True), hf_fast(*args, padding=True)
            assert ours["input_ids"] == theirs["input_ids"]
            compare_alignment(ours, theirs, 30)
    finally:
        hf_fast.padding_side = "right"


@given(a=vocabulary_text, b=st.none() | vocabulary_text)
def test_alignment_equals_transformers_fast_where_ids_agree(slow, fast, hf_fast, a, b):
    pair = None if b is None else [b]
    theirs = hf_fast([a], pair)
    ours = fast([a], pair)
    user_defined = any(c in a + (b or "") for c in '()"-.–£€')  # transformers makes them words of their own
    if ours["input_ids"] != theirs["input_ids"] or user_defined:
        return  # transformers' fast tokenizer is not canonical here
    compare_alignment(ours, theirs, len(a))
    assert slow([a], pair).word_ids() == ours.word_ids()


def test_lone_word_start_piece_spans_nothing(tok, hf_fast):
    # Deliberate difference: transformers gives a dummy-prefix "▁" the character of the token after it; ours
    # gives it an empty span where that token starts (offsets never overlap), so char_to_token finds "!".
    ours, theirs = tok("!"), hf_fast("!")
    assert ours.tokens() == theirs.tokens() == ["[CLS]", "▁", "!", "[SEP]"]
    assert [theirs.token_to_chars(k) for k in (1, 2)] == [CharSpan(0, 1), CharSpan(0, 1)]
    assert [ours.token_to_chars(k) for k in (1, 2)] == [CharSpan(0, 0), CharSpan(0, 1)]
    assert (ours.char_to_token(0), theirs.char_to_token(0)) == (2, 1)
    assert ours.word_ids() == theirs.word_ids() == [None, 0, 0, None]
    spaced = tok("x !")  # a "▁" that stands for a space holds it, as in transformers
    assert spaced.token_to_chars(2) == hf_fast("x !").token_to_chars(2) == CharSpan(1, 2)


def test_alignment_on_slow_equals_fast(slow, fast):
    args = (["Hello  world, 1,000 (x) café", "a [MASK] b"], ["x y", "z"])
    s, f = slow(*args, padding=True), fast(*args, padding=True)
    for row in range(2):
        for name in ("tokens", "word_ids", "sequence_ids"):
            assert getattr(s, name)(row) == getattr(f, name)(row)
        assert [s.token_to_chars(row, k) for k in range(len(s["input_ids"][row]))] == [
            f.token_to_chars(row, k) for k in range(len(f["input_ids"][row]))
        ]
    # "▁world" starts at the last space before the word (6, not 5), as transformers' fast tokenizer has it
    assert s.char_to_token(0, 7) == f.char_to_token(0, 7) == 2 and s.char_to_token(0, 5) is None
    assert s.token_to_chars(0, 2) == CharSpan(6, 12) and s.word_to_tokens(0, 1) == TokenSpan(2, 4)  # "world,"
    assert s.tokens(1)[-1] == "<pad>" and s.word_ids(1)[-1] is None


def test_batch_encoding_api(slow):
    enc = slow(["a b", "c"], padding=True, return_tensors="pt")
    assert enc.input_ids is enc["input_ids"] and enc.is_fast and enc.encodings is None and enc.n_sequences == 1
    moved = enc.to("cpu")
    assert moved is enc and enc["input_ids"].dtype == torch.int64
    enc["scores"] = torch.ones(2, 3)
    enc.to(torch.bfloat16)  # only floating tensors take a dtype: never the ids
    assert enc["input_ids"].dtype == torch.int64 and enc["scores"].dtype == torch.bfloat16
    enc.to("cpu", dtype=torch.float16, non_blocking=True)
    assert enc["attention_mask"].dtype == torch.int64 and enc["scores"].dtype == torch.float16
    with pytest.raises(TypeError, match="to\\(\\) takes a device"):
        enc.to(3.5)
    words = enc.word_ids(0)
    clone = pickle.loads(pickle.dumps(enc))  # answers computed before pickling are kept
    assert clone.word_ids(0) == words and torch.equal(clone["input_ids"], enc["input_ids"])
    with pytest.raises(ValueError, match="were not asked for before this BatchEncoding was pickled"):
        clone.word_ids(1)
    padded = slow.pad({"input_ids": [[2, 3]]})
    assert not padded.is_fast and padded.n_sequences is None
    with pytest.raises(ValueError, match="only available for a BatchEncoding returned by a tokenizer call"):
        padded.word_ids()
    with pytest.raises(IndexError, match="batch index 5"):
        enc.tokens(5)


def test_single_text_unwraps_unless_it_overflows(tok):
    single = tok("a b")
    assert single["input_ids"] == [2, 21, 334, 3] and single.tokens() == ["[CLS]", "▁a", "▁b", "[SEP]"]
    over = tok(LONG, truncation=True, max_length=6, return_overflowing_tokens=True)  # 10 tokens, 4 per row
    assert isinstance(over["input_ids"][0], list) and over["overflow_to_sample_mapping"] == [0] * 3
    assert over.tokens(2) == ["[CLS]", "▁nine", "▁ten", "[SEP]"]
