"""Tokenizer files that are not what they claim: a directory, a device or a FIFO given as a model file is
"not a regular file" (and never read forever); JSON nested absurdly deep is a ``FILE: problem`` error."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from albert_tok import AlbertTokenizer, AlbertTokenizerFast
from albert_tok.io._regular import NotARegularFileError

from .conftest import SPIECE

CONSTRUCTORS: dict[str, Callable[[str], object]] = {
    "slow vocab_file": lambda p: AlbertTokenizer(p),
    "fast vocab_file": lambda p: AlbertTokenizerFast(vocab_file=p),
    "fast tokenizer_file": lambda p: AlbertTokenizerFast(tokenizer_file=p),
}
FILES = ["spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"]


def _bounded(call: Callable[[], object], fifo: Path | None = None) -> BaseException | None:
    """Run ``call`` in a thread; fail if it is still running after 60 s (reading a FIFO or a device
    forever). Returns what it raised."""
    caught: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            caught.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    if thread.is_alive():
        if fifo is not None:  # let the stuck reader see end of file, so the thread ends
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        pytest.fail("reading the file never ended")
    return caught[0] if caught else None


def _special(kind: str, tmp_path: Path) -> Path:
    if kind == "directory":
        path = tmp_path / "model-dir"
        path.mkdir()
        return path
    if kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)
        return path
    return Path(kind)


KINDS = ["directory", "fifo", "/dev/null", "/dev/zero", "/dev/urandom"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("constructor", list(CONSTRUCTORS))
def test_model_file_that_is_not_a_regular_file(tmp_path, constructor, kind):
    path = _special(kind, tmp_path)
    error = _bounded(lambda: CONSTRUCTORS[constructor](str(path)), path if kind == "fifo" else None)
    assert isinstance(error, NotARegularFileError), repr(error)
    assert "not a regular file" in str(error) and str(path) in str(error)


def test_missing_model_file_still_says_does_not_exist(tmp_path):
    for constructor in CONSTRUCTORS.values():
        with pytest.raises(FileNotFoundError, match="does not exist"):
            constructor(str(tmp_path / "absent"))


def _saved(tmp_path: Path) -> Path:
    out = tmp_path / "tok"
    tokenizer = AlbertTokenizerFast(SPIECE)
    tokenizer.add_tokens(["newtok"])  # so that added_tokens.json is written too
    tokenizer.save_pretrained(out)
    assert sorted(os.listdir(out)) == sorted(FILES)
    return out


@pytest.mark.parametrize("kind", ["directory", "fifo"])
@pytest.mark.parametrize("name", FILES)
def test_tokenizer_directory_file_that_is_not_a_regular_file(tmp_path, name, kind):
    out = _saved(tmp_path)
    os.remove(out / name)
    if kind == "directory":
        (out / name).mkdir()
    else:
        os.mkfifo(out / name)
    for cls in (AlbertTokenizer, AlbertTokenizerFast):
        error = _bounded(lambda c=cls: c.from_pretrained(out), out / name if kind == "fifo" else None)
        assert isinstance(error, NotARegularFileError), (cls, repr(error))
        assert f"{out / name}" in str(error) and "not a regular file" in str(error)


def test_tokenizer_directory_file_that_is_a_link_to_a_file_is_read(tmp_path):
    out = _saved(tmp_path)
    expected = AlbertTokenizerFast.from_pretrained(out).encode("Hello newtok")
    shutil.move(out / "tokenizer_config.json", tmp_path / "real.json")
    os.symlink(tmp_path / "real.json", out / "tokenizer_config.json")
    assert AlbertTokenizerFast.from_pretrained(out).encode("Hello newtok") == expected


@pytest.mark.parametrize("name", [n for n in FILES if n.endswith(".json")])
def test_deeply_nested_json_names_the_file(tmp_path, name):
    out = _saved(tmp_path)
    (out / name).write_text("[" * 100_000 + "]" * 100_000)
    for cls in (AlbertTokenizer, AlbertTokenizerFast):
        with pytest.raises(ValueError, match=f"{out / name}: JSON nested more than"):
            cls.from_pretrained(out)


def test_deeply_nested_tokenizer_file_names_the_file(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ValueError, match=f"{path}: JSON nested more than"):
        AlbertTokenizerFast(tokenizer_file=str(path))


@pytest.mark.parametrize("name", [n for n in FILES if n.endswith(".json")])
def test_json_that_is_not_utf8_names_the_file(tmp_path, name):
    out = _saved(tmp_path)
    (out / name).write_bytes(b'{"a": "\xff"}')
    for cls in (AlbertTokenizer, AlbertTokenizerFast):
        with pytest.raises(ValueError, match=f"{out / name}"):
            cls.from_pretrained(out)
