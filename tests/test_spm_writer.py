"""Rebuilding ``spiece.model`` from a ``tokenizer.json`` (issue #25, item 5): the rebuilt model segments as the
original does, and a ``tokenizer.json`` that was not converted from an ALBERT ``spiece.model`` is refused by name
(the fast class still runs it as it is)."""

from __future__ import annotations

import copy
import functools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import sentencepiece as spm
from hypothesis import given

from albert_tok import AlbertTokenizer, AlbertTokenizerFast
from albert_tok.engines import ModelFormatError, PieceType, model_from_tokenizer_json, parse_model

from . import strategies
from .conftest import ROOT, SHARED, SPIECE

LAYOUTS = ROOT / "fixtures" / "hub_layouts"


@functools.cache
def saved_tokenizer_json() -> dict[str, Any]:
    """The tokenizer.json this package's converter writes for fixtures/spiece.model."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        AlbertTokenizerFast(SPIECE).save_pretrained(directory)
        data: dict[str, Any] = json.loads((Path(directory) / "tokenizer.json").read_text(encoding="utf-8"))
    return data


@functools.cache
def processors() -> tuple[spm.SentencePieceProcessor, spm.SentencePieceProcessor]:
    original = spm.SentencePieceProcessor(model_proto=SPIECE.read_bytes())
    rebuilt = spm.SentencePieceProcessor(model_proto=model_from_tokenizer_json(saved_tokenizer_json()))
    return original, rebuilt


def corpus_sample() -> list[str]:
    lines = ["Hello (world) - 1,000 people.", "  trailing  ", "er222", "\ufe0f", "\u034fx", "£5 – €7 [CLS] <pad>"]
    for path in sorted((SHARED / "corpora").glob("*.txt")) if (SHARED / "corpora").is_dir() else []:
        text = path.read_text(encoding="utf-8", errors="replace").split("\n")
        lines += [line for line in text[:4000:10] if line.strip()]
    return lines


def test_rebuilt_model_holds_the_original_pieces_and_normaliser():
    original = parse_model(SPIECE.read_bytes())
    rebuilt = parse_model(model_from_tokenizer_json(saved_tokenizer_json()))
    assert rebuilt == original  # pieces (text, score, type), model type and normaliser spec
    kinds = {p.piece: p.type for p in rebuilt.pieces[:13]}
    assert kinds["<unk>"] == PieceType.UNKNOWN
    assert {kinds[p] for p in ("<pad>", "[CLS]", "[SEP]", "[MASK]")} == {PieceType.CONTROL}
    assert {kinds[p] for p in '()"-.\u2013£€'} == {PieceType.USER_DEFINED}


def test_rebuilt_model_has_albert_special_ids():
    original, rebuilt = processors()
    for name in ("unk_id", "pad_id", "bos_id", "eos_id", "vocab_size"):
        assert getattr(rebuilt, name)() == getattr(original, name)(), name


def test_rebuilt_model_segments_the_corpora_as_the_original():
    original, rebuilt = processors()
    lines = corpus_sample()
    assert original.encode(lines) == rebuilt.encode(lines)
    assert original.encode(lines, out_type=str) == rebuilt.encode(lines, out_type=str)


@given(text=strategies.any_text)
def test_rebuilt_model_segments_any_text_as_the_original(text):
    original, rebuilt = processors()
    assert rebuilt.encode(text) == original.encode(text)
    assert rebuilt.encode(text, out_type=str) == original.encode(text, out_type=str)


@pytest.mark.parametrize("name", ["tokenizer_json_only", "tokenizer_config_v5"])
def test_transformers_tokenizer_json_rebuilds_its_source_model(name):
    data = json.loads((LAYOUTS / name / "tokenizer.json").read_text(encoding="utf-8"))
    assert parse_model(model_from_tokenizer_json(data)) == parse_model(
        (LAYOUTS / "spiece_only" / "spiece.model").read_bytes()
    )


def test_a_saved_directory_without_spiece_model_loads_canonically_in_both_classes(tmp_path):
    AlbertTokenizerFast(SPIECE).save_pretrained(tmp_path)
    (tmp_path / "spiece.model").unlink()
    reference = AlbertTokenizer(SPIECE)
    texts = ["Hello (world) - 1,000 people.", "  trailing  ", "er222 \ufe0f \u034fx", "a [MASK] b"]
    for cls in (AlbertTokenizer, AlbertTokenizerFast):
        loaded = cls.from_pretrained(tmp_path)
        assert loaded(texts)["input_ids"] == reference(texts)["input_ids"], cls.__name__


def _without_charsmap(data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    steps = data["normalizer"]["normalizers"]
    data["normalizer"]["normalizers"] = [s for s in steps if s.get("type") != "Precompiled"]
    return data


def _model_of(kind: str) -> dict[str, Any]:
    if kind == "BPE":
        return {"type": "BPE", "vocab": {"a": 0}, "merges": []}
    return {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}, "unk_token": "[UNK]"}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: {**d, "model": _model_of("BPE")}, r"the model is 'BPE', not a Unigram"),
        (lambda d: {**d, "model": _model_of("WordPiece")}, r"the model is 'WordPiece', not a Unigram"),
        (_without_charsmap, r"no Precompiled normalizer with a precompiled_charsmap"),
        (lambda d: {**d, "normalizer": None}, r"no Precompiled normalizer"),
        (lambda d: {**d, "model": {**d["model"], "byte_fallback": True}}, r"byte_fallback is not ALBERT's"),
        (lambda d: {**d, "model": {**d["model"], "unk_id": None}}, r"unk_id None does not name a piece"),
        (lambda d: {**d, "model": {**d["model"], "vocab": []}}, r"non-empty list"),
        (lambda d: {**d, "model": {**d["model"], "vocab": [["a", "b"]], "unk_id": 0}}, r"vocab\[0\] is not"),
    ],
)
def test_a_tokenizer_json_not_from_albert_spiece_is_refused(change, match):
    with pytest.raises(ModelFormatError, match=match):
        model_from_tokenizer_json(change(saved_tokenizer_json()))


def test_without_charsmap_the_slow_class_refuses_and_the_fast_class_runs_the_file(tmp_path):
    shutil.copy(LAYOUTS / "tokenizer_json_only" / "tokenizer.json", tmp_path / "tokenizer.json")
    data = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    (tmp_path / "tokenizer.json").write_text(json.dumps(_without_charsmap(data)), encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"has no spiece\.model.*cannot be rebuilt.*precompiled_charsmap"):
        AlbertTokenizer.from_pretrained(tmp_path)
    fast = AlbertTokenizerFast.from_pretrained(tmp_path)
    assert fast._model_bytes is None  # the file as it is, as before
    as_file = AlbertTokenizerFast(tokenizer_file=tmp_path / "tokenizer.json")
    texts = ["Hello (world) - 1,000 people.", "paris is the capital of france."]
    assert fast(texts)["input_ids"] == as_file(texts)["input_ids"]


def test_a_bpe_tokenizer_json_is_refused_by_both_classes(tmp_path):
    data = {**saved_tokenizer_json(), "model": _model_of("BPE"), "added_tokens": []}
    (tmp_path / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"cannot be rebuilt .*the model is 'BPE'"):
        AlbertTokenizer.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"the model is 'BPE', not a Unigram"):  # as before
        AlbertTokenizerFast.from_pretrained(tmp_path)
