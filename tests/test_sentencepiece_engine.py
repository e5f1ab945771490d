"""One SentencePiece engine under both tokenizers (albert_tok.engines.SentencePieceEngine).

The fast tokenizer hands the rows its Rust tokenizer cannot encode canonically to the same engine the slow
tokenizer encodes everything with; it holds no slow tokenizer, and a pickled tokenizer carries only its
constructor arguments.
"""

from __future__ import annotations

import ast
import pickle
import pickletools
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from albert_tok import AlbertTokenizer, AlbertTokenizerFast
from albert_tok.engines import SentencePieceEngine
from tests.strategies import SPIECE, add_test_tokens, added_token_text, any_text, long_text

ROOT = Path(__file__).resolve().parent.parent

mixed_texts = st.lists(st.one_of(any_text, added_token_text, long_text), min_size=1, max_size=8)


def _reachable(obj: object, seen: set[int] | None = None) -> list[object]:
    """``obj`` and what its attributes hold, through the containers and this package's own objects."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    found = [obj]
    if isinstance(obj, dict):
        children = [*obj.keys(), *obj.values()]
    elif isinstance(obj, (list, tuple, set, frozenset)):
        children = list(obj)
    elif type(obj).__module__.startswith("albert_tok") and hasattr(obj, "__dict__"):
        children = list(vars(obj).values())
    else:
        children = []
    for child in children:
        found += _reachable(child, seen)
    return found


def _pickled_names(data: bytes) -> set[str]:
    """Every word of the strings a pickle holds: the module and class names of the objects it rebuilds among
    them (``GLOBAL`` names them as ``"module name"``, ``STACK_GLOBAL`` as two strings)."""
    return {part for _, arg, _ in pickletools.genops(data) if isinstance(arg, str) for part in arg.split()}


@pytest.fixture(scope="module")
def with_added():
    return add_test_tokens(AlbertTokenizer(SPIECE)), add_test_tokens(AlbertTokenizerFast(SPIECE))


def test_fast_holds_no_slow_tokenizer(fast, with_added):
    for tok in (fast, with_added[1]):
        assert not [o for o in _reachable(tok) if isinstance(o, AlbertTokenizer)]
        assert isinstance(tok._engine, SentencePieceEngine)
        data = pickle.dumps(tok)
        assert "AlbertTokenizer" not in _pickled_names(data)
        assert not [v for v in tok.__getstate__().values() if isinstance(v, AlbertTokenizer)]


def test_both_tokenizers_encode_through_one_engine_class(slow, fast):
    assert type(slow._engine) is type(fast._engine) is SentencePieceEngine
    assert slow._engine is not fast._engine
    assert slow._engine.pieces == fast._engine.pieces


def test_fast_from_tokenizer_json_has_no_engine(tmp_path):
    AlbertTokenizerFast(SPIECE).save_pretrained(tmp_path)
    (tmp_path / "spiece.model").unlink()
    tok = AlbertTokenizerFast(tokenizer_file=tmp_path / "tokenizer.json")  # from_pretrained rebuilds spiece.model
    assert tok._engine is None
    assert "tokenizer_json" in tok.__getstate__()
    assert pickle.loads(pickle.dumps(tok)).encode("Hello 1,000 [MASK]") == tok.encode("Hello 1,000 [MASK]")


def test_engine_knows_the_added_tokens_of_its_tokenizer(with_added):
    for tok in with_added:
        assert tok._engine.surface_ids == tok._surface_ids
        assert tok._engine.surface_ids  # "WORLD" is not lower-cased: an unknown surface can spell it
    for tok in pickle.loads(pickle.dumps(with_added)):
        assert tok._engine.surface_ids == tok._surface_ids


def test_pickled_state_is_constructor_arguments(slow, fast):
    slow_state, fast_state = slow.__getstate__(), fast.__getstate__()
    assert slow_state["model_bytes"] == fast_state["model_bytes"] == SPIECE.read_bytes()
    assert slow_state["num_threads"] == -1 and "num_threads" not in fast_state
    assert {k: v for k, v in slow_state.items() if k != "num_threads"} == fast_state


def test_num_threads_survives_pickling():
    tok = AlbertTokenizer(SPIECE, num_threads=2)
    tok.num_threads = 3
    assert tok._engine.num_threads == 3
    assert pickle.loads(pickle.dumps(tok)).num_threads == 3


@pytest.fixture(scope="module")
def pickled(slow, fast, with_added):
    """Each tokenizer and its copy through pickle, made once (a round trip reads the whole vocabulary)."""
    return [(tok, pickle.loads(pickle.dumps(tok))) for tok in (slow, fast, *with_added)]


@given(texts=mixed_texts, offsets=st.booleans())
def test_pickled_tokenizers_give_the_same_ids(pickled, with_added, texts, offsets):
    for tok, clone in pickled:
        options = {"return_offsets_mapping": offsets}
        assert clone(texts, **options).data == tok(texts, **options).data
    assert with_added[0](texts)["input_ids"] == with_added[1](texts)["input_ids"]


def test_engine_imports_neither_tokenizers_nor_the_api():
    # statically: engines sit below the API (lint-imports checks the layers too), and the Rust library is
    # never named; at run time (albert_tok's own __init__ imports the API, so only the Rust library is checked)
    tree = ast.parse((ROOT / "albert_tok" / "engines" / "_sentencepiece.py").read_text(encoding="utf-8"))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [m for m in imported if m.split(".")[0] == "tokenizers" or m.startswith("albert_tok.api")]
    code = f"""
import sys
from albert_tok.engines import SentencePieceEngine, load_spiece_bytes
from albert_tok.rules import Preprocessing
engine = SentencePieceEngine(load_spiece_bytes({str(SPIECE)!r}), Preprocessing())
engine.encode(["Hello 1,000 world"]); engine.encode_with_spans("Hello 1,000 world")
print("tokenizers" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False"]


@given(texts=st.lists(any_text, min_size=1, max_size=6))
def test_engine_ids_are_the_tokenizers(slow, fast, texts):
    engine = slow._engine
    plain = [t for t in texts if not slow._added.split(t)]  # the engine encodes text between added tokens
    expected = [slow.encode(t, add_special_tokens=False) for t in plain]
    assert engine.encode(plain) == expected == [fast.encode(t, add_special_tokens=False) for t in plain]
    assert [engine.encode_with_spans(t)[0] for t in plain] == expected


# -- one text without the wrapper's cost (engines._sentencepiece.one_text_encoder) ------------------------------
@given(text=st.one_of(any_text, long_text))
def test_one_text_encoder_gives_the_wrappers_ids(slow, text):
    processor = slow._engine.processor
    assert slow._engine._encode_text(text) == processor.encode(text)


def test_one_text_encoder_falls_back_to_the_wrapper():
    import sentencepiece as spm

    from albert_tok.engines._sentencepiece import one_text_encoder

    class Plain:  # a build without the pybind11 method: its own encode is used
        def encode(self, text):
            return [len(text)]

    plain = Plain()
    assert one_text_encoder(plain) == plain.encode
    sampling = spm.SentencePieceProcessor(model_file=str(SPIECE), enable_sampling=True, nbest_size=-1, alpha=0.1)
    assert one_text_encoder(sampling) == sampling.encode

    class Disagrees:  # a method that answers otherwise than the wrapper: the wrapper
        def __init__(self):
            real = spm.SentencePieceProcessor(model_file=str(SPIECE))
            self.__dict__.update({k: v for k, v in vars(real).items() if k != "_processor"})
            self._processor = type("P", (), {"_EncodeAsIds": staticmethod(lambda *args: [1])})()
            self.encode = real.encode

    disagrees = Disagrees()
    assert one_text_encoder(disagrees) == disagrees.encode
