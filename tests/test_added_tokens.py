"""Added tokens: add_tokens/add_special_tokens, text split around them, decoding, and directories that keep
them, with transformers 4.57's SentencePiece (slow) AlbertTokenizer as the reference for ids."""

from __future__ import annotations

import json
import pickle
import shutil
import warnings
from pathlib import Path

import pytest
import transformers
from hypothesis import given
from hypothesis import strategies as st

from albert_tok import AddedToken, AlbertTokenizer, AlbertTokenizerFast

from .conftest import SPIECE
from .strategies import add_test_tokens, added_token_text, any_text
from .test_offsets import contract_violations

CLASSES = [AlbertTokenizer, AlbertTokenizerFast]
VARIANTS = [{}, {"do_lower_case": False}, {"keep_accents": True, "remove_space": False}]
# The user-defined pieces of ALBERT's spiece.model: transformers' fast converter lists them as added tokens.
USER_DEFINED = '()"-.–£€'


def hf_slow(directory: Path | str | None = None, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if directory is not None:
            return transformers.AlbertTokenizer.from_pretrained(str(directory), **options)
        return transformers.AlbertTokenizer(str(SPIECE), **options)


@pytest.fixture(scope="module", params=range(len(VARIANTS)), ids=lambda i: str(VARIANTS[i]) or "default")
def trio(request):
    """(transformers slow, ours slow, ours fast), each with the test tokens added."""
    options = VARIANTS[request.param]
    return (
        add_test_tokens(hf_slow(**options), transformers.AddedToken),
        add_test_tokens(AlbertTokenizer(SPIECE, **options)),
        add_test_tokens(AlbertTokenizerFast(SPIECE, **options)),
    )


# -- adding ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", CLASSES)
def test_add_tokens_like_transformers(cls):
    ours, ref = cls(SPIECE), hf_slow()
    for tok, token_type in ((ours, AddedToken), (ref, transformers.AddedToken)):
        counts = (
            tok.add_tokens(
                ["new_tok", "Hello", token_type("<Ent>", lstrip=True, rstrip=True), "▁the", "[MASK]", "", "new_tok"]
            ),
            tok.add_special_tokens({"additional_special_tokens": ["<e1>", token_type("</E1>", single_word=True)]}),
        )
        assert counts == (2, 2)  # "hello" and "▁the" are pieces already, "[MASK]" is known, "" is skipped
    assert len(ours) == len(ref) == 30004 and ours.vocab_size == ref.vocab_size == 30000
    assert ours.get_added_vocab() == ref.get_added_vocab()
    assert ours.get_vocab() == ref.get_vocab()
    for index, theirs in ref.added_tokens_decoder.items():
        mine = ours.added_tokens_decoder[index]
        assert (mine.content, mine.lstrip, mine.rstrip, mine.single_word, mine.normalized, mine.special) == (
            theirs.content,
            theirs.lstrip,
            theirs.rstrip,
            theirs.single_word,
            theirs.normalized,
            theirs.special,
        )
    assert ours.all_special_tokens == ref.all_special_tokens and ours.all_special_ids == ref.all_special_ids
    assert ours.additional_special_tokens == ref.additional_special_tokens == ["<e1>", "</E1>"]
    assert ours.additional_special_tokens_ids == ref.additional_special_tokens_ids
    assert ours.special_tokens_map == ref.special_tokens_map
    tokens = ["new_tok", "<e1>", "hello", "zzz-unknown", "<ent>"]
    assert ours.convert_tokens_to_ids(tokens) == ref.convert_tokens_to_ids(tokens)
    assert ours.convert_ids_to_tokens([30000, 30002, 11515, 14]) == ref.convert_ids_to_tokens([30000, 30002, 11515, 14])


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    "text, tokens",
    [
        ("a new_tok b", ["▁a", "new_tok", "▁b"]),  # no stray "▁" before the token (transformers' fast adds one)
        ("NEW_TOK", ["new_tok"]),  # normalized: matched in the lower-cased text
        ("say Hello there", ["▁say", "hello", "▁there"]),  # a piece of the vocabulary, split out
        ("x<ent>  y", ["▁x", "<ent>", "▁", "y"]),  # rstrip swallowed the spaces after it
        ("x </E1> y", ["▁x", "</E1>", "▁", "y"]),  # single_word standing alone
        ("w</E1>", ["▁w", "<unk>", "/", "e", "1", "<unk>"]),  # single_word glued to text: not a token
        ("<E1>", ["<e1>"]),  # lower-casing spells a special token
        ("hellohello", ["hello", "hello"]),
    ],
)
def test_split_examples(cls, text, tokens):
    tok = cls(SPIECE)
    tok.add_tokens(["new_tok", "Hello", AddedToken("<ent>", lstrip=True, rstrip=True)])
    tok.add_special_tokens({"additional_special_tokens": ["<e1>", AddedToken("</E1>", single_word=True)]})
    assert tok.tokenize(text) == tokens
    assert tok.encode(text) == hf_slow_with_same(tok).encode(text)


def hf_slow_with_same(tok):
    ref = hf_slow(do_lower_case=tok.do_lower_case, keep_accents=tok.keep_accents, remove_space=tok.remove_space)
    ref.add_tokens([transformers.AddedToken(**t.entry()) for i, t in tok.added_tokens_decoder.items() if not t.special])
    ref.add_special_tokens(
        {
            "additional_special_tokens": [
                transformers.AddedToken(**tok.added_tokens_decoder[i].entry())
                for i in tok.additional_special_tokens_ids
            ]
        }
    )
    return ref


@pytest.mark.parametrize("cls", CLASSES)
def test_unknown_surface_spells_an_added_token(cls):
    # transformers maps token *strings*: SentencePiece's surface of an unknown piece can be an added token
    tok = cls(SPIECE, do_lower_case=False)
    tok.add_tokens([AddedToken("WORLD", normalized=False)])
    ref = hf_slow(do_lower_case=False)
    ref.add_tokens([transformers.AddedToken("WORLD", normalized=False)])
    texts = ["ＷＯＲＬＤ", "x ＷＯＲＬＤ y", "WORLD[E]", "the WORLD", "", "ＷＯＲＬＤ ¿ ＷＯＲＬＤ", "x"]
    for text in texts:
        assert tok.encode(text) == ref.encode(text), text
    assert 30000 in tok.encode("ＷＯＲＬＤ")
    # in a batch (texts of no ids among them), each text as alone
    assert tok(texts)["input_ids"] == [ref.encode(t) for t in texts]


def test_batch_with_trigger_characters_but_no_token_is_not_split():
    # "[" and "<" start the special tokens; text holding them but no token goes to the encoder whole
    tok = AlbertTokenizer(SPIECE)
    texts = ["a [b] c", "x < y", "plain", "[MASK"]
    assert tok._added.split_texts(texts) is None
    assert tok._added.split_texts([*texts, "a [MASK] b"]).parts[:4] == [None] * 4
    assert tok(texts)["input_ids"] == [tok(t)["input_ids"] for t in texts]


# texts around the one token of a batch (<unk>), with what its split by str.split must not trip on: the joiner
# the batch is lower-cased with ("\x01"), capital sigmas (lower-cased by character), touching and end tokens
_ONE_TOKEN_TEXT = st.lists(
    st.one_of(
        st.sampled_from(
            ["<unk>", " <unk> ", "<unk><unk>", "<UNK>", "\x01", "\u03a3", "\u0391\u03a3 ", " ", "x", "Plain", "1,000"]
        ),
        any_text,
    ),
    max_size=6,
).map("".join)


def test_batch_split_on_its_one_token():
    # only <unk> is written in the batch: every text is lower-cased once and split with str.split
    ref, slow, fast = hf_slow(), AlbertTokenizer(SPIECE), AlbertTokenizerFast(SPIECE)
    batch = ["A <unk> B<unk>", "x\x01y", "\u03a3 <unk>\u03a3", "", "<unk>", "Plain Text", "<unk> <unk>"]
    splits = slow._added.split_texts(batch)
    assert splits.lowered
    assert splits.parts == [
        (["a ", " b", ""], [1, 1]),
        (["x\x01y"], []),
        (["\u03c3 ", "\u03c3"], [1]),
        ([""], []),
        (["", ""], [1]),
        (["plain text"], []),
        (["", " ", ""], [1, 1]),
    ]
    expected = [ref.encode(t) for t in batch]
    assert slow(batch)["input_ids"] == fast(batch)["input_ids"] == expected


@pytest.fixture(scope="module")
def plain_trio():
    """(transformers slow, ours slow, ours fast) with no token added: "<" and "[" are the only trigger characters."""
    return hf_slow(), AlbertTokenizer(SPIECE), AlbertTokenizerFast(SPIECE)


@given(batch=st.lists(_ONE_TOKEN_TEXT, min_size=1, max_size=8))
def test_batch_of_one_token_equals_transformers_slow(plain_trio, batch):
    ref, slow, fast = plain_trio
    expected = [ref.encode(t) for t in batch]
    assert slow(batch)["input_ids"] == expected
    assert fast(batch)["input_ids"] == expected


@pytest.mark.parametrize("source", ["spiece", "tokenizer.json"])
def test_text_glued_to_a_token_never_spells_a_control_piece(source, tmp_path):
    # "[E]" is single_word: glued to "<Pad>" it is text, and "<pad>" inside that text is "<", "pad", ">" to
    # SentencePiece, never the control piece <pad> (the Rust model used to match it: id 0).
    ref = hf_slow()
    ref.add_tokens([transformers.AddedToken("[E]", single_word=True)])
    slow = AlbertTokenizer(SPIECE)
    slow.add_tokens([AddedToken("[E]", single_word=True)])
    if source == "spiece":
        fast = AlbertTokenizerFast(SPIECE)
        fast.add_tokens([AddedToken("[E]", single_word=True)])
    else:
        slow.save_pretrained(tmp_path)
        fast = AlbertTokenizerFast(tokenizer_file=tmp_path / "tokenizer.json")
    for text in ["[E]<Pad>", "x[e]<unk>[CLS]", "[E][MASK]", "[e]<pad> <pad>"]:
        expected = ref.encode(text)
        assert slow.encode(text) == fast.encode(text) == expected, text
    assert fast.convert_ids_to_tokens([0, 1, 2]) == ["<pad>", "<unk>", "[CLS]"]  # names are the pieces'
    assert fast.encode("<pad>", add_special_tokens=False) == [0]  # written alone it is the special token


@given(t=added_token_text)
def test_ids_equal_transformers_slow_and_fast(trio, t):
    ref, slow, fast = trio
    expected = ref.encode(t)
    assert slow.encode(t) == expected, repr(t)
    assert fast.encode(t) == expected, repr(t)


_JOINER_CHARS = st.sampled_from(["", "#", "#$&*+=", "#$&*+=~^|@%"])  # characters an earlier joining path relied on


@given(batch=st.lists(added_token_text, min_size=1, max_size=5), taken=_JOINER_CHARS, words=st.booleans())
def test_batches_equal_transformers_slow(trio, batch, taken, words):
    # a batch's texts around added tokens are encoded part by part (albert_tok.api._split_batch), whatever they hold
    ref, slow, fast = trio
    batch = [*batch, f"x {taken} <e1> y"] if taken else batch
    expected = [ref.encode(t) for t in batch]
    for tok in (slow, fast):
        assert tok(batch)["input_ids"] == expected
        padded = tok(batch, padding=True, return_tensors="np")["input_ids"]
        assert [row[row != tok.pad_token_id].tolist() for row in padded] == [
            [i for i in e if i != tok.pad_token_id] for e in expected
        ]
    if words:
        split = [t.split() or ["x"] for t in batch]
        assert slow(split, is_split_into_words=True)["input_ids"] == ref(split, is_split_into_words=True)["input_ids"]


@given(t=added_token_text)
def test_decode_equals_transformers(trio, t):
    ref, slow, fast = trio
    ids = ref.encode(t)
    for skip in (False, True):
        expected = ref.decode(ids, skip_special_tokens=skip)
        assert slow.decode(ids, skip_special_tokens=skip) == expected
        assert fast.decode(ids, skip_special_tokens=skip) == expected
    assert slow.decode(ids, spaces_between_special_tokens=False) == ref.decode(ids, spaces_between_special_tokens=False)


@given(t=st.one_of(added_token_text, any_text))
def test_offsets_with_added_tokens(trio, t):
    _, slow, fast = trio
    s = slow(t, add_special_tokens=False, return_offsets_mapping=True)
    f = fast(t, add_special_tokens=False, return_offsets_mapping=True)
    assert (s["input_ids"], s["offset_mapping"]) == (f["input_ids"], f["offset_mapping"]), repr(t)
    assert contract_violations(slow, t, s["input_ids"], s["offset_mapping"]) == [], repr(t)


@pytest.mark.parametrize("cls", CLASSES)
def test_named_special_tokens_can_be_replaced(cls):
    ours, ref = cls(SPIECE), hf_slow()
    for tok in (ours, ref):
        assert tok.add_special_tokens({"pad_token": "[PAD]", "mask_token": "[MASK]", "cls_token": "<s>"}) == 2
    assert (ours.pad_token, ours.pad_token_id, ours.cls_token_id) == (ref.pad_token, ref.pad_token_id, ref.cls_token_id)
    assert len(ours) == len(ref) == 30002
    for text in ["a [PAD] b [MASK] <s>", "x  [MASK]"]:  # [MASK] lost its lstrip, as in transformers
        assert ours.encode(text) == ref.encode(text), text
    assert ours.all_special_ids == ref.all_special_ids


@pytest.mark.parametrize("cls", CLASSES)
def test_tokenizers_added_token_objects_are_accepted(cls):
    from tokenizers import AddedToken as RustAddedToken

    a, b = cls(SPIECE), cls(SPIECE)
    a.add_tokens([RustAddedToken("<ent>", lstrip=True, single_word=True)])
    b.add_tokens([AddedToken("<ent>", lstrip=True, single_word=True)])
    assert a.added_tokens_decoder == b.added_tokens_decoder
    assert a.encode("x  <ent> y") == b.encode("x  <ent> y")


def test_added_token_type():
    token = AddedToken("x")
    assert (token.normalized, token.special, str(token)) == (True, False, "x")
    assert AddedToken("x", special=True).normalized is False  # transformers' default
    assert AddedToken.coerce({"content": "y", "lstrip": True, "__type": "AddedToken"}).lstrip
    with pytest.raises(ValueError, match="non-empty str"):
        AddedToken("")
    with pytest.raises(TypeError, match="lstrip must be True or False"):
        AddedToken("x", lstrip="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only the keys"):
        AddedToken.coerce({"content": "x", "strip": True})


@pytest.mark.parametrize("cls", CLASSES)
def test_bad_additions(cls):
    tok = cls(SPIECE)
    with pytest.raises(TypeError, match=r"new_tokens\[1\] must be a str"):
        tok.add_tokens(["ok", 5])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"unknown special token key.*'pad_tokn'"):
        tok.add_special_tokens({"pad_tokn": "[PAD]"})
    with pytest.raises(TypeError, match="additional_special_tokens must be a list"):
        tok.add_special_tokens({"additional_special_tokens": "<x>"})
    assert tok.add_tokens([]) == 0 and len(tok) == 30000


@pytest.mark.parametrize("cls", CLASSES)
def test_skip_special_tokens_skips_added_special_tokens(cls):
    tok = add_test_tokens(cls(SPIECE))
    ids = tok.encode("a <e1> b new_tok c")
    assert tok.decode(ids, skip_special_tokens=True) == "a b new_tok c"
    assert tok.get_special_tokens_mask(ids, already_has_special_tokens=True) == [
        1 if i in tok.all_special_ids else 0 for i in ids
    ]
    assert tok.convert_tokens_to_ids("<e1>") in tok.all_special_ids
    assert tok.convert_tokens_to_ids("new_tok") not in tok.all_special_ids


# -- directories: added tokens are never lost ----------------------------------------------------------
TEXTS = [
    "a new_tok b",
    "NEW_TOK x",
    "say Hello there",
    "x<ent>  y",
    "<e1>John</E1> x",
    "w</E1>",
    "the cat",
    "a [MASK] b <E1>",
    "hello world [ent] ab",
    "x y z 1, 2",
]


@pytest.fixture(scope="module")
def transformers_dirs(tmp_path_factory):
    """Directories saved by transformers' slow and fast tokenizers after adding the test tokens."""
    out = {}
    for kind in ("slow", "fast"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tok = hf_slow() if kind == "slow" else transformers.AlbertTokenizerFast(vocab_file=str(SPIECE))
        add_test_tokens(tok, transformers.AddedToken)
        directory = tmp_path_factory.mktemp(f"hf-{kind}")
        tok.save_pretrained(str(directory))
        out[kind] = directory
    return out


@pytest.mark.parametrize("kind", ["slow", "fast"])
@pytest.mark.parametrize("cls", CLASSES)
def test_transformers_directories_load_with_their_added_tokens(transformers_dirs, kind, cls):
    directory = transformers_dirs[kind]
    ours, ref = cls.from_pretrained(directory), hf_slow(directory)
    assert len(ours) == len(ref)
    # transformers' fast converter lists the user-defined pieces as added tokens: the only entries left out
    artefacts = {t: i for t, i in ref.get_added_vocab().items() if t in USER_DEFINED and i < ref.vocab_size}
    assert bool(artefacts) == (kind == "fast")
    assert ours.get_added_vocab() == {t: i for t, i in ref.get_added_vocab().items() if t not in artefacts}
    for text in TEXTS:
        assert ours.encode(text) == ref.encode(text), text
    # where the artefacts are in the text, transformers' slow tokenizer splits there; ours stays canonical
    assert ours.encode("a(b) c-d.") == AlbertTokenizer(SPIECE).encode("a(b) c-d.")


@pytest.mark.parametrize("cls", CLASSES)
def test_our_directory_loads_in_transformers(cls, tmp_path):
    ours = add_test_tokens(cls(SPIECE))
    ours.save_pretrained(tmp_path / "d")
    ref = hf_slow(tmp_path / "d")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_fast = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "d"))
    assert type(ref_fast).__name__ == "AlbertTokenizerFast"
    assert len(ref) == len(ref_fast) == len(ours)
    assert ref.get_added_vocab() == ref_fast.get_added_vocab() == ours.get_added_vocab()
    for text in TEXTS:
        assert ref.encode(text) == ours.encode(text), text
    # transformers' fast class runs our tokenizer.json: canonical on text without added tokens
    for text in ["Paris (city) - 2,000 folks.", "a [MASK] b", "plain words"]:  # no added token in them
        assert ref_fast.encode(text) == ours.encode(text), text


@given(t=added_token_text)
def test_our_directory_gives_transformers_slow_the_same_ids(saved_with_tokens, t):
    ours, ref = saved_with_tokens
    assert ref.encode(t) == ours.encode(t), repr(t)


@pytest.fixture(scope="module")
def saved_with_tokens(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ours")
    ours = add_test_tokens(AlbertTokenizerFast(SPIECE))
    ours.save_pretrained(directory)
    return AlbertTokenizer.from_pretrained(directory), hf_slow(directory)


@pytest.mark.parametrize("cls", CLASSES)
def test_round_trips_keep_added_tokens(cls, tmp_path):
    tok = add_test_tokens(cls(SPIECE, padding_side="left"))
    expected = [tok.encode(t) for t in TEXTS]
    clones = [pickle.loads(pickle.dumps(tok))]
    tok.save_pretrained(tmp_path / "d")
    clones += [AlbertTokenizer.from_pretrained(tmp_path / "d"), AlbertTokenizerFast.from_pretrained(tmp_path / "d")]
    if cls is AlbertTokenizer:
        clones.append(AlbertTokenizerFast.from_slow(tok))
    for clone in clones:
        assert clone.added_tokens_decoder == tok.added_tokens_decoder
        assert clone.additional_special_tokens == tok.additional_special_tokens
        assert [clone.encode(t) for t in TEXTS] == expected
        assert clone.padding_side == "left"
    # a later save without added tokens replaces them (saves keep other files of the directory): it removes
    # the added_tokens.json it does not write, as transformers writes one only when tokens were added
    assert (tmp_path / "d" / "added_tokens.json").is_file()
    cls(SPIECE).save_pretrained(tmp_path / "d")
    assert not (tmp_path / "d" / "added_tokens.json").exists()
    assert len(cls.from_pretrained(tmp_path / "d")) == 30000


def test_bare_tokenizer_json_keeps_added_tokens(tmp_path):
    tok = add_test_tokens(AlbertTokenizerFast(SPIECE))
    tok.save_pretrained(tmp_path / "d")
    (tmp_path / "d" / "spiece.model").unlink()
    for name in ("tokenizer_config.json", "added_tokens.json", "special_tokens_map.json"):
        (tmp_path / "d" / name).unlink()
    loaded = AlbertTokenizerFast(tokenizer_file=tmp_path / "d" / "tokenizer.json")
    assert loaded.get_added_vocab() == tok.get_added_vocab()
    assert [loaded.encode(t) for t in TEXTS[:4]] == [tok.encode(t) for t in TEXTS[:4]]


def test_legacy_added_tokens_json(tmp_path):
    # a directory without added_tokens_decoder: added_tokens.json is read with transformers' defaults
    directory = tmp_path / "legacy"
    directory.mkdir()
    shutil.copy(SPIECE, directory / "spiece.model")
    (directory / "added_tokens.json").write_text(json.dumps({"new_tok": 30000, "<e1>": 30001}))
    (directory / "special_tokens_map.json").write_text(json.dumps({"additional_special_tokens": ["<e1>"]}))
    ref = hf_slow(directory)
    for cls in CLASSES:
        ours = cls.from_pretrained(directory)
        assert ours.get_added_vocab() == ref.get_added_vocab()
        assert ours.encode("a new_tok <e1> b") == ref.encode("a new_tok <e1> b")


def _edited(saved: Path, tmp_path: Path, name: str, edit) -> Path:
    directory = tmp_path / "edited"
    shutil.copytree(saved, directory)
    path = directory / name
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    return directory


@pytest.fixture(scope="module")
def saved_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("saved")
    add_test_tokens(AlbertTokenizer(SPIECE)).save_pretrained(directory)
    return directory


def _decoder(edit):
    return lambda d: {**d, "added_tokens_decoder": edit(dict(d["added_tokens_decoder"]))}


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    "name, edit, match",
    [
        (
            "tokenizer_config.json",
            _decoder(lambda d: {**d, "5": {"content": "<x>", "special": True}}),
            r"tokenizer_config.json.*'<x>' has id 5, which is the vocabulary piece '\('",
        ),
        (
            "tokenizer_config.json",
            _decoder(lambda d: {**d, "30050": {"content": "<far>"}}),
            r"tokenizer_config.json: added token ids .* do not follow the vocabulary of 30000 pieces without a gap",
        ),
        (
            "added_tokens.json",
            lambda d: {**d, "new_tok": 30050},
            r"gives 'new_tok' the id 30000 but .*added_tokens.json gives it 30050",
        ),
        (
            "added_tokens.json",
            lambda d: {**d, "other": 30000},
            r"tokenizer_config.json gives id 30000 to 'new_tok' but .*added_tokens.json gives it to 'other'",
        ),
        (
            "tokenizer_config.json",
            lambda d: {**d, "tokenizer_class": "BertTokenizer"},
            r"tokenizer_config.json: tokenizer_class 'BertTokenizer' is not an ALBERT tokenizer",
        ),
        (
            "tokenizer_config.json",
            lambda d: {**d, "padding_side": "middle"},
            r"tokenizer_config.json: padding_side='middle' is not supported",
        ),
        (
            "tokenizer_config.json",
            lambda d: {**d, "sp_model_kwargs": {"enable_sampling": True}},
            r"tokenizer_config.json: sp_model_kwargs",
        ),
        (
            "tokenizer_config.json",
            _decoder(lambda d: {**d, "30000": {"content": "new_tok", "lstrip": "yes"}}),
            r"added_tokens_decoder\['30000'\].*lstrip must be True or False",
        ),
        (
            "tokenizer_config.json",
            lambda d: {**d, "add_prefix_space": True, "chat_template": "{{ x }}"},
            r"tokenizer_config.json: key\(s\) \['add_prefix_space', 'chat_template'\] are not understood",
        ),
        (
            "tokenizer_config.json",
            lambda d: {**d, "model_input_names": ["input_ids"]},
            r"tokenizer_config.json: model_input_names \['input_ids'\] is not supported",
        ),
        (
            "tokenizer_config.json",
            lambda d: {**d, "extra_special_tokens": {"image_token": "<img>"}},
            r"tokenizer_config.json: extra_special_tokens .* are not supported",
        ),
        (
            "special_tokens_map.json",
            lambda d: {**d, "image_token": "<img>"},
            r"special_tokens_map.json: key\(s\) \['image_token'\] are not special tokens this loader knows",
        ),
        (
            "tokenizer.json",
            lambda d: {**d, "model": {**d["model"], "type": "BPE"}},
            r"tokenizer.json: the model is 'BPE', not a Unigram",
        ),
    ],
)
def test_what_cannot_be_honoured_names_the_file(cls, saved_dir, tmp_path, name, edit, match):
    directory = _edited(saved_dir, tmp_path, name, edit)
    if name == "tokenizer.json":
        (directory / "spiece.model").unlink()  # the fast tokenizer then runs tokenizer.json's own model
        if cls is AlbertTokenizer:
            return
    with pytest.raises(ValueError, match=match):
        cls.from_pretrained(directory)


def test_bookkeeping_keys_transformers_writes_are_accepted(saved_dir, tmp_path):
    keep = {
        "name_or_path": "x",
        "auto_map": {},
        "processor_class": None,
        "tokenizer_file": None,
        "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
        "extra_special_tokens": {},
        "sp_model_kwargs": {},
        "split_special_tokens": False,
    }
    directory = _edited(saved_dir, tmp_path, "tokenizer_config.json", lambda d: {**d, **keep})
    for cls in CLASSES:
        assert cls.from_pretrained(directory).encode("a new_tok b") == add_test_tokens(AlbertTokenizer(SPIECE)).encode(
            "a new_tok b"
        )


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("foreign", ["vocab.txt", "merges.txt", "tokenizer.model"])
def test_files_of_another_tokenizer_are_refused(cls, saved_dir, tmp_path, foreign):
    directory = tmp_path / "mixed"
    shutil.copytree(saved_dir, directory)
    (directory / foreign).write_text("[PAD]\n[UNK]\n")
    with pytest.raises(ValueError, match=rf"{foreign} belongs to another kind of tokenizer"):
        cls.from_pretrained(directory)
