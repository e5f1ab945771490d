"""Checkpoints laid out as they are published on the hub load here as in transformers (issue #25, item 5).

``fixtures/hub_layouts/<layout>/`` (made by ``python -m scripts.make_hub_layout_fixtures``, whose docstring
describes each layout) are loaded with both of our tokenizers, the model class their ``architectures`` names
and the pipeline of their task, and compared with transformers 4.x on the same files: ids with transformers'
slow ``AlbertTokenizer`` (the canonical SentencePiece segmentation; transformers' fast class is not the
reference, it differs on the digit-comma rule), logits within 1e-5, pipeline outputs field by field (scores
within 1e-5). The two layouts without ``spiece.model`` (``tokenizer_json_only``, ``tokenizer_config_v5``) cannot
be loaded by transformers' slow tokenizer; both of ours rebuild the ``spiece.model`` their ``tokenizer.json`` was
converted from (:func:`albert_tok.engines.model_from_tokenizer_json`) and load through SentencePiece, so their
reference ids come from transformers' slow class on that source ``spiece.model`` (the same bytes as every other
layout's). transformers 4.x cannot load the tokenizer that
transformers 5.x wrote at all, so that layout is also compared with transformers 5.x itself, run from
``bench/.venv-tf5`` when that environment exists.

Run as it is (``AlbertTokenizerFast(tokenizer_file=...)``), such a ``tokenizer.json`` gives the ids of the fast
tokenizer that wrote it (transformers 4.x's or 5.x's), which are not SentencePiece's at unigram ties, at characters
SentencePiece's normaliser drops, and (transformers 4.x's file only) at spaces beside special tokens and at the end
of the text: ``from_pretrained`` rebuilds the model instead.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from hypothesis import given

import albert_model as A
from albert_model.pipelines._factory import pipeline
from albert_tok import AlbertTokenizer, AlbertTokenizerFast
from albert_tok.engines import parse_model

from . import strategies
from .conftest import ROOT

LAYOUTS = ROOT / "fixtures" / "hub_layouts"
# the vocabulary every layout was made from; the layouts without spiece.model were converted from these bytes
SOURCE = LAYOUTS / "spiece_only"
TF5_PYTHON = ROOT / "bench" / ".venv-tf5" / "bin" / "python"
NAMES = (
    "pytorch_model_bin",
    "sharded_safetensors",
    "sequence_classification",
    "spiece_only",
    "tokenizer_json_only",
    "added_tokens_json",
    "tokenizer_config_v4",
    "tokenizer_config_v5",
)
WITHOUT_SPIECE = ("tokenizer_json_only", "tokenizer_config_v5")
# Saved by transformers 4.x's fast class, whose converter lists SentencePiece's user-defined pieces as added
# tokens: transformers' slow class reading such a directory splits the text at them, ours stays canonical
# (docs/tokenizers.md; tests/test_added_tokens.py), so their reference is the slow class on the vocabulary alone.
FAST_SAVED = ("sharded_safetensors", "tokenizer_json_only")
USER_DEFINED = '()"-.\u2013£€'
# the files each layout must hold, and those it must not: the fixture is the layout its name says
FILES: dict[str, tuple[set[str], set[str]]] = {
    "pytorch_model_bin": (
        {"config.json", "pytorch_model.bin", "spiece.model"},
        {"model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"},
    ),
    "sharded_safetensors": (
        {"model.safetensors.index.json", "spiece.model", "tokenizer.json", "tokenizer_config.json"},
        {"model.safetensors", "pytorch_model.bin"},
    ),
    "sequence_classification": (
        {"config.json", "pytorch_model.bin", "spiece.model", "tokenizer_config.json"},
        {"model.safetensors", "tokenizer.json"},
    ),
    "spiece_only": (
        {"config.json", "model.safetensors", "spiece.model"},
        {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"},
    ),
    "tokenizer_json_only": ({"model.safetensors", "tokenizer.json", "tokenizer_config.json"}, {"spiece.model"}),
    "added_tokens_json": (
        {"model.safetensors", "spiece.model", "added_tokens.json", "special_tokens_map.json"},
        {"tokenizer.json", "tokenizer_config.json"},
    ),
    "tokenizer_config_v4": (
        {"model.safetensors", "spiece.model", "tokenizer_config.json", "special_tokens_map.json"},
        {"tokenizer.json"},
    ),
    "tokenizer_config_v5": (
        {"model.safetensors", "tokenizer.json", "tokenizer_config.json"},
        {"spiece.model", "special_tokens_map.json"},
    ),
}
TEXTS = [
    "paris is the capital of france.",
    "Héllo wörld, naïve café: 1,000,000 people!",
    "The normans gave their name to normandy, a region in france (in the 10th and 11th centuries).",
    "two, three. [MASK]!",
    "a [MASK] b [MASK] c",
    "a[MASK]b",
    "``quoted'' text \u2013 £5 or €7",
    "covid19 and COVID19 cases [ENT] here",
    "",
]
PAIRS = [("a question about 1,000 things?", "an answer."), ("short", "[MASK] pair")]
# Whitespace next to special tokens written in the text, and at the end: SentencePiece drops it; the
# tokenizer.json transformers 4.x writes makes a "▁" piece of it (as transformers' fast class does on that file).
# What a Rust Unigram model cannot express and SentencePiece settles: a float32 tie between commuting pieces
# ("22" + "2"), characters SentencePiece's normaliser maps to nothing but Rust keeps apart (variation selectors,
# the combining grapheme joiner).
SENTENCEPIECE_ONLY = ["er222", "\ufe0f", "\u034fx"]
EDGES = ["The   quick  brown fox   ", " [MASK] ", "<pad> [CLS] x [SEP]", "x [SEP] y"]
FILL = ["paris is the [MASK] of france.", "a [MASK] b [MASK] c", "two, three. [MASK]!", "covid19 [MASK] [ENT] x"]
CLASSIFY: list[Any] = [
    "good film",
    ["good film", "a much longer, rather more boring film of 1,000 minutes"],
    {"text": "a question", "text_pair": "an answer"},
]
TASKS = {"AlbertForMaskedLM": "fill-mask", "AlbertForSequenceClassification": "text-classification"}


def config_of(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((LAYOUTS / name / "config.json").read_text(encoding="utf-8"))
    return data


def architecture(name: str) -> str:
    (arch,) = config_of(name)["architectures"]
    return str(arch)


@functools.cache
def reference_tokenizer(name: str) -> Any:
    """transformers' slow tokenizer on the layout's files; on its source spiece.model alone where it has none
    or where transformers' fast class saved it (the options of both are the defaults)."""
    directory = SOURCE if name in WITHOUT_SPIECE + FAST_SAVED else LAYOUTS / name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return transformers.AlbertTokenizer.from_pretrained(str(directory))


@functools.cache
def ours_tokenizer(name: str, cls: type) -> Any:
    return cls.from_pretrained(LAYOUTS / name)


TOKENIZER_CASES = [(n, c) for c in (AlbertTokenizer, AlbertTokenizerFast) for n in NAMES]
TOKENIZER_IDS = [f"{n}-{c.__name__}" for n, c in TOKENIZER_CASES]


def same(ours: Any, theirs: Any, path: str = "") -> None:
    """Equal structure and values; floats within 1e-5."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), f"{path}: keys {set(ours)} != {set(theirs)}"
        for key in theirs:
            same(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(theirs, (list, tuple)):
        assert isinstance(ours, list) and len(ours) == len(theirs), f"{path}: {ours!r:.200} != {theirs!r:.200}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            same(a, b, f"{path}[{i}]")
    elif isinstance(theirs, (float, np.floating)):
        assert ours == pytest.approx(float(theirs), abs=1e-5), path
    else:
        assert ours == theirs, f"{path}: {ours!r} != {theirs!r}"


# -- the fixtures are the layouts they say ------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_layout_holds_the_files_its_name_says(name):
    present = {p.name for p in (LAYOUTS / name).iterdir()}
    wanted, unwanted = FILES[name]
    assert wanted <= present, wanted - present
    assert not unwanted & present, unwanted & present


def test_layouts_share_one_vocabulary_and_stay_small():
    copies = {p.read_bytes() for p in LAYOUTS.glob("*/spiece.model")}
    assert len(copies) == 1  # byte-identical: git stores it once, and the reference of the two without one
    assert len(list(LAYOUTS.glob("*/spiece.model"))) == len(NAMES) - len(WITHOUT_SPIECE)
    total = sum(p.stat().st_size for p in LAYOUTS.rglob("*") if p.is_file())
    assert total < 6_000_000, total
    assert {p.name for p in LAYOUTS.iterdir() if p.is_dir()} == set(NAMES)


def test_the_layouts_come_from_the_writers_they_name():
    """Fixture provenance: the v4 and v5 configs carry what each transformers version writes."""
    v4 = json.loads((LAYOUTS / "tokenizer_config_v4" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert v4["extra_special_tokens"] == {} and "added_tokens_decoder" in v4 and v4["keep_accents"] is True
    v5 = json.loads((LAYOUTS / "tokenizer_config_v5" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert v5["backend"] == "tokenizers" and isinstance(v5["extra_special_tokens"], list)
    assert config_of("tokenizer_config_v5")["transformers_version"].startswith("5.")
    old = config_of("pytorch_model_bin")
    assert "transformers_version" not in old and old["net_structure_type"] == 0
    weights = LAYOUTS / "pytorch_model_bin" / "pytorch_model.bin"
    assert not zipfile.is_zipfile(weights)  # torch's legacy format, from before torch 1.6
    state = torch.load(weights, weights_only=True)
    assert "albert.embeddings.position_ids" in state and "predictions.decoder.weight" in state
    assert hasattr(state, "_metadata")  # torch.save(model.state_dict()), not a plain dict
    fine_tune = config_of("sequence_classification")
    assert fine_tune["output_past"] is True and fine_tune["num_labels"] == 2
    index = json.loads((LAYOUTS / "sharded_safetensors" / "model.safetensors.index.json").read_text(encoding="utf-8"))
    assert len(set(index["weight_map"].values())) > 1


# -- tokenizers ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "cls"), TOKENIZER_CASES, ids=TOKENIZER_IDS)
def test_ids_match_transformers_slow_tokenizer(name, cls):
    ours, theirs = ours_tokenizer(name, cls), reference_tokenizer(name)
    for text in TEXTS:
        assert ours(text)["input_ids"] == theirs(text)["input_ids"], text
        # tokens by id: transformers shows an unknown piece by its surface, ours as <unk> (docs/tokenizers.md)
        pieces = theirs.convert_ids_to_tokens(theirs.encode(text, add_special_tokens=False))
        assert ours.tokenize(text) == pieces, text
    for a, b in PAIRS:
        assert ours(a, b)["input_ids"] == theirs(a, b)["input_ids"], (a, b)
        assert ours(a, b)["token_type_ids"] == theirs(a, b)["token_type_ids"], (a, b)
    batch = ours(TEXTS, padding=True)["input_ids"]
    assert batch == theirs(TEXTS, padding=True)["input_ids"]
    ids = theirs(TEXTS[2])["input_ids"]
    assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True)


def test_transformers_slow_differs_on_a_fast_save_only_at_user_defined_pieces():
    """The deliberate difference that makes the canonical reference of FAST_SAVED the vocabulary alone."""
    name = "sharded_safetensors"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_files = transformers.AlbertTokenizer.from_pretrained(str(LAYOUTS / name))
    assert set(on_files.get_added_vocab()) >= set(USER_DEFINED)  # the converter's artefacts
    ours, canonical = ours_tokenizer(name, AlbertTokenizer), reference_tokenizer(name)
    assert ours.get_added_vocab() == {t: i for t, i in on_files.get_added_vocab().items() if t not in USER_DEFINED}
    differ = 0
    for text in TEXTS + EDGES:
        if any(c in text for c in USER_DEFINED):
            differ += on_files(text)["input_ids"] != canonical(text)["input_ids"]
        else:
            assert ours(text)["input_ids"] == on_files(text)["input_ids"], text
    assert differ  # the texts do reach the difference


@pytest.mark.parametrize(("name", "cls"), TOKENIZER_CASES, ids=TOKENIZER_IDS)
def test_whitespace_edges_match_transformers_slow_tokenizer(name, cls):
    ours, theirs = ours_tokenizer(name, cls), reference_tokenizer(name)
    for text in EDGES:
        assert ours(text)["input_ids"] == theirs(text)["input_ids"], text


@pytest.mark.parametrize("name", NAMES)
def test_both_classes_agree(name):
    fast = ours_tokenizer(name, AlbertTokenizerFast)
    slow = ours_tokenizer(name, AlbertTokenizer)
    texts = TEXTS + EDGES + SENTENCEPIECE_ONLY
    assert fast(texts)["input_ids"] == slow(texts)["input_ids"]
    assert fast.special_tokens == slow.special_tokens
    assert fast.model_max_length == slow.model_max_length


@pytest.mark.parametrize("name", WITHOUT_SPIECE)
def test_a_layout_without_spiece_model_loads_the_rebuilt_source_model(name):
    """Both classes rebuild the spiece.model the tokenizer.json was converted from: its pieces, scores, types and
    normaliser are those of the source (transformers' slow class cannot load the layout at all)."""
    source = parse_model((SOURCE / "spiece.model").read_bytes())
    for cls in (AlbertTokenizer, AlbertTokenizerFast):
        tok = ours_tokenizer(name, cls)
        rebuilt = parse_model(tok.model_bytes if cls is AlbertTokenizer else tok._model_bytes)
        assert rebuilt.pieces == source.pieces
        assert rebuilt.precompiled_charsmap == source.precompiled_charsmap
    with pytest.raises((OSError, ValueError)), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transformers.AlbertTokenizer.from_pretrained(str(LAYOUTS / name))


def test_options_of_each_layout_are_read():
    """What the files say, read by both classes: keep_accents (v4 config), model_max_length 512 (the fine-tune),
    added tokens and an additional special token (added_tokens.json, special_tokens_map.json)."""
    for cls in (AlbertTokenizer, AlbertTokenizerFast):
        v4 = ours_tokenizer("tokenizer_config_v4", cls)
        assert v4.preprocessing.keep_accents is True
        assert v4.tokenize("café") != ours_tokenizer("spiece_only", cls).tokenize("café")
        assert ours_tokenizer("sequence_classification", cls).model_max_length == 512
        added = ours_tokenizer("added_tokens_json", cls)
        assert added.convert_tokens_to_ids(["covid19", "[ENT]"]) == [500, 501]
        assert added.additional_special_tokens == ["[ENT]"]
        assert len(added) == 502
    theirs = reference_tokenizer("added_tokens_json")
    assert theirs.additional_special_tokens == ["[ENT]"] and len(theirs) == 502


def test_transformers_4_cannot_read_the_v5_tokenizer_config():
    """Why the v5 layout's reference ids come from the slow class on its source vocabulary (and from 5.x)."""
    with pytest.raises(AttributeError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transformers.AlbertTokenizerFast.from_pretrained(str(LAYOUTS / "tokenizer_config_v5"))


_TF5_IDS = """
import json, sys, transformers
tok = transformers.AlbertTokenizer.from_pretrained(sys.argv[1])
texts = json.loads(sys.argv[2])
print(json.dumps([tok(t)["input_ids"] for t in texts]))
"""


def test_v5_layout_ids_match_transformers_5_on_the_same_files():
    """transformers 5.x, which wrote the layout, reads it back with the same ids as ours (it rebuilds its
    pipeline from the vocabulary, so it is canonical there, whitespace included), except on what only
    SentencePiece settles (its pipeline is Rust's; ours runs SentencePiece on the rebuilt model there)."""
    if not TF5_PYTHON.exists():
        pytest.skip("bench/.venv-tf5 (transformers 5) is missing: bash bench/setup_reference.sh makes it")
    name = "tokenizer_config_v5"
    texts = TEXTS + EDGES
    done = subprocess.run(
        [str(TF5_PYTHON), "-c", _TF5_IDS, str(LAYOUTS / name), json.dumps(texts)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    ours = ours_tokenizer(name, AlbertTokenizerFast)
    for text, want in zip(texts, theirs, strict=True):
        assert ours(text)["input_ids"] == want, text


# -- models -------------------------------------------------------------------------------------------------
@functools.cache
def ours_model(name: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error", A.HeadInitializedWarning)  # every layout has its head
        return getattr(A, architecture(name)).from_pretrained(LAYOUTS / name)


@functools.cache
def reference_model(name: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(transformers, architecture(name)).from_pretrained(str(LAYOUTS / name)).eval()


@pytest.mark.parametrize("name", NAMES)
def test_model_loads_whole_with_the_same_logits(name):
    ours, theirs = ours_model(name), reference_model(name)
    report = ours.load_report
    assert report.ok and not report.head_missing, report.describe()
    assert not report.newly_initialized
    batch = reference_tokenizer(name)(TEXTS + [a for a, _ in PAIRS], padding=True, return_tensors="pt")
    with torch.no_grad():
        got = ours(**batch).logits
        want = theirs(**batch).logits
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_base_model_loads_from_every_layout_as_in_transformers(name):
    """AlbertModel.from_pretrained on a checkpoint with a head, the most common first line of all: the
    ``albert.`` prefix is stripped, the head's weights are reported unused, the outputs are transformers'. A
    pooler the checkpoint lacks (transformers 4.x's masked-LM class has none) starts at random, with a warning,
    in both libraries."""
    has_pooler = name in ("pytorch_model_bin", "sequence_classification")  # transformers 4.x's MLM has none
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = A.AlbertModel.from_pretrained(LAYOUTS / name)
    fresh = [str(w.message) for w in caught if issubclass(w.category, A.HeadInitializedWarning)]
    assert ours.load_report.ok and ours.load_report.unused
    assert ours.load_report.newly_initialized == ([] if has_pooler else ["pooler.bias", "pooler.weight"])
    assert bool(fresh) != has_pooler, fresh
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = transformers.AlbertModel.from_pretrained(str(LAYOUTS / name)).eval()
    batch = reference_tokenizer(name)(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        got, want = ours(**batch), theirs(**batch)
    torch.testing.assert_close(got.last_hidden_state, want.last_hidden_state, atol=1e-5, rtol=0)
    if has_pooler:
        torch.testing.assert_close(got.pooler_output, want.pooler_output, atol=1e-5, rtol=0)


def hub_cache_snapshot(directory: Path, cache: Path) -> Path:
    """``directory`` as the hub's cache holds a download: files in ``blobs/`` by sha256, a snapshot of links."""
    repo = cache / f"models--layouts--{directory.name}"
    snapshot = repo / "snapshots" / ("0" * 40)
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for path in directory.iterdir():
        data = path.read_bytes()
        blob = hashlib.sha256(data).hexdigest()
        (repo / "blobs" / blob).write_bytes(data)
        (snapshot / path.name).symlink_to(Path("..") / ".." / "blobs" / blob)
    return snapshot


@pytest.mark.parametrize("name", NAMES)
def test_layout_loads_the_same_from_a_hub_cache_snapshot(name, tmp_path):
    """Every file a link into the repository's blobs (the shards of an index too): read as from the directory."""
    snapshot = hub_cache_snapshot(LAYOUTS / name, tmp_path)
    model = getattr(A, architecture(name)).from_pretrained(snapshot)
    batch = reference_tokenizer(name)(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, ours_model(name)(**batch).logits, atol=0, rtol=0)
    fast = AlbertTokenizerFast.from_pretrained(snapshot)
    assert fast(TEXTS)["input_ids"] == ours_tokenizer(name, AlbertTokenizerFast)(TEXTS)["input_ids"]
    slow = AlbertTokenizer.from_pretrained(snapshot)
    assert slow(TEXTS)["input_ids"] == ours_tokenizer(name, AlbertTokenizer)(TEXTS)["input_ids"]


def test_classification_labels_come_from_id2label():
    model = ours_model("sequence_classification")
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert model.config.label2id == {"negative": 0, "positive": 1}
    assert model.config.num_labels == 2


# -- pipelines ----------------------------------------------------------------------------------------------
@functools.cache
def ours_pipeline(name: str) -> Any:
    return pipeline(TASKS[architecture(name)], model=LAYOUTS / name, device=-1)


@functools.cache
def reference_pipeline(name: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return transformers.pipeline(
            TASKS[architecture(name)], model=str(LAYOUTS / name), tokenizer=reference_tokenizer(name), device=-1
        )


@pytest.mark.parametrize("name", [n for n in NAMES if architecture(n) == "AlbertForMaskedLM"])
@pytest.mark.parametrize("kwargs", [{}, {"top_k": 3}, {"targets": ["\u2581france", "\u2581the"]}])
def test_fill_mask_pipeline_matches_transformers(name, kwargs):
    ours, theirs = ours_pipeline(name), reference_pipeline(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for text in FILL:
            same(ours(text, **kwargs), theirs(text, **kwargs))
        same(ours(FILL, **kwargs), theirs(FILL, **kwargs))


@pytest.mark.parametrize("kwargs", [{}, {"top_k": None}, {"top_k": 1}, {"function_to_apply": "sigmoid"}])
def test_text_classification_pipeline_matches_transformers_with_named_labels(kwargs):
    ours, theirs = ours_pipeline("sequence_classification"), reference_pipeline("sequence_classification")
    labels = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for inputs in CLASSIFY:
            got = ours(inputs, **kwargs)
            same(got, theirs(inputs, **kwargs))
            flat = got if isinstance(got, list) else [got]
            while flat and isinstance(flat[0], list):
                flat = [x for row in flat for x in row]
            labels |= {entry["label"] for entry in flat}
    assert labels and labels <= {"negative", "positive"}


# -- a tokenizer_config.json transformers 5.x wrote ---------------------------------------------------------
def v5_copy(tmp_path: Path, **changes: Any) -> Path:
    """The v5 layout's tokenizer files in tmp_path, its tokenizer_config.json updated with ``changes``."""
    directory = tmp_path / "v5"
    directory.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (directory / name).write_bytes((LAYOUTS / "tokenizer_config_v5" / name).read_bytes())
    config = json.loads((directory / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.update(changes)
    (directory / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory


def test_v5_extra_special_tokens_list_is_additional_special_tokens(tmp_path):
    """transformers 5.x names additional_special_tokens extra_special_tokens (a list, where it also repeats the
    named special tokens); a token it lists is special, and matched whole in text, as 5.x does."""
    listed = json.loads((LAYOUTS / "tokenizer_config_v5" / "tokenizer_config.json").read_text(encoding="utf-8"))
    directory = v5_copy(tmp_path, extra_special_tokens=[*listed["extra_special_tokens"], "<ent>"])
    tok = AlbertTokenizerFast.from_pretrained(directory)
    assert tok.additional_special_tokens == ["<ent>"]
    assert len(tok) == 501 and tok.convert_tokens_to_ids("<ent>") == 500
    assert tok("a <ent>b [SEP]")["input_ids"] == [2, 34, 500, 13, 66, 3, 3]  # transformers 5.25 gives the same
    assert ours_tokenizer("tokenizer_config_v5", AlbertTokenizerFast).additional_special_tokens == []


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"add_prefix_space": False}, r"add_prefix_space=False is not supported"),
        ({"trim_offsets": False}, r"trim_offsets=False is not supported"),
        ({"backend": "custom"}, r"backend 'custom' is not one transformers 5.x runs ALBERT with"),
        ({"unk_id": "1"}, r"unk_id must be a non-negative int"),
        ({"extra_special_tokens": "<ent>"}, r"extra_special_tokens must be a list"),
        ({"chat_template": "{{ x }}"}, r"key\(s\) \['chat_template'\] are not understood"),
    ],
)
def test_v5_config_refuses_what_would_change_the_ids(tmp_path, changes, match):
    with pytest.raises(ValueError, match=match):
        AlbertTokenizerFast.from_pretrained(v5_copy(tmp_path, **changes))


def test_v5_keys_are_unknown_in_a_config_transformers_5_did_not_write(tmp_path):
    """Without "backend" (which transformers 5.x always writes) its keys are unknown, as in any other config."""
    directory = v5_copy(tmp_path)
    config = json.loads((directory / "tokenizer_config.json").read_text(encoding="utf-8"))
    del config["backend"]
    (directory / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ValueError, match=r"'add_prefix_space', 'is_local', 'local_files_only', 'trim_offsets'"):
        AlbertTokenizerFast.from_pretrained(directory)


# -- a tied weight saved under its alias only ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "alias"),
    [
        ("predictions.bias", "predictions.decoder.bias"),
        ("albert.embeddings.word_embeddings.weight", "predictions.decoder.weight"),
    ],
)
def test_a_tied_weight_saved_under_its_alias_only_loads(tmp_path, source, alias):
    """A converter that keeps one name of two tied parameters may keep the alias. Tied parameters are one
    tensor, so the alias's value is the source's: loaded into it, not left at random (transformers 4.57 loads
    the bias case the same way; for the embedding it leaves the parameter unset, on the meta device)."""
    from safetensors.torch import load_file, save_file

    directory = tmp_path / "alias"
    directory.mkdir()
    (directory / "config.json").write_bytes((SOURCE / "config.json").read_bytes())
    state = load_file(SOURCE / "model.safetensors")
    state[alias] = state.pop(source)
    save_file(state, directory / "model.safetensors", metadata={"format": "pt"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", A.HeadInitializedWarning)
        model = A.AlbertForMaskedLM.from_pretrained(directory)
    assert model.load_report.ok and not model.load_report.newly_initialized
    batch = reference_tokenizer("spiece_only")(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, ours_model("spiece_only")(**batch).logits, atol=0, rtol=0)
    if alias == "predictions.decoder.bias":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = transformers.AlbertForMaskedLM.from_pretrained(str(directory)).eval()
        with torch.no_grad():
            torch.testing.assert_close(model(**batch).logits, theirs(**batch).logits, atol=1e-5, rtol=0)


# -- every layout tokenizes as SentencePiece, on any text ---------------------------------------------------
@pytest.mark.parametrize(("name", "cls"), TOKENIZER_CASES, ids=TOKENIZER_IDS)
@given(text=strategies.any_text)
def test_any_text_gets_transformers_slow_ids(name, cls, text):
    """The invariant behind every layout: ids are SentencePiece's (transformers' slow class on the same files, or
    on the source spiece.model of a tokenizer.json alone), whichever other files the directory holds and whoever
    wrote them."""
    assert ours_tokenizer(name, cls)(text)["input_ids"] == reference_tokenizer(name)(text)["input_ids"]


@pytest.mark.parametrize("cls", [AlbertTokenizer, AlbertTokenizerFast], ids=lambda c: c.__name__)
@pytest.mark.parametrize("text", SENTENCEPIECE_ONLY, ids=["tie", "variation-selector", "grapheme-joiner"])
@pytest.mark.parametrize("name", WITHOUT_SPIECE)
def test_without_spiece_model_what_only_sentencepiece_settles(name, text, cls):
    """Settled by SentencePiece on the rebuilt model, as on the source spiece.model."""
    assert ours_tokenizer(name, cls)(text)["input_ids"] == reference_tokenizer(name)(text)["input_ids"]


def test_a_tokenizer_file_run_as_it_is_gives_the_writers_ids():
    """Where it is not SentencePiece's, a tokenizer.json run as it is (``tokenizer_file=``) gives the ids of the
    fast tokenizer that wrote it: transformers 4.x's here, except at the user-defined pieces its converter made
    added tokens of, where ours stays canonical. ``from_pretrained`` rebuilds the SentencePiece model instead."""
    name = "tokenizer_json_only"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        writer = transformers.AlbertTokenizerFast.from_pretrained(str(LAYOUTS / name))
    ours = AlbertTokenizerFast(tokenizer_file=LAYOUTS / name / "tokenizer.json")
    for text in TEXTS + EDGES + SENTENCEPIECE_ONLY:
        if not any(c in text for c in USER_DEFINED):
            assert ours(text)["input_ids"] == writer(text)["input_ids"], text
