"""The offsets contract of albert_tok.rules._offsets, checked on both tokenizers (their offsets are equal), and
against transformers' fast tokenizer."""

from __future__ import annotations

import signal
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from albert_tok import AlbertTokenizer, AlbertTokenizerFast
from albert_tok.rules._digit_comma import deleted_controls_pattern
from albert_tok.rules._offsets import normaliser_predicates, remap_offsets, settle_offsets, space_pieces
from albert_tok.rules._text import PYTHON_WHITESPACE

from .conftest import SPIECE
from .strategies import any_text, grapheme_clusters, replacement_then_extenders, text, vocabulary_text

WORD = "\u2581"


def violations(tok, t: str, ids: list[int], offsets: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """(token index, what is wrong) for every way ``offsets`` (of ``t``'s tokens, no [CLS]/[SEP] added)
    breaks the contract of albert_tok.rules._offsets."""
    problems = []
    is_space = getattr(tok, "_is_space", PYTHON_WHITESPACE.__contains__)
    is_deleted = getattr(tok, "_is_deleted", lambda c: False)
    pieces = tok.convert_ids_to_tokens(ids)
    floor = 0
    for k, (piece, (s, e)) in enumerate(zip(pieces, offsets, strict=False)):
        if not 0 <= s <= e <= len(t):
            problems.append((k, f"token {k} {piece!r} span {(s, e)} is outside the text (length {len(t)})"))
        if s < floor:
            problems.append((k, f"token {k} {piece!r} span {(s, e)} starts before the previous token's end {floor}"))
        if piece.startswith(WORD) and s >= floor:
            word = s
            while word < e and (is_space(t[word]) or is_deleted(t[word])):
                word += 1
            spaces = [i for i in range(floor, word) if is_space(t[i])]
            if spaces and s != spaces[-1]:
                message = f"token {k} {piece!r} span {(s, e)} does not start at the space it stands for, {spaces[-1]}"
                problems.append((k, message))
            if piece == WORD and (e - s) != (1 if spaces else 0):
                problems.append((k, f"token {k} '▁' span {(s, e)} is not the one space it stands for"))
            if piece != WORD and s < e and word == e:
                problems.append((k, f"token {k} {piece!r} span {(s, e)} holds whitespace only, not its word"))
        floor = max(floor, e)
    for piece in tok._added.split(t) or []:  # special and added tokens written in the text
        if piece.token is not None and (piece.token, (piece.start, piece.end)) not in zip(ids, offsets, strict=False):
            problems.append(
                (-1, (f"added token {piece.token} written at {(piece.start, piece.end)} has no token with that span"))
            )
    return problems


def contract_violations(tok, t: str, ids: list[int], offsets: list[tuple[int, int]]) -> list[str]:
    return [message for _, message in violations(tok, t, ids, offsets)]


def fast_offsets(fast, t: str) -> tuple[list[int], list[tuple[int, int]]]:
    enc = fast(t, add_special_tokens=False, return_offsets_mapping=True)
    return enc["input_ids"], enc["offset_mapping"]


@pytest.fixture
def alarm():
    """Fail an example that runs longer than 10 s instead of hanging the suite (#8.3 looped forever)."""

    def expire(signum, frame):
        raise TimeoutError("offsets took over 10 s: an offset loop does not advance")

    previous = signal.signal(signal.SIGALRM, expire)

    def arm():
        signal.alarm(10)

    yield arm
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# -- the examples of the issues ------------------------------------------------------------------------
def test_replacement_char_then_mark_terminates(fast, alarm):
    alarm()
    ids, offsets = fast_offsets(fast, "\ufffd\u034f")
    assert contract_violations(fast, "\ufffd\u034f", ids, offsets) == []


@pytest.mark.parametrize(
    "t, expected",
    [
        ("a [MASK] x", [("▁a", (0, 1)), ("[MASK]", (1, 8)), ("▁x", (8, 10))]),
        (" x", [("▁x", (0, 2))]),
        ("e\u0301té", [("▁", (0, 0)), ("ete", (0, 4))]),
        ("ǅ", [("▁", (0, 0)), ("dz", (0, 1))]),
        ("(x)", [("▁", (0, 0)), ("(", (0, 1)), ("x", (1, 2)), (")", (2, 3))]),
        (
            "x [MASK] y [SEP] z",
            [("▁x", (0, 1)), ("[MASK]", (1, 8)), ("▁", (8, 9)), ("y", (9, 10)), ("[SEP]", (11, 16)), ("▁z", (16, 18))],
        ),
        (
            "I paid 2010, yes",
            [("▁i", (0, 1)), ("▁paid", (1, 6)), ("▁2010", (6, 11)), (",", (11, 12)), ("▁yes", (12, 16))],
        ),
        ("a   b", [("▁a", (0, 1)), ("▁b", (3, 5))]),
        ("\x1bu", [("▁u", (1, 2))]),
        ("\x1bü x", [("▁u", (1, 2)), ("▁x", (2, 4))]),
        ("क्ष \u0301 x", [("▁", (0, 0)), ("<unk>", (0, 3)), ("▁x", (5, 7))]),
    ],
)
def test_known_spans(fast, t, expected):
    ids, offsets = fast_offsets(fast, t)
    assert list(zip(fast.convert_ids_to_tokens(ids), offsets, strict=False)) == expected


def test_contract_catches_overlap(fast):
    # The spans the fast tokenizer gave before the contract existed must count as violations.
    ids = fast.encode("e\u0301té", add_special_tokens=False)
    assert contract_violations(fast, "e\u0301té", ids, [(0, 1), (0, 4)])
    assert contract_violations(
        fast, "a [MASK] x", fast.encode("a [MASK] x", add_special_tokens=False), [(0, 1), (1, 8), (9, 10)]
    )


# -- properties ----------------------------------------------------------------------------------------
@given(t=replacement_then_extenders)
def test_replacement_and_private_use_with_extenders(fast, alarm, t):
    alarm()
    ids, offsets = fast_offsets(fast, t)
    assert contract_violations(fast, t, ids, offsets) == [], repr(t)


@given(t=st.one_of(any_text, grapheme_clusters, vocabulary_text))
def test_contract_holds(fast, slow, alarm, t):
    alarm()
    ids, offsets = fast_offsets(fast, t)
    assert ids == slow.encode(t, add_special_tokens=False), repr(t)  # offsets never change the ids
    assert contract_violations(fast, t, ids, offsets) == [], repr(t)


@given(a=text, b=text, padding=st.booleans())
def test_pairs_and_padding_keep_the_contract(fast, alarm, a, b, padding):
    alarm()
    enc = fast([a, "x"], [b, "y"], padding=padding, return_offsets_mapping=True, return_special_tokens_mask=True)
    row_ids, row_offsets, special = enc["input_ids"][0], enc["offset_mapping"][0], enc["special_tokens_mask"][0]
    assert len(row_offsets) == len(row_ids)
    types = enc["token_type_ids"][0]
    for which, t in ((0, a), (1, b)):
        inside = [k for k in range(len(row_ids)) if not special[k] and types[k] == which]
        ids = [row_ids[k] for k in inside]
        assert contract_violations(fast, t, ids, [row_offsets[k] for k in inside]) == []
    assert all(row_offsets[k] == (0, 0) for k in range(len(row_ids)) if special[k])


def slow_offsets(slow, t: str) -> tuple[list[int], list[tuple[int, int]]]:
    enc = slow(t, add_special_tokens=False, return_offsets_mapping=True)
    return enc["input_ids"], enc["offset_mapping"]


def test_slow_spans_give_the_slow_ids(slow):
    for t in ["a\u0301 [MASK] 2010, 1,000,000 x", "İstanbul ﬁ ``q''", "  \u3000 ", "", "[SEP]"]:
        ids, offsets = slow_offsets(slow, t)
        assert ids == slow.encode(t, add_special_tokens=False)
        assert contract_violations(slow, t, ids, offsets) == [], t


@given(t=st.one_of(any_text, grapheme_clusters))
def test_slow_offsets_keep_the_contract_and_equal_fast(slow, fast, alarm, t):
    alarm()
    ids, offsets = slow_offsets(slow, t)
    assert ids == slow.encode(t, add_special_tokens=False), repr(t)  # offsets never change the ids
    assert contract_violations(slow, t, ids, offsets) == [], repr(t)
    assert (ids, offsets) == fast_offsets(fast, t), repr(t)


# -- the pure functions ------------------------------------------------------------------------------
pieces_st = st.lists(st.text(alphabet="▁ab1,", min_size=1, max_size=4), min_size=1, max_size=8)


@given(old=pieces_st, data=st.data())
def test_remap_offsets_is_monotone_and_keeps_shared_boundaries(old, data):
    joined = "".join(old)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(joined) - 1), max_size=6))) if len(joined) > 1 else []
    new = [joined[i:j] for i, j in zip([0, *cuts], [*cuts, len(joined)], strict=False)]
    spans, pos = [], 0
    for piece in old:  # one text character per piece character
        spans.append((pos, pos + len(piece)))
        pos += len(piece)
    out = remap_offsets(old, spans, new)
    assert len(out) == len(new)
    assert out == [(i, j) for i, j in zip([0, *cuts], [*cuts, len(joined)], strict=False)]


def test_remap_offsets_rejects_other_text():
    with pytest.raises(ValueError, match="re-segmentation"):
        remap_offsets(["ab"], [(0, 2)], ["abc"])


@given(
    t=st.text(alphabet=" ab", max_size=8),
    raw=st.lists(st.tuples(st.integers(-3, 12), st.integers(-3, 12)), max_size=6),
    data=st.data(),
)
def test_settle_offsets_contract_on_arbitrary_raw_spans(t, raw, data):
    ids = data.draw(st.lists(st.sampled_from([0, 1, 2]), min_size=len(raw), max_size=len(raw)))
    out = settle_offsets(t, ids, raw, word_start_ids={0, 1}, space_id=0)
    floor = 0
    for s, e in out:
        assert floor <= s <= e <= len(t)
        floor = e


def test_normaliser_predicates(fast):
    is_space, is_deleted = normaliser_predicates(fast.backend_tokenizer.normalizer.normalize_str)
    assert is_space(" ") and is_space("\u3000") and is_space("\ufffd") and is_space("\u200b")
    assert not is_space("x") and not is_space("\u0301") and not is_space("\x01")
    assert is_deleted("\u0301") and is_deleted("\x01") and not is_deleted("x") and not is_deleted(" ")


def test_space_pieces():
    assert space_pieces(["<pad>", "▁", "▁a", "a"]) == (frozenset({1, 2}), 1)


# -- transformers' fast tokenizer, where it gives the same ids --------------------------------------
@pytest.fixture(scope="module")
def hf_fast():
    import transformers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return transformers.AlbertTokenizerFast(vocab_file=str(SPIECE))


def test_equal_to_transformers_examples(fast, hf_fast):
    for t in ["a [MASK] x", " x", "\u3000x", "Hello  World, 1,000 (x) café", "a\tb", "x [MASK] y"]:
        ours = fast(t, return_offsets_mapping=True)
        theirs = hf_fast(t, return_offsets_mapping=True)
        assert ours["input_ids"] == theirs["input_ids"] or t.startswith("Hello"), t
        if ours["input_ids"] == theirs["input_ids"]:
            assert ours["offset_mapping"] == theirs["offset_mapping"], t


@given(t=st.one_of(any_text, vocabulary_text))
def test_equal_to_transformers_where_ids_agree(fast, hf_fast, t):
    ours = fast(t, return_offsets_mapping=True)
    theirs = hf_fast(t, return_offsets_mapping=True)
    if ours["input_ids"] != theirs["input_ids"]:
        return  # transformers' fast tokenizer is not canonical here
    if any("\x1c" <= c <= "\x1f" for c in t) or deleted_controls_pattern().search(t) or "\r\n" in t:
        # Rust's alignments shift past characters that are whitespace to Python only, or that the
        # normaliser deletes: transformers gives "\x1féñ" (0, 2) and "\x1bu" (0, 1) for their one token.
        # It maps the grapheme cluster CR LF as one character, aligned to the CR.
        return
    spans = theirs["offset_mapping"]
    # Tokens where transformers' own spans break the contract are left out (it gives the dummy-prefix
    # "▁" the next character, overlapping the next token; some of its spans miss their word), and so are
    # unknown pieces: transformers' normaliser maps some grapheme clusters unlike SentencePiece (dropping a
    # variation selector, say), and inside an unknown piece the ids still agree.
    theirs_wrong = {k for k, _ in violations(fast, t, theirs["input_ids"][1:-1], spans[1:-1])}
    for k, (mine, other) in enumerate(zip(ours["offset_mapping"], spans, strict=False)):
        if k - 1 in theirs_wrong or ours["input_ids"][k] == fast.unk_token_id:
            continue
        assert mine == other, (t, k, ours["offset_mapping"], spans)


@pytest.mark.parametrize("options", [{"remove_space": False}, {"remove_space": False, "keep_accents": True}])
def test_whitespace_controls_kept_by_preprocessing(options):
    # With remove_space off, "\x1c".."\x1f" reach the charsmap, which deletes them; Rust's alignments shift
    # after one at the start of a text, so those rows take their offsets from SentencePiece (as for "\x1b").
    slow, fast = AlbertTokenizer(SPIECE, **options), AlbertTokenizerFast(SPIECE, **options)
    for t in ["\x1c[E]", "\x1dx", "\x1e\x1fab c", "a\x1cx", "x \x1f[MASK] y"]:
        s = slow(t, add_special_tokens=False, return_offsets_mapping=True)
        f = fast(t, add_special_tokens=False, return_offsets_mapping=True)
        assert (f["input_ids"], f["offset_mapping"]) == (s["input_ids"], s["offset_mapping"]), repr(t)
        assert not contract_violations(fast, t, f["input_ids"], f["offset_mapping"]), repr(t)
