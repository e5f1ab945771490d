"""Bad input fails early and clearly: config files, invalid text, absurd lengths, corrupt models; imports flow
one way (the slow tokenizer never needs the Rust library to load and encode)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from albert_tok import AlbertTokenizer, AlbertTokenizerFast, Preprocessing
from albert_tok.engines._spm_model import ModelFormatError, SentencePieceModel, parse_model

from .conftest import ROOT, SPIECE

CLASSES = [AlbertTokenizer, AlbertTokenizerFast]


# -- tokenizer_config.json / special_tokens_map.json (#8.2) ------------------------------------------
@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("saved")
    AlbertTokenizer(SPIECE).save_pretrained(directory)
    return directory


def _with_json(saved: Path, tmp_path: Path, name: str, edit) -> Path:
    directory = tmp_path / "edited"
    directory.mkdir()
    for p in saved.iterdir():
        (directory / p.name).write_bytes(p.read_bytes())
    data = json.loads((directory / name).read_text())
    (directory / name).write_text(json.dumps(edit(data)))
    return directory


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    "name, edit, match",
    [
        (
            "special_tokens_map.json",
            lambda d: {**d, "mask_token": {"lstrip": True}},
            r"special_tokens_map.json: mask_token is an object without \"content\"",
        ),
        (
            "special_tokens_map.json",
            lambda d: {**d, "sep_token": 7},
            "special_tokens_map.json: sep_token must be a non-",
        ),
        (
            "special_tokens_map.json",
            lambda d: {**d, "cls_token": {"content": ["x"]}},
            "special_tokens_map.json: cls_token.content must be a non-empty string",
        ),
        ("tokenizer_config.json", lambda d: {**d, "unk_token": {}}, r"tokenizer_config.json: unk_token is an object"),
        ("tokenizer_config.json", lambda d: {**d, "pad_token": ""}, "tokenizer_config.json: pad_token must be"),
        (
            "tokenizer_config.json",
            lambda d: {**d, "do_lower_case": "yes"},
            "tokenizer_config.json: do_lower_case must be true or false",
        ),
        (
            "tokenizer_config.json",
            lambda d: {**d, "model_max_length": "512"},
            "tokenizer_config.json: model_max_length must be a number",
        ),
        ("tokenizer_config.json", lambda d: [d], "tokenizer_config.json must hold a JSON object"),
    ],
)
def test_malformed_config_names_file_and_key(cls, saved, tmp_path, name, edit, match):
    directory = _with_json(saved, tmp_path, name, edit)
    with pytest.raises(ValueError, match=match):
        cls.from_pretrained(directory)


def test_config_values_that_are_read(saved, tmp_path):
    directory = _with_json(
        saved,
        tmp_path,
        "tokenizer_config.json",
        lambda d: {**d, "model_max_length": 10**30, "keep_accents": True, "mask_token": None},
    )
    tok = AlbertTokenizer.from_pretrained(directory)
    assert tok.model_max_length == 512 and tok.keep_accents and tok.mask_token == "[MASK]"
    assert AlbertTokenizer.from_pretrained(directory, keep_accents=False, mask_token="[MASK]").keep_accents is False


# -- text that is not valid for the tokenizer (#8.9) ------------------------------------------------------
@pytest.mark.parametrize("cls", CLASSES)
def test_lone_surrogates(cls):
    tok = cls(SPIECE)
    with pytest.raises(ValueError, match=r"text\[0\] is not valid UTF-8: lone surrogate U\+D800 at index 1"):
        tok("a\ud800b")
    with pytest.raises(ValueError, match=r"text\[1\] is not valid UTF-8: lone surrogate U\+DFFF at index 0"):
        tok(["ok", "\udfffx"])
    with pytest.raises(ValueError, match=r"text_pair\[0\] is not valid UTF-8"):
        tok("ok", "é\udc80")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        tok.tokenize("\ud83d")
    if cls is AlbertTokenizerFast:
        with pytest.raises(ValueError, match="not valid UTF-8"):
            tok("a\ud800", return_offsets_mapping=True)
    assert tok("\U0001f600") == tok("\ud83d\ude00".encode("utf-16", "surrogatepass").decode("utf-16"))


@pytest.mark.parametrize("cls", CLASSES)
def test_absurd_lengths_are_refused_before_allocating(cls):
    tok = cls(SPIECE)
    with pytest.raises(ValueError, match="max_length must be None or an int from 1 to 1,000,000, got 1000000000000"):
        tok("a", padding="max_length", max_length=10**12)
    with pytest.raises(ValueError, match="pad_to_multiple_of must be None or an int from 1 to 1,000,000"):
        tok("a", padding=True, pad_to_multiple_of=10**12)
    with pytest.raises(ValueError, match="max_length must be None or an int"):
        tok("a", truncation=True, max_length=0)
    with pytest.raises(ValueError, match="max_length must be None or an int"):
        tok("a", truncation=True, max_length=True)
    with pytest.raises(ValueError, match="model_max_length must be None or an int from 3 to 1,000,000"):
        cls(SPIECE, model_max_length=10**12)
    assert len(tok("a", padding="max_length", max_length=1000)["input_ids"]) == 1000


def test_preprocessing_arguments():
    with pytest.raises(TypeError, match="do_lower_case must be True or False"):
        Preprocessing(do_lower_case="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="keep_accents must be True or False"):
        AlbertTokenizer(SPIECE, keep_accents=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"preprocessing must be an albert_tok.Preprocessing"):
        AlbertTokenizer(SPIECE, preprocessing={"do_lower_case": False})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected argument"):
        AlbertTokenizer(SPIECE, lower=True)  # type: ignore[call-arg]


# -- corrupt SentencePiece models ---------------------------------------------------------------------
@pytest.fixture
def alarm():
    def expire(signum, frame):
        raise TimeoutError("parse_model ran over 10 s")

    previous = signal.signal(signal.SIGALRM, expire)
    yield lambda: signal.alarm(10)
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _parse_or_refuse(data: bytes) -> None:
    try:
        model = parse_model(data)
    except ModelFormatError:
        return
    assert isinstance(model, SentencePieceModel) and model.pieces


@given(data=st.binary(max_size=300))
def test_parse_model_fuzz_arbitrary_bytes(alarm, data):
    alarm()
    _parse_or_refuse(data)


REAL = SPIECE.read_bytes()[:6000]  # the first pieces: enough structure to mutate, cheap to parse


@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(REAL) - 1), st.integers(0, 255), st.sampled_from(["set", "cut", "ins"])),
        min_size=1,
        max_size=6,
    )
)
def test_parse_model_fuzz_mutated_model(alarm, edits):
    alarm()
    data = bytearray(REAL)
    for pos, byte, op in edits:
        pos %= max(len(data), 1)
        if op == "set" and data:
            data[pos] = byte
        elif op == "cut":
            del data[pos:]
        else:
            data[pos:pos] = bytes([byte]) * 3
    _parse_or_refuse(bytes(data))


def test_parse_model_refuses_wrong_wire_types():
    piece = b"\x0a\x01a" + b"\x15\x00\x00\x80\xbf" + b"\x18\x01"  # piece "a", score -1.0, NORMAL
    model = b"\x0a" + bytes([len(piece)]) + piece
    assert parse_model(model).pieces[0].piece == "a"
    # The precompiled charsmap given as a varint 2**32-1: once allocated as bytes(2**32 - 1).
    norm = b"\x10\xff\xff\xff\xff\x0f"
    with pytest.raises(ModelFormatError, match="field 2 must be length-delimited"):
        parse_model(model + b"\x1a" + bytes([len(norm)]) + norm)
    with pytest.raises(ModelFormatError, match="score must be a 32-bit float"):
        parse_model(b"\x0a\x05\x0a\x01a\x10\x01")


# -- imports flow one way (#9.2) -------------------------------------------------------------------------
def test_slow_tokenizer_never_imports_tokenizers(tmp_path):
    code = f"""
import sys, pickle, albert_tok
from albert_tok import AlbertTokenizer
tok = AlbertTokenizer({str(SPIECE)!r})
tok("Hello 1,000 [MASK]", "pair", padding="max_length", max_length=16, truncation=True, return_tensors="np")
tok.decode(tok.encode("x y")); pickle.loads(pickle.dumps(tok)).tokenize("a b")
AlbertTokenizer.from_pretrained({str(ROOT / "albert_model" / "default_model")!r})
print("tokenizers" in sys.modules, "torch" in sys.modules)
tok.save_pretrained({str(tmp_path / "out")!r})
print("tokenizers" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "True"]


# That the tokenizer modules form no import cycle and that the rules import nothing above them is an import
# contract (pyproject.toml, checked by lint-imports and tests/test_layers.py).
