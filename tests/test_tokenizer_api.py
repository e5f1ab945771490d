"""The shared API, run over both tokenizer classes: round trips, masks, tensors, pickling, errors."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from albert_tok import AlbertTokenizer, AlbertTokenizerFast, Preprocessing
from albert_tok.rules._digit_comma import DigitCommaArrays
from albert_tok.rules._padding import Truncation, truncate_pair

from .conftest import ROOT, SPIECE
from .strategies import any_text, long_text, plain_text, text


def test_fixture_is_the_real_albert_vocabulary():
    digest = hashlib.sha256(SPIECE.read_bytes()).hexdigest()
    assert digest == "fefb02b667a6c5c2fe27602d28e5fb3428f66ab89c7d6f388e7c8d44a02d0336"


def test_special_tokens_and_sizes(tokenizer):
    assert (
        tokenizer.pad_token_id,
        tokenizer.unk_token_id,
        tokenizer.cls_token_id,
        tokenizer.sep_token_id,
        tokenizer.mask_token_id,
    ) == (0, 1, 2, 3, 4)
    assert tokenizer.vocab_size == len(tokenizer) == len(tokenizer.get_vocab()) == 30000
    assert tokenizer.model_max_length == 512
    assert tokenizer.convert_ids_to_tokens([2, 4, 3]) == ["[CLS]", "[MASK]", "[SEP]"]
    assert tokenizer.convert_tokens_to_ids(["▁the", "no-such-piece"]) == [14, 1]


def test_pair_layout(tokenizer):
    enc = tokenizer("Hello world", "How are you?", return_special_tokens_mask=True)
    a = tokenizer.encode("Hello world", add_special_tokens=False)
    b = tokenizer.encode("How are you?", add_special_tokens=False)
    assert enc["input_ids"] == [2, *a, 3, *b, 3]
    assert enc["token_type_ids"] == [0] * (len(a) + 2) + [1] * (len(b) + 1)
    assert enc["special_tokens_mask"] == [1] + [0] * len(a) + [1] + [0] * len(b) + [1]
    assert enc["attention_mask"] == [1] * len(enc["input_ids"])
    assert tokenizer.build_inputs_with_special_tokens(a, b) == enc["input_ids"]
    assert tokenizer.get_special_tokens_mask(a, b) == enc["special_tokens_mask"]
    assert (
        tokenizer.get_special_tokens_mask(enc["input_ids"], already_has_special_tokens=True)
        == enc["special_tokens_mask"]
    )
    assert tokenizer.create_token_type_ids_from_sequences(a, b) == enc["token_type_ids"]


def test_mask_token_strips_left_space(tokenizer):
    assert tokenizer.tokenize("Paris is the [MASK] of France.") == [
        "▁paris",
        "▁is",
        "▁the",
        "[MASK]",
        "▁of",
        "▁france",
        ".",
    ]
    assert tokenizer.encode("Paris is the [MASK] of France.") == [2, 1162, 25, 14, 4, 16, 714, 9, 3]


def test_padding_truncation_and_tensors(tokenizer):
    batch = ["short", "a somewhat longer sentence with more words in it"]
    enc = tokenizer(batch, padding=True, return_tensors="np")
    assert enc["input_ids"].shape == enc["attention_mask"].shape
    assert enc["input_ids"][0, -1] == tokenizer.pad_token_id and enc["attention_mask"][0, -1] == 0
    enc = tokenizer(batch, padding="max_length", truncation=True, max_length=6)
    assert [len(r) for r in enc["input_ids"]] == [6, 6]
    assert enc["input_ids"][1][-1] == tokenizer.sep_token_id
    enc = tokenizer(batch, padding=True, pad_to_multiple_of=8)
    assert len(enc["input_ids"][0]) % 8 == 0
    enc = tokenizer("one text", return_tensors="np")
    assert enc["input_ids"].shape[0] == 1
    assert enc.input_ids is enc["input_ids"]
    assert tokenizer([], padding=True)["input_ids"] == []


def test_return_tensors_pt(tokenizer):
    import torch

    enc = tokenizer(["a b", "c"], padding=True, return_tensors="pt")
    assert enc["input_ids"].dtype == torch.int64 and enc["input_ids"].shape[0] == 2


def test_numpy_fields_are_int64_and_lists_hold_python_ints(tokenizer):
    # the slow tokenizer keeps its flat ids int32 inside a call: nothing of that may reach the user
    batch = ["plain words", "1,000 and <unk> [MASK] split", "[CLS]", ""]
    enc = tokenizer(batch, padding=True, return_tensors="np", return_special_tokens_mask=True)
    assert {name: arr.dtype for name, arr in enc.items()} == dict.fromkeys(enc, np.dtype(np.int64))
    rows = tokenizer(batch)["input_ids"]
    assert all(type(i) is int for row in rows for i in row)
    assert rows == [[i for i in row if i != tokenizer.pad_token_id] for row in enc["input_ids"].tolist()]


@given(t=plain_text)
def test_decode_inverts_encode(slow, fast, t):
    ids = slow.encode(t)
    expected = slow.normalize(t)
    if slow.unk_token_id in ids:
        return
    for tok in (slow, fast):
        assert tok.decode(ids, skip_special_tokens=True) == expected


@given(t=text)
def test_decode_matches_sentencepiece(slow, t):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(SPIECE))
    ids = [i for i in slow.encode(t, add_special_tokens=False) if i not in slow.all_special_ids]
    assert slow.decode(ids) == sp.decode(ids).strip()


@given(t=text, data=st.data())
def test_longest_first_keeps_budget(slow, t, data):
    b = data.draw(text)
    max_length = data.draw(st.integers(3, 20))
    enc = slow(t, b, truncation=True, max_length=max_length)
    a_ids = slow.encode(t, add_special_tokens=False)
    b_ids = slow.encode(b, add_special_tokens=False)
    la, lb = reference_truncate(len(a_ids), len(b_ids), max_length - 3, "longest_first")
    # [CLS] A [SEP] B [SEP] with both sequences cut from their ends, within the budget
    assert enc["input_ids"] == [slow.cls_token_id, *a_ids[:la], slow.sep_token_id, *b_ids[:lb], slow.sep_token_id]
    assert len(enc["input_ids"]) == min(max_length, len(a_ids) + len(b_ids) + 3)


def reference_truncate(len0: int, len1: int | None, budget: int, strategy: str) -> tuple[int, int | None]:
    """transformers' rule, one token at a time: longest_first cuts the longer sequence (the second on
    ties); only_first/only_second cut one sequence and fail when it runs out (for a pair, also when it
    would be cut to nothing: both of transformers' tokenizers refuse that)."""
    excess = len0 + (len1 or 0) - budget
    if (
        len1 is not None
        and strategy != "longest_first"
        and excess > 0
        and excess >= (len0 if strategy == "only_first" else len1)
    ):
        raise ValueError(strategy)
    while excess > 0:
        if strategy == "longest_first":
            if len1 is not None and len1 >= len0:
                len1 -= 1
            else:
                len0 -= 1
        elif strategy == "only_first" or (strategy == "only_second" and len1 is None):
            if strategy == "only_second" or len0 == 0:
                raise ValueError(strategy)
            len0 -= 1
        else:
            if len1 == 0:
                raise ValueError(strategy)
            len1 -= 1
        excess -= 1
    return len0, len1


@given(
    len0=st.integers(0, 60),
    len1=st.none() | st.integers(0, 60),
    budget=st.integers(0, 80),
    strategy=st.sampled_from(["longest_first", "only_first", "only_second"]),
)
def test_truncate_pair_equals_token_at_a_time_reference(len0, len1, budget, strategy):
    try:
        expected = reference_truncate(len0, len1, budget, strategy)
    except ValueError:
        with pytest.raises(ValueError, match="truncat"):
            truncate_pair(len0, len1, budget, Truncation(strategy))
        return
    assert truncate_pair(len0, len1, budget, Truncation(strategy)) == expected


@pytest.fixture(scope="module")
def hf_slow():
    import transformers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return transformers.AlbertTokenizer(str(SPIECE))


@given(
    a=st.one_of(text, long_text),
    b=st.one_of(text, long_text),
    max_length=st.integers(3, 600),
    strategy=st.sampled_from(["longest_first", "only_first", "only_second"]),
)
def test_truncated_pairs_equal_transformers(slow, hf_slow, a, b, max_length, strategy):
    try:
        ours = slow(a, b, truncation=strategy, max_length=max_length, return_special_tokens_mask=True)
    except ValueError:
        return  # transformers logs an error and returns the pair untruncated; ours refuses
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = hf_slow(a, b, truncation=strategy, max_length=max_length, return_special_tokens_mask=True)
    for field in ("input_ids", "token_type_ids", "special_tokens_mask"):
        assert ours[field] == theirs[field], field


def test_preprocessing_is_one_value(tmp_path):
    tok = AlbertTokenizer(SPIECE, do_lower_case=False)
    assert tok.preprocessing == Preprocessing(do_lower_case=False)
    assert (tok.do_lower_case, tok.remove_space, tok.keep_accents) == (False, True, False)
    with pytest.raises(AttributeError):
        tok.do_lower_case = True  # type: ignore[misc]
    both = AlbertTokenizerFast(SPIECE, preprocessing=Preprocessing(keep_accents=True), do_lower_case=False)
    assert both.preprocessing == Preprocessing(do_lower_case=False, keep_accents=True)
    assert both.encode("Café") == AlbertTokenizer(SPIECE, False, True, True).encode("Café")
    assert pickle.loads(pickle.dumps(both)).preprocessing == both.preprocessing
    both.save_pretrained(tmp_path / "p")
    assert AlbertTokenizer.from_pretrained(tmp_path / "p").preprocessing == both.preprocessing
    assert AlbertTokenizer.from_pretrained(tmp_path / "p", do_lower_case=True).preprocessing == Preprocessing(
        do_lower_case=True, keep_accents=True
    )


def test_save_and_load_both_ways(slow, fast, tmp_path):
    texts = ["Hello (world) - 1,000 people.", "a [MASK] b", "café ﬁ 中文"]
    for src, dst_cls in (
        (slow, AlbertTokenizerFast),
        (fast, AlbertTokenizer),
        (slow, AlbertTokenizer),
        (fast, AlbertTokenizerFast),
    ):
        directory = tmp_path / f"{type(src).__name__}-{dst_cls.__name__}"
        written = src.save_pretrained(directory)
        assert sorted(os.path.basename(p) for p in written) == [
            "special_tokens_map.json",
            "spiece.model",
            "tokenizer.json",
            "tokenizer_config.json",
        ]
        loaded = dst_cls.from_pretrained(directory)
        assert loaded(texts)["input_ids"] == src(texts)["input_ids"]


def test_options_survive_save(tmp_path):
    tok = AlbertTokenizer(SPIECE, do_lower_case=False, keep_accents=True)
    tok.save_pretrained(tmp_path / "t")
    for cls in (AlbertTokenizer, AlbertTokenizerFast):
        loaded = cls.from_pretrained(tmp_path / "t")
        assert (loaded.do_lower_case, loaded.keep_accents) == (False, True)
        assert loaded.encode("Café ÉTÉ") == tok.encode("Café ÉTÉ")


def test_fast_loads_tokenizer_json_alone(fast, tmp_path):
    directory = tmp_path / "json-only"
    fast.save_pretrained(directory)
    os.remove(directory / "spiece.model")
    loaded = AlbertTokenizerFast.from_pretrained(directory)
    texts = ["Hello (world) - 1,000 people.", "  trailing  ", "x.y"]
    assert loaded(texts)["input_ids"] == fast(texts)["input_ids"]
    # the spiece.model the tokenizer.json was converted from is rebuilt (issue #25 item 5): the slow class loads
    # it too, and a save writes it back
    assert AlbertTokenizer.from_pretrained(directory)(texts)["input_ids"] == fast(texts)["input_ids"]
    saved = loaded.save_pretrained(tmp_path / "again")
    assert [os.path.basename(p) for p in saved if p.endswith("spiece.model")] == ["spiece.model"]
    # run as it is, the tokenizer.json writes no spiece.model back
    as_is = AlbertTokenizerFast(tokenizer_file=directory / "tokenizer.json")
    saved = as_is.save_pretrained(tmp_path / "as-is")
    assert [os.path.basename(p) for p in saved if p.endswith("spiece.model")] == []


def test_save_vocabulary(tokenizer, tmp_path):
    paths = tokenizer.save_vocabulary(tmp_path, filename_prefix="mine")
    assert all(os.path.basename(p).startswith("mine-") for p in paths)
    assert any(p.endswith("spiece.model") for p in paths)
    with pytest.raises(NotADirectoryError):
        tokenizer.save_vocabulary(tmp_path / "missing")


def test_transformers_loads_saved_directory(slow, tmp_path):
    import transformers

    slow.save_pretrained(tmp_path / "d")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hf_slow = transformers.AlbertTokenizer.from_pretrained(str(tmp_path / "d"))
        hf_fast = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "d"))
    text_ = "Hello (world) - a [MASK] test."
    assert hf_slow.encode(text_) == slow.encode(text_)
    # transformers' fast class runs our tokenizer.json normaliser and Unigram: canonical here too.
    assert hf_fast.encode(text_) == slow.encode(text_)
    assert hf_fast.mask_token_id == 4 and hf_slow.model_max_length == 512


def test_pickle_without_source_file(tmp_path, tokenizer):
    copy = tmp_path / "spiece.model"
    copy.write_bytes(SPIECE.read_bytes())
    tok = type(tokenizer)(copy)
    os.remove(copy)
    clone = pickle.loads(pickle.dumps(tok))
    assert clone.encode("pickled 1,000 [MASK]") == tok.encode("pickled 1,000 [MASK]")
    clone.save_pretrained(tmp_path / "after")  # the model bytes are the whole state


def _encode_in_child(tok):
    return tok(["child process", "1,000 x666"])["input_ids"]


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_multiprocessing(tokenizer, method):
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(1) as pool:
        assert pool.apply(_encode_in_child, (tokenizer,)) == _encode_in_child(tokenizer)


def test_fast_offsets_index_original_text(fast):
    t = "Hello  World, 1,000 (x) café"
    enc = fast(t, return_offsets_mapping=True)
    tokens = fast.convert_ids_to_tokens(enc["input_ids"])
    for token, (s, e) in zip(tokens, enc["offset_mapping"], strict=False):
        if token in ("[CLS]", "[SEP]"):
            assert (s, e) == (0, 0)
            continue
        surface = t[s:e].strip().lower()
        assert (surface and token.lstrip("▁").startswith(surface[:1])) or token.lstrip("▁") == "", (token, s, e)


def test_slow_offsets_equal_fast(slow, fast):
    # The slow tokenizer maps SentencePiece's byte offsets back through the preprocessing (it used to refuse).
    texts = ["Hello  World, 1,000 (x) café", "a [MASK] b", "  İstanbul ﬁ 中文 ", ""]
    s = slow(texts, return_offsets_mapping=True)
    f = fast(texts, return_offsets_mapping=True)
    assert s["input_ids"] == f["input_ids"]
    assert s["offset_mapping"] == f["offset_mapping"]


def test_import_does_not_import_torch():
    code = "import sys, albert_tok; albert_tok.AlbertTokenizerFast; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (None, TypeError, "str or a list of str"),
        (5, TypeError, "str or a list of str"),
        (["ok", 3], TypeError, r"text\[1\] is int"),
        (["ok", ["nested"]], TypeError, "nested list"),
    ],
)
def test_bad_text(tokenizer, bad, exc, match):
    with pytest.raises(exc, match=match):
        tokenizer(bad)


def test_bad_arguments(tokenizer):
    with pytest.raises(ValueError, match="text has 2 items but text_pair has 1"):
        tokenizer(["a", "b"], ["c"])
    with pytest.raises(ValueError, match=r"padding='sideways'.*'longest'"):
        tokenizer("a", padding="sideways")
    with pytest.raises(ValueError, match=r"truncation='middle'.*'only_first'"):
        tokenizer("a", truncation="middle")
    with pytest.raises(ValueError, match="smaller than the 3 special tokens"):
        tokenizer("a", "b", truncation=True, max_length=2)
    with pytest.raises(ValueError, match="return_tensors='tf'"):
        tokenizer("a", return_tensors="tf")
    with pytest.raises(ValueError, match=r"different lengths.*padding=True"):
        tokenizer(["a", "b c d"], return_tensors="np")
    with pytest.raises(ValueError, match=r"only_second.*text_pair"):
        tokenizer("a b c d e f", truncation="only_second", max_length=4)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.decode([30000])


def test_too_long_warns_without_truncation(tokenizer):
    with pytest.warns(UserWarning, match="longer than the specified maximum"):
        tokenizer("word " * 600)
    with pytest.warns(UserWarning, match="without truncation"):
        enc = tokenizer("word " * 600, max_length=700)
    assert len(enc["input_ids"]) == 602


@pytest.mark.parametrize("cls", [AlbertTokenizer, AlbertTokenizerFast])
def test_missing_and_corrupt_files(cls, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cls(tmp_path / "nope.model")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cls.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"neither spiece.model nor tokenizer.json"):
        cls.from_pretrained(tmp_path / "empty")
    corrupt = tmp_path / "corrupt.model"
    corrupt.write_bytes(SPIECE.read_bytes()[:1000])
    with pytest.raises(ValueError, match="not a valid SentencePiece model"):
        cls(corrupt)
    garbage = tmp_path / "garbage.model"
    garbage.write_bytes(b"\xff\xfe not a model at all")
    with pytest.raises(ValueError, match="not a valid SentencePiece model"):
        cls(garbage)


def test_corrupt_tokenizer_json(tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"version": "1.0", "model": ')
    with pytest.raises(ValueError, match=r"not a valid tokenizer.json"):
        AlbertTokenizerFast(tokenizer_file=bad)
    (tmp_path / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        AlbertTokenizerFast.from_pretrained(tmp_path)


def test_failed_save_leaves_no_directory(slow, tmp_path, monkeypatch):
    from albert_tok.api import _files as files

    calls = {"n": 0}
    real = files._write_file

    def failing(path, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        real(path, data)

    monkeypatch.setattr(files, "_write_file", failing)
    with pytest.raises(OSError, match="disk full"):
        slow.save_pretrained(tmp_path / "out")
    assert os.listdir(tmp_path) == []  # no directory, no staging folder
    # an existing directory keeps its complete old files
    monkeypatch.setattr(files, "_write_file", real)
    slow.save_pretrained(tmp_path / "kept")
    before = {p: (tmp_path / "kept" / p).read_bytes() for p in os.listdir(tmp_path / "kept")}
    calls["n"] = 0
    monkeypatch.setattr(files, "_write_file", failing)
    with pytest.raises(OSError):
        AlbertTokenizer(SPIECE, do_lower_case=False).save_pretrained(tmp_path / "kept")
    after = {p: (tmp_path / "kept" / p).read_bytes() for p in os.listdir(tmp_path / "kept")}
    assert after == before  # nothing replaced, no staging files left behind
    assert sorted(os.listdir(tmp_path)) == ["kept"]


def test_batch_path_is_one_backend_call_per_batch(fast, monkeypatch):
    # The Rust route for ids without offsets (a tokenizer.json-only load; with the spiece.model such calls go to
    # SentencePiece, so it is reached here by turning that off, test_fast_engine_routing.py) encodes a batch in
    # one call to the Rust tokenizer, however many texts and whatever they hold.
    monkeypatch.setattr(fast, "_plain_ids_by_engine", False)
    calls = []

    class Spy:
        def __init__(self, backend):
            self.backend = backend

        def __getattr__(self, attr):
            return getattr(self.backend, attr)

        def encode_batch_fast(self, texts, **kw):
            calls.append(len(texts))
            return self.backend.encode_batch_fast(texts, **kw)

    monkeypatch.setattr(fast, "_tok", Spy(fast._tok))
    ascii_lines = [f"line {i}" for i in range(1000)]
    fast(ascii_lines, padding=True)
    assert calls == [1000]
    calls.clear()
    mixed = fast(ascii_lines[:500] + ["café\tline"] * 10 + ascii_lines[500:])["input_ids"]
    assert calls == [1010]
    assert mixed[500] == fast("café\tline")["input_ids"] and mixed[510] == fast("line 500")["input_ids"]


# -- the batch hot path is the per-text rule, done for the whole batch -------------------------------------
def _squeezed(text: str) -> str:
    return " ".join(part for part in text.split(" ") if part)


# Lower-casing that changes the length or leaves ASCII (U+212A KELVIN SIGN), capital sigmas that accent stripping
# makes (U+1D6BA), quotes, controls and the batch's own joiner.
_CASE_EDGES = st.lists(
    st.sampled_from(
        [
            "\u212a",
            "K",
            "a",
            " ",
            "\t",
            "\u0130",
            "\u03a3",
            "\U0001d6ba",
            "`",
            "'",
            "\u00e9",
            "\x00",
            "\x01",
            "\u00c5",
            "\u00a0",
        ]
    ),
    max_size=8,
).map("".join)


@given(
    chunks=st.lists(st.one_of(any_text, _CASE_EDGES, st.just("  x  y ")), max_size=6),
    switches=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    later=st.booleans(),
    lowered=st.booleans(),
)
@example(chunks=["K\U0001d6ba", "ok"], switches=(True, False, False), later=True, lowered=False)  # "kς", not "kσ"
@example(chunks=["\u212aelvin", "x"], switches=(True, True, False), later=True, lowered=False)
@example(chunks=["x``y''", "it's", "Q"], switches=(True, True, False), later=True, lowered=False)  # quotes: one chunk
@example(chunks=["x``y''", "it's", "q"], switches=(True, True, False), later=True, lowered=True)
@example(chunks=["\u00e9''", "'", "'"], switches=(True, False, False), later=True, lowered=False)
def test_apply_batch_equals_apply(slow, chunks, switches, later, lowered):
    p = Preprocessing(*switches)
    given_chunks = [p.lower(c) for c in chunks] if lowered else chunks
    got = p.apply_batch(given_chunks, spaces_collapsed_later=later, lowered=lowered)
    expected = [p.apply(p.lower(c)) for c in chunks]
    if not later:
        assert got == expected
        return
    # runs of spaces are left to SentencePiece, which removes them: the only difference, and none to it
    assert [_squeezed(g) for g in got] == [_squeezed(e) for e in expected]
    assert slow._engine.processor.encode(got) == slow._engine.processor.encode(expected)


@given(rows=st.lists(st.lists(st.integers(0, 30005), max_size=8), max_size=6))
def test_digit_comma_arrays_equal_the_table(slow, rows):
    table = slow._engine.digit_comma
    pieces = sorted(table)
    rows = [[pieces[i % len(pieces)] if i % 3 == 0 else i for i in row] for row in rows]  # plenty of hits
    _assert_digit_comma_applied(DigitCommaArrays(table, 30000), table, rows)


def _assert_digit_comma_applied(arrays, table, rows):
    """``arrays.apply`` on the flat rows gives each id's replacement from ``table`` (itself if none)."""
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    flat = np.array([i for r in rows for i in r], dtype=np.int64)
    new_flat, new_lengths = arrays.apply(flat, lengths)
    expected = [[q for i in r for q in table.get(i, (i,))] for r in rows]
    assert new_lengths.tolist() == [len(r) for r in expected]
    assert new_flat.tolist() == [i for r in expected for i in r]


@given(
    table=st.dictionaries(
        st.integers(1, 19), st.lists(st.integers(0, 19), min_size=2, max_size=4).map(tuple), max_size=6
    ),
    rows=st.lists(st.lists(st.integers(0, 24), max_size=8), max_size=6),
)
def test_digit_comma_arrays_any_table(table, rows):
    """Replacements of any length (the real table only has pairs), ids beyond the vocabulary, empty rows."""
    _assert_digit_comma_applied(DigitCommaArrays(table, 20), table, rows)


@given(batch=st.lists(text, min_size=1, max_size=6))
def test_padded_numpy_batch_equals_lists(tokenizer, batch):
    lists = tokenizer(batch, return_special_tokens_mask=True)
    for side in ("right", "left"):
        arrays = tokenizer(batch, padding=True, return_tensors="np", return_special_tokens_mask=True, padding_side=side)
        width = arrays["input_ids"].shape[1]
        for key, rows in lists.items():
            fill = {"input_ids": 0, "special_tokens_mask": 1}.get(key, 0)
            padded = [[fill] * (width - len(r)) + r if side == "left" else r + [fill] * (width - len(r)) for r in rows]
            assert arrays[key].tolist() == padded, key


@given(data=st.data(), chars=st.frozensets(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40))
def test_class_pattern_finds_exactly_its_characters(data, chars):
    # the look-ahead guard that makes albert_tok's large character classes fast must not change what they find
    from albert_tok.rules._text import class_pattern

    text = data.draw(
        st.text(st.one_of(st.sampled_from(sorted(chars)), st.characters(exclude_categories=["Cs"])), max_size=60)
    )
    assert [m.start() for m in class_pattern(chars).finditer(text)] == [i for i, c in enumerate(text) if c in chars]


def test_rows_pattern_finds_the_same_characters_as_its_plain_class():
    import re
    import sys

    from albert_tok.engines._convert import sentencepiece_rows_pattern
    from albert_tok.rules._text import char_class

    pattern = sentencepiece_rows_pattern()
    plain = re.compile(pattern.pattern[pattern.pattern.index(")") + 1 :])  # the class without its guard
    everything = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    found = [m.start() for m in pattern.finditer(everything)]
    assert found == [m.start() for m in plain.finditer(everything)] and len(found) > 1000
    assert char_class(frozenset(everything[i] for i in found), "python") == plain.pattern


# -- a large padded batch makes its attention mask on a thread of its own ----------------------------------
def _big_batch() -> list[str]:
    # 2,100 rows padded to 512: over albert_tok.api._batch._MASK_ON_ANOTHER_CORE elements
    return [("word " * (i % 37)).strip() for i in range(2100)]


@pytest.mark.parametrize("side", ["right", "left"])
def test_large_batch_attention_mask_equals_small_batches(slow, side):
    import albert_tok.api._batch as B

    texts = _big_batch()
    kw = {"padding": "max_length", "max_length": 512, "return_tensors": "np", "padding_side": side}
    assert len(texts) * 512 >= B._MASK_ON_ANOTHER_CORE
    big = slow(texts, **kw)
    parts = [slow(texts[i : i + 100], **kw) for i in range(0, len(texts), 100)]  # each under the threshold
    assert B._MASK_ON_ANOTHER_CORE > 100 * 512
    for field in ("input_ids", "attention_mask", "token_type_ids"):
        assert (big[field] == np.concatenate([p[field] for p in parts])).all(), field
    assert (big["attention_mask"] == (big["input_ids"] != slow.pad_token_id)).all()


def test_only_large_batches_make_their_mask_on_another_thread(slow, monkeypatch):
    import albert_tok.api._batch as B

    started = []
    real = B._on_another_thread
    monkeypatch.setattr(B, "_on_another_thread", lambda fn, *args: started.append(fn) or real(fn, *args))
    kw = {"padding": "max_length", "max_length": 512, "return_tensors": "np"}
    slow(_big_batch()[:100], **kw)
    assert started == []
    big = slow(_big_batch(), **kw)
    assert started == [B.attention_mask]
    assert (big["attention_mask"] == (big["input_ids"] != slow.pad_token_id)).all()


def test_large_batch_when_no_thread_can_start(slow, monkeypatch):
    import threading

    kw = {"padding": "max_length", "max_length": 512, "return_tensors": "np"}
    expected = slow(_big_batch(), **kw)

    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    got = slow(_big_batch(), **kw)
    assert (got["attention_mask"] == expected["attention_mask"]).all()


def test_attention_mask_thread_error_reaches_the_caller(slow, monkeypatch):
    import albert_tok.api._batch as B

    def fail(*args):
        raise MemoryError("no room for the mask")

    monkeypatch.setattr(B, "attention_mask", fail)
    with pytest.raises(MemoryError, match="no room for the mask"):
        slow(_big_batch(), padding="max_length", max_length=512, return_tensors="np")


def _ids_in_child(texts):
    from albert_tok import AlbertTokenizer

    enc = AlbertTokenizer(SPIECE)(texts, padding="max_length", max_length=512, return_tensors="np")
    return int(enc["attention_mask"].sum())


def test_large_batch_in_a_forked_worker(slow):
    # a data-loader worker forked after the parent made large batches still makes them (no pool thread that
    # fork leaves behind)
    import multiprocessing

    texts = _big_batch()
    expected = int(slow(texts, padding="max_length", max_length=512, return_tensors="np")["attention_mask"].sum())
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_ids_in_child, (texts,)).get(timeout=120) == expected
