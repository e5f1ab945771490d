"""albert_tok.atomic: whole-directory saves that survive kill -9, keep other files, and leave no litter."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from albert_tok import atomic, files

from .conftest import ROOT, SPIECE


def tree(path: Path) -> dict[str, bytes]:
    """Relative path -> content of every file under ``path``."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p for p in os.listdir(parent) if p != name)


# -- write_directory ---------------------------------------------------------------------------------
def test_new_directory_and_return_value(tmp_path):
    out = tmp_path / "a" / "b"
    paths = atomic.write_directory(out, {"x.json": b"{}", "sub/y.bin": b"\0"}, create=True)
    assert paths == [str(out / "x.json"), str(out / "sub" / "y.bin")]
    assert tree(out) == {"x.json": b"{}", "sub/y.bin": b"\0"}
    assert leftovers(tmp_path / "a", "b") == []
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o777 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_keeps_other_entries_recursively(tmp_path):
    out = tmp_path / "model"
    atomic.write_directory(out, {"config.json": b"model", "model.safetensors": b"w" * 100,
                                 "checkpoint/optimizer.pt": b"opt", "checkpoint/deep/state.json": b"s"}, create=True)
    os.symlink("config.json", out / "link")
    before = os.stat(out / "model.safetensors").st_ino
    atomic.write_directory(out, {"tokenizer.json": b"tok", "config.json": b"model-2"})
    assert tree(out) == {"config.json": b"model-2", "model.safetensors": b"w" * 100, "tokenizer.json": b"tok",
                         "checkpoint/optimizer.pt": b"opt", "checkpoint/deep/state.json": b"s",
                         "link": b"model-2"}
    assert os.readlink(out / "link") == "config.json"
    assert os.stat(out / "model.safetensors").st_ino == before  # carried over by hard link, not copied
    assert leftovers(tmp_path, "model") == []


def test_replaces_inside_a_subdirectory(tmp_path):
    out = tmp_path / "m"
    atomic.write_directory(out, {"checkpoint/a": b"1", "checkpoint/b": b"2", "top": b"t"}, create=True)
    atomic.write_directory(out, {"checkpoint/a": b"new"})
    assert tree(out) == {"checkpoint/a": b"new", "checkpoint/b": b"2", "top": b"t"}


def test_remove_drops_named_entries_in_the_same_step(tmp_path):
    out = tmp_path / "m"
    atomic.write_directory(out, {"added.json": b"{}", "keep": b"k", "sub/old": b"o", "sub/kept": b"s"}, create=True)
    paths = atomic.write_directory(out, {"new": b"n"}, remove=["added.json", "sub/old", "absent"])
    assert paths == [str(out / "new")]
    assert tree(out) == {"keep": b"k", "new": b"n", "sub/kept": b"s"}
    assert leftovers(tmp_path, "m") == []
    with pytest.raises(ValueError, match="relative path"):
        atomic.write_directory(out, {}, remove=["../x"])


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic.write_directory(tmp_path / "missing", {"a": b""})
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        atomic.write_directory(tmp_path / "file", {"a": b""})
    for bad in ("../escape", "/abs", "a/../b", "", ".", "a//b"):
        with pytest.raises(ValueError, match="relative path"):
            atomic.write_directory(tmp_path, {bad: b""})
    with pytest.raises(TypeError, match="must be bytes"):
        atomic.write_directory(tmp_path, {"a": "text"})  # type: ignore[dict-item]


def test_failure_changes_nothing(tmp_path):
    out = tmp_path / "d"
    atomic.write_directory(out, {"a": b"old", "keep": b"k"}, create=True)
    calls = []

    def failing(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        Path(path).write_bytes(data)

    with pytest.raises(OSError, match="disk full"):
        atomic.write_directory(out, {"a": b"new", "b": b"new"}, writer=failing)
    assert tree(out) == {"a": b"old", "keep": b"k"}
    assert leftovers(tmp_path, "d") == []
    with pytest.raises(OSError, match="disk full"):
        calls.clear()
        atomic.write_directory(tmp_path / "fresh", {"a": b"", "b": b""}, create=True, writer=failing)
    assert leftovers(tmp_path, "d") == []


def test_stale_temporaries_are_removed(tmp_path):
    out = tmp_path / "d"
    atomic.write_directory(out, {"a": b"1"}, create=True)
    (tmp_path / ".d.atomic-new").mkdir()
    (tmp_path / ".d.atomic-new" / "junk").write_bytes(b"half")
    (out / ".tmp-abc").mkdir()  # staging folder of the earlier version, inside the directory
    (out / ".a.atomic-tmp").write_bytes(b"half")
    atomic.write_directory(out, {"b": b"2"})
    assert leftovers(tmp_path, "d") == []
    assert tree(out) == {"a": b"1", "b": b"2"}


@pytest.mark.parametrize("left", [["ready", "old"], ["old"], ["ready"]])
def test_recover_finishes_a_half_done_fallback_swap(tmp_path, left):
    # The fallback swap is: staging -> .d.atomic-ready, d -> .d.atomic-old, ready -> d. Killed between the
    # renames, d is missing; recover() (called by every tokenizer loader) puts the newest complete tree back.
    for kind in left:
        atomic.write_directory(tmp_path / f".d.atomic-{kind}", {"which": kind.encode()}, create=True)
    atomic.recover(tmp_path / "d")
    assert tree(tmp_path / "d") == {"which": left[0].encode()}
    assert leftovers(tmp_path, "d") == []


def test_fallback_without_renameat2(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_exchange", None)
    out = tmp_path / "d"
    atomic.write_directory(out, {"a": b"1", "sub/x": b"x"}, create=True)
    atomic.write_directory(out, {"a": b"2"})
    assert tree(out) == {"a": b"2", "sub/x": b"x"}
    assert leftovers(tmp_path, "d") == []


def test_exchange_is_used_on_linux():
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux-only")
    assert atomic._exchange is not None


def _save_many(directory: str, name: str, rounds: int) -> None:
    for i in range(rounds):
        atomic.write_directory(directory, {name: f"{name}-{i}".encode()}, create=True)


def test_concurrent_writers_lose_nothing(tmp_path):
    # Two processes save different files into one directory, a third into its checkpoint/ sub-directory.
    out = tmp_path / "model"
    atomic.write_directory(out, {"seed": b""}, create=True)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_save_many, args=(str(out / sub), name, 15))
             for sub, name in ((".", "model.safetensors"), (".", "tokenizer.json"), ("checkpoint", "state.json"))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert tree(out) == {"seed": b"", "model.safetensors": b"model.safetensors-14",
                         "tokenizer.json": b"tokenizer.json-14", "checkpoint/state.json": b"state.json-14"}
    assert leftovers(tmp_path, "model") == [] and leftovers(out, "checkpoint") == ["model.safetensors", "seed",
                                                                                   "tokenizer.json"]


# -- write_file and the compatibility names ---------------------------------------------------------------
def test_write_file(tmp_path):
    target = tmp_path / "f.bin"
    atomic.write_file(target, b"old")
    atomic.write_file(target, b"data")
    assert target.read_bytes() == b"data"
    assert oct(os.stat(target).st_mode & 0o777) == oct(0o666 & ~_umask())
    assert sorted(os.listdir(tmp_path)) == ["f.bin"]
    with pytest.raises(TypeError, match="bytes"):
        atomic.write_file(target, "text")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        atomic.write_file(tmp_path / "no" / "f", b"")


def test_write_file_takes_no_lock(tmp_path):
    # A caller holding a flock on the directory (as the corpus writer may) must not deadlock.
    import fcntl

    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        atomic.write_file(tmp_path / "x", b"1")
    finally:
        os.close(fd)
    assert (tmp_path / "x").read_bytes() == b"1"


def test_lock_does_not_leak_into_forked_children(tmp_path):
    import fcntl

    with atomic._locked(str(tmp_path)):
        pid = os.fork()
        if pid == 0:  # a child forked while the lock is held (as a pool refilling itself from a thread)
            time.sleep(3)
            os._exit(0)
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        deadline = time.monotonic() + 1.5  # the child drops its copy as soon as it runs; it lives 3 s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, "the forked child kept the directory locked"
                time.sleep(0.02)
    finally:
        os.close(fd)
        os.waitpid(pid, 0)


def test_files_write_atomically_signature(tmp_path):
    assert files._write_file is atomic.write_file
    paths = files.write_atomically(str(tmp_path / "n"), {"a.txt": b"a"}, create=True)
    assert paths == [str(tmp_path / "n" / "a.txt")]
    paths = files.write_atomically(str(tmp_path / "n"), {"a.txt": b"b"}, prefix="p")
    assert paths == [str(tmp_path / "n" / "p-a.txt")]
    assert tree(tmp_path / "n") == {"a.txt": b"a", "p-a.txt": b"b"}


# -- kill -9 during repeated save_pretrained --------------------------------------------------------------
SERVER = textwrap.dedent("""
    import os, sys
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from albert_tok import AlbertTokenizerFast, atomic
    if sys.argv[3] == "fallback":
        atomic._exchange = None
    saves = [AlbertTokenizerFast(sys.argv[1]), AlbertTokenizerFast(sys.argv[1], do_lower_case=False)]
    target = sys.argv[2]
    print("ready", flush=True)
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:  # the victim: saves A, B, A, B ... into one directory until killed
            i = 0
            while True:
                saves[i % 2].save_pretrained(target)
                i += 1
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("dead", flush=True)
""")


def _reference_saves(tmp_path: Path) -> list[dict[str, bytes]]:
    from albert_tok import AlbertTokenizerFast

    out = []
    for i, options in enumerate(({}, {"do_lower_case": False})):
        AlbertTokenizerFast(SPIECE, **options).save_pretrained(tmp_path / f"ref{i}")
        out.append(tree(tmp_path / f"ref{i}"))
    assert out[0][files.TOKENIZER_JSON] != out[1][files.TOKENIZER_JSON]
    assert out[0][files.TOKENIZER_CONFIG] != out[1][files.TOKENIZER_CONFIG]
    return out


def _loaders_agree(directory: Path, expected_ids: list[int], text: str) -> None:
    """Our loaders and transformers' both read ``directory`` as one complete save."""
    from albert_tok import AlbertTokenizer, AlbertTokenizerFast

    assert AlbertTokenizer.from_pretrained(directory).encode(text) == expected_ids
    assert AlbertTokenizerFast.from_pretrained(directory).encode(text) == expected_ids
    transformers = pytest.importorskip("transformers")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert transformers.AlbertTokenizer.from_pretrained(str(directory)).encode(text) == expected_ids
        assert transformers.AlbertTokenizerFast.from_pretrained(str(directory)).encode(text) == expected_ids


@pytest.mark.parametrize("mode, trials", [("exchange", 30), ("fallback", 15)])
def test_kill_during_save_leaves_one_consistent_save(tmp_path, mode, trials):
    if mode == "exchange" and atomic._exchange is None:
        pytest.skip("renameat2 is not available here")
    refs = _reference_saves(tmp_path)
    text = "Hello World, 1,000 [MASK]"
    from albert_tok import AlbertTokenizer

    ids = [AlbertTokenizer(SPIECE, **o).encode(text) for o in ({}, {"do_lower_case": False})]
    assert ids[0] != ids[1]
    target = tmp_path / "parent" / "model"
    others = {"config.json": b'{"model": 1}', "model.safetensors": os.urandom(1 << 16),
              "checkpoint/trainer_state.json": b"{}", "checkpoint/optimizer.pt": os.urandom(1 << 12)}
    atomic.write_directory(target, others, create=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(SPIECE), str(target), mode], cwd=ROOT, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    rng = random.Random(8)
    seen: set[int] = set()
    deadline = time.monotonic() + 240
    try:
        assert server.stdout is not None and server.stdin is not None
        assert server.stdout.readline().strip() == "ready"
        for trial in range(trials):
            assert time.monotonic() < deadline, "the kill test ran out of time"
            server.stdin.write("go\n")
            server.stdin.flush()
            victim = int(server.stdout.readline())
            time.sleep(rng.uniform(0.0, 0.5))
            os.kill(victim, signal.SIGKILL)
            assert server.stdout.readline().strip() == "dead"
            atomic.recover(target)  # what every loader does first: completes a half-done fallback swap
            litter = leftovers(target.parent, "model")
            # at most the temporaries of the one save that was killed; the next save removes them
            assert set(litter) <= {".model.atomic-new", ".model.atomic-ready", ".model.atomic-old"}, (trial, litter)
            got = tree(target)
            assert {k: got.get(k) for k in others} == others, trial  # other files survive every kill
            saved = {k: v for k, v in got.items() if k not in others}
            if saved:  # the first kill may come before any save finished
                matches = [i for i, ref in enumerate(refs) if saved == ref]
                assert matches, (trial, sorted(saved), [hashlib.sha256(v).hexdigest()[:8] for v in saved.values()])
                if matches[0] not in seen:  # byte-identical to a complete save: load each distinct one once
                    seen.add(matches[0])
                    _loaders_agree(target, ids[matches[0]], text)
    finally:
        server.kill()
        server.wait()
    assert seen == {0, 1}, "the kills never left one of the two saves in place; widen the sleep range"
    atomic.recover(target)
    atomic.write_directory(target, {"after": b"1"})  # the next save clears the in-flight temporaries
    assert leftovers(target.parent, "model") == []
