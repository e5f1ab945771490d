"""albert_tok.io.atomic: saves that survive kill -9 at any step, touch only their own files, and leave no litter;
whole-directory replacement for a directory one caller owns."""

from __future__ import annotations

import errno
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from albert_tok.api import _files as files
from albert_tok.io import atomic

from .conftest import ROOT, SPIECE


def tree(path: Path) -> dict[str, bytes]:
    """Relative path -> content of every file under ``path`` (temporaries included)."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def saved(path: Path) -> dict[str, bytes]:
    """Like :func:`tree`, without the temporaries of saves (which readers ignore)."""
    return {k: v for k, v in tree(path).items() if not atomic._is_temporary(os.path.basename(k))}


def temporaries(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if atomic._is_temporary(p.name))


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p for p in os.listdir(parent) if p != name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- write_directory ---------------------------------------------------------------------------------
def test_new_directory_and_return_value(tmp_path):
    out = tmp_path / "a" / "b"
    paths = atomic.write_directory(out, {"x.json": b"{}", "sub/y.bin": b"\0"}, create=True)
    assert paths == [str(out / "x.json"), str(out / "sub" / "y.bin")]
    assert tree(out) == {"x.json": b"{}", "sub/y.bin": b"\0"}
    assert leftovers(tmp_path / "a", "b") == []
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o777 & ~_umask())
    assert oct(os.stat(out / "x.json").st_mode & 0o777) == oct(0o666 & ~_umask())


def test_keeps_other_entries_recursively_without_touching_them(tmp_path):
    out = tmp_path / "model"
    atomic.write_directory(
        out,
        {
            "config.json": b"model",
            "model.safetensors": b"w" * 100,
            "checkpoint/optimizer.pt": b"opt",
            "checkpoint/deep/state.json": b"s",
        },
        create=True,
    )
    os.symlink("config.json", out / "link")
    os.chmod(out, 0o750)
    before = {p: os.stat(p) for p in (out, out / "model.safetensors", out / "checkpoint", out / "checkpoint/deep")}
    atomic.write_directory(out, {"tokenizer.json": b"tok", "config.json": b"model-2"})
    assert tree(out) == {
        "config.json": b"model-2",
        "model.safetensors": b"w" * 100,
        "tokenizer.json": b"tok",
        "checkpoint/optimizer.pt": b"opt",
        "checkpoint/deep/state.json": b"s",
        "link": b"model-2",
    }
    assert os.readlink(out / "link") == "config.json"
    for path, old in before.items():  # the directory and what the save did not write: the same inodes, untouched
        now = os.stat(path)
        assert (now.st_ino, now.st_nlink, now.st_mode) == (old.st_ino, old.st_nlink, old.st_mode), path
    assert os.stat(out / "model.safetensors").st_nlink == 1  # never hard-linked anywhere
    assert leftovers(tmp_path, "model") == []


def test_replaces_inside_a_subdirectory(tmp_path):
    out = tmp_path / "m"
    atomic.write_directory(out, {"checkpoint/a": b"1", "checkpoint/b": b"2", "top": b"t"}, create=True)
    atomic.write_directory(out, {"checkpoint/a": b"new"})
    assert tree(out) == {"checkpoint/a": b"new", "checkpoint/b": b"2", "top": b"t"}


def test_remove_drops_named_files_after_the_new_ones_are_in(tmp_path, monkeypatch):
    out = tmp_path / "m"
    atomic.write_directory(out, {"added.json": b"{}", "keep": b"k", "sub/old": b"o", "sub/kept": b"s"}, create=True)
    steps: list[str] = []
    monkeypatch.setattr(atomic, "_step_hook", steps.append)
    paths = atomic.write_directory(out, {"new": b"n"}, remove=["added.json", "sub/old", "absent"])
    assert paths == [str(out / "new")]
    assert tree(out) == {"keep": b"k", "new": b"n", "sub/kept": b"s"}
    assert steps == ["begin", "part new", "commit", "publish new", "remove added.json", "remove sub/old", "done"]
    assert leftovers(tmp_path, "m") == []
    with pytest.raises(ValueError, match="relative path"):
        atomic.write_directory(out, {}, remove=["../x"])


def test_remove_first_drops_shadowing_files_after_the_commit_before_any_new_file(tmp_path, monkeypatch):
    # A model.safetensors beside new shards would be read instead of them: it must be gone before the new
    # config.json appears, but only once the save has committed (a failure before keeps the old save whole).
    out = tmp_path / "m"
    old = {"model.safetensors": b"old", "config.json": b"old"}
    new = {
        "model-00001-of-00002.safetensors": b"1",
        "model-00002-of-00002.safetensors": b"2",
        "model.safetensors.index.json": b"{}",
        "config.json": b"new",
    }
    atomic.write_directory(out, old, create=True)

    def failing(path, data):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic.write_directory(out, new, remove_first=["model.safetensors"], writer=failing)
    assert tree(out) == old
    steps: list[str] = []
    monkeypatch.setattr(atomic, "_step_hook", steps.append)
    atomic.write_directory(out, new, remove_first=["model.safetensors"], remove=["absent"])
    assert tree(out) == new
    commit = steps.index("commit")
    assert steps[commit + 1 :] == [
        "remove model.safetensors",
        "publish model-00001-of-00002.safetensors",
        "publish model-00002-of-00002.safetensors",
        "publish model.safetensors.index.json",
        "publish config.json",
        "done",
    ]


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic.write_directory(tmp_path / "missing", {"a": b""})
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        atomic.write_directory(tmp_path / "file", {"a": b""})
    for bad in ("../escape", "/abs", "a/../b", "", ".", "a//b"):
        with pytest.raises(ValueError, match="relative path"):
            atomic.write_directory(tmp_path, {bad: b""})
    for reserved in (".atomic-journal", ".x.atomic-part", "sub/.y.atomic-new"):
        with pytest.raises(ValueError, match="reserved"):
            atomic.write_directory(tmp_path, {reserved: b""})
    with pytest.raises(ValueError, match="both a file and the directory"):
        atomic.write_directory(tmp_path, {"a": b"", "a/b": b""})
    with pytest.raises(TypeError, match="must be bytes"):
        atomic.write_directory(tmp_path, {"a": "text"})  # type: ignore[dict-item]
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        atomic.write_directory(tmp_path, {"x": b"", "d": b""})
    with pytest.raises(IsADirectoryError, match="is a directory"):
        atomic.write_directory(tmp_path, {"x": b""}, remove=["d"])
    with pytest.raises(NotADirectoryError, match="not a directory"):
        atomic.write_directory(tmp_path, {"file/inner": b""})
    assert sorted(os.listdir(tmp_path)) == ["d", "file"]  # none of the refused saves wrote anything


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
    assert tree(out) == {"a": b"old", "keep": b"k"}  # no parts left either
    assert leftovers(tmp_path, "d") == []
    calls.clear()
    with pytest.raises(OSError, match="disk full"):
        atomic.write_directory(tmp_path / "fresh" / "deeper", {"a": b"", "sub/b": b""}, create=True, writer=failing)
    assert leftovers(tmp_path, "d") == []  # the directories it made are gone again


def test_stale_temporaries_are_removed(tmp_path):
    out = tmp_path / "d"
    atomic.write_directory(out, {"a": b"1", "sub/c": b"3"}, create=True)
    (out / ".tmp-abc").mkdir()  # the user's: no save of this package ever made it
    (out / ".a.atomic-part").write_bytes(b"half")  # parts of a save killed before it committed
    (out / ".zz.atomic-part").write_bytes(b"half")
    (out / "sub" / ".c.atomic-part").write_bytes(b"half")
    (out / ".b.k3j4h5g6.atomic-tmp").write_bytes(b"half")  # a killed write_file of a name this save writes
    (out / ".other.k3j4h5g6.atomic-tmp").write_bytes(b"live?")  # of another name: may be in progress
    (out / ".gitignore").write_bytes(b"*")  # the user's hidden files are not temporaries
    atomic.write_directory(out, {"b": b"2", "sub/c": b"4"})
    assert tree(out) == {
        "a": b"1",
        "b": b"2",
        "sub/c": b"4",
        ".gitignore": b"*",
        ".other.k3j4h5g6.atomic-tmp": b"live?",
    }
    assert (out / ".tmp-abc").is_dir()
    atomic.write_directory(out, {".tmp-1": b"x"})  # not a name this module uses: the caller may write it
    assert (out / ".tmp-1").read_bytes() == b"x"


def _journal(out: Path, publish: list[str], remove: list[str], committed: bool = True) -> None:
    import json

    (out / ".atomic-journal").write_text(json.dumps({"committed": committed, "publish": publish, "remove": remove}))


def test_recover_finishes_a_committed_save(tmp_path):
    out = tmp_path / "d"
    atomic.write_directory(out, {"a": b"old", "b": b"old", "gone": b"x", "keep": b"k"}, create=True)
    # what a save killed after its commit point leaves: the journal, one file published, one part left
    (out / "a").write_bytes(b"new")
    (out / ".b.atomic-part").write_bytes(b"new")
    _journal(out, ["a", "b"], ["gone"])
    atomic.recover(out)
    assert tree(out) == {"a": b"new", "b": b"new", "keep": b"k"}
    atomic.recover(out)  # nothing left to do
    assert tree(out) == {"a": b"new", "b": b"new", "keep": b"k"}


def test_recover_rolls_back_a_save_that_did_not_commit(tmp_path):
    out = tmp_path / "d"
    atomic.write_directory(out, {"a": b"old", "sub/b": b"old", "gone": b"x"}, create=True)
    (out / ".a.atomic-part").write_bytes(b"new")  # killed while writing its parts
    (out / "sub" / ".b.atomic-part").write_bytes(b"ne")
    _journal(out, ["a", "sub/b"], ["gone"], committed=False)
    atomic.recover(out)
    assert tree(out) == {"a": b"old", "sub/b": b"old", "gone": b"x"}  # no parts, no journal left


def test_next_save_finishes_a_committed_save_first(tmp_path):
    out = tmp_path / "d"
    atomic.write_directory(out, {"a": b"old", "b": b"old"}, create=True)
    (out / ".a.atomic-part").write_bytes(b"new")
    (out / ".b.atomic-part").write_bytes(b"new")
    _journal(out, ["a", "b"], [])
    atomic.write_directory(out, {"c": b"c"})
    assert tree(out) == {"a": b"new", "b": b"new", "c": b"c"}


def test_a_damaged_journal_is_named(tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    (out / ".atomic-journal").write_text('{"committed": true, "publish": ["../x"], "remove": []}')
    with pytest.raises(ValueError, match=r"\.atomic-journal: not a journal"):
        atomic.recover(out)
    (out / ".atomic-journal").write_text("[" * 100_000)
    with pytest.raises(ValueError, match=r"\.atomic-journal: JSON nested"):
        atomic.write_directory(out, {"a": b""})


def test_recover_writes_nothing_when_there_is_nothing_to_do(tmp_path, monkeypatch):
    out = tmp_path / "d"
    atomic.write_directory(out, {"a": b"1", "b": b"2"}, create=True)
    (out / ".a.atomic-part").write_bytes(b"uncommitted")  # ignored: only the next save deletes it

    def refuse(*args, **kwargs):
        raise AssertionError("recover opened something")

    monkeypatch.setattr(os, "open", refuse)
    atomic.recover(out)
    atomic.recover(tmp_path / "absent")  # no half-done replace_directory beside it: the parent is not locked
    atomic.recover(tmp_path / "missing" / "x")


def test_interrupt_at_any_step_leaves_the_old_or_the_new_save(tmp_path, monkeypatch):
    # Ctrl-C (an exception) at each step: before the commit the old files stay, after it the save finishes.
    out = tmp_path / "d"
    old = {"w.bin": b"old", "config.json": b"old", "stale.json": b"old", "keep": b"k"}
    new = {"w.bin": b"new", "index.json": b"new", "config.json": b"new"}
    atomic.write_directory(out, old, create=True)
    steps: list[str] = []
    monkeypatch.setattr(atomic, "_step_hook", steps.append)
    atomic.write_directory(out, new, remove=["stale.json"])
    assert steps == [
        "begin",
        "part w.bin",
        "part index.json",
        "part config.json",
        "commit",
        "publish w.bin",
        "publish index.json",
        "publish config.json",
        "remove stale.json",
        "done",
    ]
    monkeypatch.setattr(atomic, "_step_hook", None)
    for stop in steps:
        atomic.write_directory(out, {**old, "index.json": b"old"}, remove=["x"])

        def interrupt(label, _stop=stop):
            if label == _stop:
                raise KeyboardInterrupt

        monkeypatch.setattr(atomic, "_step_hook", interrupt)
        with pytest.raises(KeyboardInterrupt):
            atomic.write_directory(out, new, remove=["stale.json"])
        monkeypatch.setattr(atomic, "_step_hook", None)
        expected = {**old, "index.json": b"old"} if steps.index(stop) < steps.index("commit") else {**new, "keep": b"k"}
        assert tree(out) == expected, stop  # no recover() needed, and no parts left


def _killed_at(step: int, save: Callable[[], object]) -> tuple[list[str], int]:
    """Run ``save`` in a forked child that SIGKILLs itself at its ``step``-th step (0-based); return the steps
    it reported (through a pipe, read to its end) and its exit code (``-9`` when the kill happened)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        count = [0]

        def hook(label: str) -> None:
            os.write(write, (label + "\n").encode())
            if count[0] == step:
                os.kill(os.getpid(), signal.SIGKILL)
            count[0] += 1

        atomic._step_hook = hook
        try:
            save()
        except BaseException:
            os._exit(3)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        lines = pipe.read().decode().splitlines()
    _, status = os.waitpid(pid, 0)
    return lines, os.waitstatus_to_exitcode(status)


names = st.sampled_from(["config.json", "a.bin", "b.bin", "index.json", "sub/c.json", "sub/d.bin"])
save_plans = st.tuples(
    st.dictionaries(names, st.binary(max_size=8), min_size=1, max_size=4),
    st.lists(names, max_size=2),
    st.lists(names, max_size=2),
)


@settings(max_examples=25)
@given(st.lists(save_plans, min_size=1, max_size=3), st.integers(0, 40))
def test_kill_at_any_step_leaves_one_consistent_save(tmp_path_factory, plans, step):
    out = tmp_path_factory.mktemp("kill") / "d"
    atomic.write_directory(out, {"mine.txt": b"user"}, create=True)
    state = {"mine.txt": b"user"}
    killed_at = None
    for contents, remove, first in plans:
        after = {k: v for k, v in state.items() if k not in {*remove, *first} or k in contents} | contents
        if killed_at is None:
            labels, code = _killed_at(
                step, lambda c=contents, r=remove, f=first: atomic.write_directory(out, c, remove=r, remove_first=f)
            )
            if code == -signal.SIGKILL:
                killed_at = labels[-1]
                atomic.recover(out)  # what every loader does first
                # committed: the journal is in, or (a save of one file needs none) the file was renamed in
                if any(x in ("commit", "done") or x.startswith(("publish", "remove")) for x in labels):
                    state = after
                assert saved(out) == state, (labels, contents, remove, first)
                # recovered: parts are left only by a save of one file, beside it (the next save drops them)
                assert all("/" not in t and t.endswith(".atomic-part") for t in temporaries(out)), labels
                step = 10**6  # no further kills
                continue
            assert code == 0, labels
            step -= len(labels)
        else:
            atomic.write_directory(out, contents, remove=remove, remove_first=first)
        state = after
        assert saved(out) == state
    atomic.write_directory(out, {"last": b""})  # the next save leaves no temporaries of a killed one
    assert temporaries(out) == []
    assert (out / "mine.txt").read_bytes() == b"user"


def test_exchange_is_used_on_linux():
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux-only")
    assert atomic._exchange is not None


def _save_many(directory: str, name: str, rounds: int) -> None:
    for i in range(rounds):
        atomic.write_directory(directory, {name: f"{name}-{i}".encode(), f"{name}.json": b"{}"}, create=True)


def _replace_many(directory: str, name: str, rounds: int) -> None:
    for i in range(rounds):
        atomic.replace_directory(directory, {name: f"{name}-{i}".encode()})


def test_concurrent_writers_lose_nothing(tmp_path):
    # Two processes save different files into one directory, a third into its checkpoint/ sub-directory, a
    # fourth replaces its run/ sub-directory as a whole.
    out = tmp_path / "model"
    atomic.write_directory(out, {"seed": b""}, create=True)
    ctx = multiprocessing.get_context("fork")
    procs = [
        ctx.Process(target=_save_many, args=(str(out / sub), name, 15))
        for sub, name in ((".", "model.safetensors"), (".", "tokenizer.json"), ("checkpoint", "state"))
    ]
    procs.append(ctx.Process(target=_replace_many, args=(str(out / "run"), "step", 15)))
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert tree(out) == {
        "seed": b"",
        "model.safetensors": b"model.safetensors-14",
        "model.safetensors.json": b"{}",
        "tokenizer.json": b"tokenizer.json-14",
        "tokenizer.json.json": b"{}",
        "checkpoint/state": b"state-14",
        "checkpoint/state.json": b"{}",
        "run/step": b"step-14",
    }
    assert leftovers(tmp_path, "model") == []


# -- replace_directory ------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["exchange", "fallback"])
def test_replace_directory_replaces_the_whole_tree(tmp_path, monkeypatch, mode):
    if mode == "fallback":
        monkeypatch.setattr(atomic, "_exchange", None)
    out = tmp_path / "run" / "checkpoint"
    paths = atomic.replace_directory(out, {"a": b"1", "sub/x": b"x"})
    assert paths == [str(out / "a"), str(out / "sub" / "x")]
    atomic.replace_directory(out, {"b": b"2"})
    assert tree(out) == {"b": b"2"}  # nothing of the old tree survives
    assert leftovers(out.parent, "checkpoint") == []


def test_replace_directory_failure_keeps_the_old_tree(tmp_path):
    out = tmp_path / "checkpoint"
    atomic.replace_directory(out, {"a": b"old", "b": b"old"})

    def failing(path, data):
        if path.endswith("b"):
            raise OSError("disk full")
        Path(path).write_bytes(data)

    with pytest.raises(OSError, match="disk full"):
        atomic.replace_directory(out, {"a": b"new", "b": b"new"}, writer=failing)
    assert tree(out) == {"a": b"old", "b": b"old"}
    assert leftovers(tmp_path, "checkpoint") == []
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        atomic.replace_directory(tmp_path / "file", {"a": b""})


def test_replace_directory_on_a_mount_point_says_so(tmp_path, monkeypatch):
    out = tmp_path / "volume"
    atomic.replace_directory(out, {"a": b"old"})

    def busy(a, b):
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), a)

    monkeypatch.setattr(atomic, "_exchange", busy)
    with pytest.raises(OSError, match="mount point") as caught:
        atomic.replace_directory(out, {"a": b"new"})
    assert caught.value.errno == errno.EBUSY
    assert tree(out) == {"a": b"old"}
    assert leftovers(tmp_path, "volume") == []


@pytest.mark.parametrize("left", [["ready", "old"], ["old"], ["ready"]])
def test_recover_finishes_a_half_done_fallback_swap(tmp_path, left):
    # The fallback swap is: staging -> .d.atomic-ready, d -> .d.atomic-old, ready -> d. Killed between the
    # renames, d is missing; recover() (called by every loader) puts the newest complete tree back.
    for kind in left:
        (tmp_path / f".d.atomic-{kind}").mkdir()
        (tmp_path / f".d.atomic-{kind}" / "which").write_bytes(kind.encode())
    atomic.recover(tmp_path / "d")
    assert tree(tmp_path / "d") == {"which": left[0].encode()}
    assert leftovers(tmp_path, "d") == []


@pytest.mark.parametrize("mode", ["exchange", "fallback"])
def test_replace_directory_killed_at_any_step(tmp_path, monkeypatch, mode):
    if mode == "exchange" and atomic._exchange is None:
        pytest.skip("renameat2 is not available here")
    if mode == "fallback":
        monkeypatch.setattr(atomic, "_exchange", None)
    out = tmp_path / "checkpoint"
    versions = [{"model": b"0", "state.json": b"0", "sub/o": b"0"}, {"model": b"1", "state.json": b"1", "n": b""}]
    atomic.replace_directory(out, versions[0])
    labels, code = _killed_at(10**6, lambda: atomic.replace_directory(out, versions[1]))
    assert code == 0
    steps = labels
    assert steps[-1] == "done" and ("aside" in steps) == (mode == "fallback")
    current = 1
    for step in range(len(steps)):
        new = 1 - current
        labels, code = _killed_at(step, lambda n=new: atomic.replace_directory(out, versions[n]))
        assert code == -signal.SIGKILL and len(labels) == step + 1, labels
        atomic.recover(out)  # what every loader does first
        finished = labels[-1] in ("aside", "done")  # the swap is past its point of no return
        current = new if finished else current
        assert tree(out) == versions[current], (mode, labels)
    atomic.replace_directory(out, {"z": b""})
    assert leftovers(tmp_path, "checkpoint") == []


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

    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    with atomic._locked(str(tmp_path)):
        pid = os.fork()
        if pid == 0:  # a child forked while the lock is held (as a pool refilling itself from a thread)
            os.write(ready_w, b"r")  # the at-fork handler has run: the child holds no copy of the lock now
            os.read(done_r, 1)  # stay alive until the parent has checked
            os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        assert os.read(ready_r, 1) == b"r"
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pytest.fail("the forked child kept the directory locked")
    finally:
        os.close(fd)
        os.write(done_w, b"d")
        os.close(done_w)
        os.close(ready_r)
        os.waitpid(pid, 0)


def test_a_save_waits_for_one_in_progress(tmp_path, monkeypatch):
    # The first writer stops between two of its renames; the second is let go and the first released only
    # once the second has either asked for the lock (it must then wait) or taken a step (a bug: it did not).
    import fcntl

    out = tmp_path / "d"
    atomic.write_directory(out, {"a": b"0", "b": b"0"}, create=True)
    inside, second_moved, release = threading.Event(), threading.Event(), threading.Event()
    events: list[str] = []
    real_flock = fcntl.flock

    def flock(fd, operation):
        if threading.current_thread().name == "second" and operation == fcntl.LOCK_EX:
            second_moved.set()
        return real_flock(fd, operation)

    def hook(label: str) -> None:
        name = threading.current_thread().name
        events.append(f"{name} {label}")
        if name == "second":
            second_moved.set()
        if name == "first" and label == "publish a":
            inside.set()
            assert release.wait(30)

    monkeypatch.setattr(fcntl, "flock", flock)
    monkeypatch.setattr(atomic, "_step_hook", hook)
    first = threading.Thread(target=atomic.write_directory, args=(out, {"a": b"1", "b": b"1"}), name="first")
    second = threading.Thread(target=atomic.write_directory, args=(out, {"b": b"2", "c": b"2"}), name="second")
    first.start()
    assert inside.wait(30)
    second.start()
    assert second_moved.wait(30)
    release.set()
    first.join(30)
    second.join(30)
    assert not first.is_alive() and not second.is_alive()
    done = events.index("first done")
    assert all(e.startswith("first") for e in events[: done + 1]), events
    assert events[-1] == "second done"
    assert tree(out) == {"a": b"1", "b": b"2", "c": b"2"}


def test_files_write_atomically_signature(tmp_path):
    assert files._write_file is atomic.write_synced
    paths = files.write_atomically(str(tmp_path / "n"), {"a.txt": b"a"}, create=True)
    assert paths == [str(tmp_path / "n" / "a.txt")]
    paths = files.write_atomically(str(tmp_path / "n"), {"a.txt": b"b"}, prefix="p")
    assert paths == [str(tmp_path / "n" / "p-a.txt")]
    assert tree(tmp_path / "n") == {"a.txt": b"a", "p-a.txt": b"b"}


# -- kill -9 during save_pretrained ----------------------------------------------------------------------
# For each trial the parent sends "I STOP"; the server forks a victim that saves tokenizer I once and, at its
# STOP-th step, reports "I LABEL" on stdout and waits; the parent reads that line and kills it (a victim that
# finishes first reports "finished"). A is a plain tokenizer, B has another setting and an added token, so B
# writes added_tokens.json and a save of A over B removes it. A kill in the middle of writing a file is one
# of the steps ("writing NAME").
SERVER = textwrap.dedent("""
    import os, sys, threading
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from albert_tok import AlbertTokenizerFast
    from albert_tok.io import atomic
    from albert_tok.api import _files as files
    b = AlbertTokenizerFast(sys.argv[1], do_lower_case=False)
    b.add_tokens(["newtok"])
    saves = [AlbertTokenizerFast(sys.argv[1]), b]
    for t in saves:  # serialise the vocabulary once: the trials are about writing it
        cached = t._model_file_contents()
        t._model_file_contents = lambda c=cached: dict(c)
    target = sys.argv[2]
    write = files._write_file
    print("ready", flush=True)
    for line in sys.stdin:
        which, stop = map(int, line.split())
        pid = os.fork()
        if pid == 0:  # the victim
            step = [0]

            def hook(label):
                if step[0] == stop:
                    print(which, label, flush=True)
                    threading.Event().wait()  # killed here
                step[0] += 1

            def half_then_rest(path, data):
                with open(path, "wb") as fh:
                    fh.write(data[: len(data) // 2])
                    fh.flush()
                    hook("writing " + os.path.basename(path))
                write(path, data)

            atomic._step_hook = hook
            files._write_file = half_then_rest
            saves[which].save_pretrained(target)
            print("finished", flush=True)
            os._exit(0)
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("dead", flush=True)
""")


def _tokenizers() -> list:
    from albert_tok import AlbertTokenizerFast

    b = AlbertTokenizerFast(SPIECE, do_lower_case=False)
    b.add_tokens(["newtok"])
    out = [AlbertTokenizerFast(SPIECE), b]
    for t in out:  # serialise the vocabulary once, as the server does
        cached = t._model_file_contents()
        t._model_file_contents = lambda c=cached: dict(c)  # type: ignore[method-assign]
    return out


def _loaders_agree(directory: Path, expected_ids: list[int], text: str, transformers_too: bool) -> None:
    """Our loaders (and transformers', which calls no recover()) read ``directory`` as one complete save."""
    from albert_tok import AlbertTokenizer, AlbertTokenizerFast

    assert AlbertTokenizer.from_pretrained(directory).encode(text) == expected_ids
    assert AlbertTokenizerFast.from_pretrained(directory).encode(text) == expected_ids
    if not transformers_too:
        return
    import transformers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert transformers.AlbertTokenizer.from_pretrained(str(directory)).encode(text) == expected_ids
        assert transformers.AlbertTokenizerFast.from_pretrained(str(directory)).encode(text) == expected_ids


def test_kill_during_save_leaves_one_consistent_save(tmp_path):
    tokenizers = _tokenizers()
    refs = []
    for i, tokenizer in enumerate(tokenizers):
        tokenizer.save_pretrained(tmp_path / f"ref{i}")
        refs.append(tree(tmp_path / f"ref{i}"))
    assert refs[0][files.TOKENIZER_JSON] != refs[1][files.TOKENIZER_JSON]
    assert refs[0][files.TOKENIZER_CONFIG] != refs[1][files.TOKENIZER_CONFIG]
    assert files.ADDED_TOKENS in refs[1] and files.ADDED_TOKENS not in refs[0]
    text = "Hello World, 1,000 [MASK] newtok"
    ids = [t.encode(text) for t in tokenizers]
    assert ids[0] != ids[1]
    target = tmp_path / "parent" / "model"
    others = {
        "config.json": b'{"model": 1}',
        "model.safetensors": os.urandom(1 << 16),
        "checkpoint/trainer_state.json": b"{}",
        "checkpoint/optimizer.pt": os.urandom(1 << 12),
    }
    atomic.write_directory(target, others, create=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(SPIECE), str(target)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    state: dict[str, bytes] = {}  # the tokenizer files the directory holds
    seen: set[int] = set()
    labels: list[str] = []
    deadline = time.monotonic() + 240
    try:
        assert server.stdout is not None and server.stdin is not None
        assert server.stdout.readline().strip() == "ready"
        for which in (1, 0):  # B over A, then A over B (which removes added_tokens.json)
            for stop in range(100):
                assert time.monotonic() < deadline, "the kill test ran out of time"
                if state != refs[1 - which]:  # every trial starts from the other save
                    tokenizers[1 - which].save_pretrained(target)
                    state = refs[1 - which]
                server.stdin.write(f"{which} {stop}\n")
                server.stdin.flush()
                victim = int(server.stdout.readline())
                reply = server.stdout.readline().strip()
                if reply == "finished":  # every step of this save has had its kill
                    assert server.stdout.readline().strip() == "dead"
                    assert stop > 10
                    state = refs[which]
                    break
                label = reply.split(" ", 1)[1]
                labels.append(label)
                os.kill(victim, signal.SIGKILL)
                assert server.stdout.readline().strip() == "dead"
                atomic.recover(target)  # what every loader does first: finishes a save that committed
                if label == "commit" or label.startswith(("publish", "remove", "done")):
                    state = refs[which]
                got = saved(target)
                assert {k: got.get(k) for k in others} == others, label  # other files survive every kill
                assert {k: v for k, v in got.items() if k not in others} == state, (which, label)
                assert temporaries(target) == [], label  # recover() finished or rolled back the killed save
                if state == refs[which] and which not in seen:  # load each save once, with every loader
                    seen.add(which)
                    _loaders_agree(target, ids[which], text, transformers_too=which == 1)
    finally:
        server.kill()
        server.wait()
    assert seen == {0, 1}
    assert {"begin", "commit", "done", "remove added_tokens.json"} <= set(labels)
    assert {x.split()[0] for x in labels} == {"begin", "writing", "part", "commit", "publish", "remove", "done"}
    assert leftovers(target.parent, "model") == []


def _killed_at_commit(directory, contents, **options):
    """Run ``write_directory(directory, contents, **options)`` in a child process that dies (``os._exit``) at
    the commit point: its journal says committed, no new file is published yet."""
    code = (
        "import os, sys\nfrom albert_tok import atomic\n"
        "def hook(label):\n    if label == 'commit':\n        os._exit(9)\n"
        "atomic._step_hook = hook\n"
        f"atomic.write_directory({str(directory)!r}, {contents!r}, **{options!r})\n"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120, check=False).returncode == 9


def test_a_save_through_the_parent_finishes_a_committed_save_of_a_sub_directory(tmp_path):
    # A save killed after its commit in root/checkpoint, then a save into root that writes checkpoint/x: the
    # second must not drop the first one's parts (it once left neither the old nor the new weights).
    sub = tmp_path / "checkpoint"
    atomic.write_directory(sub, {"model.safetensors": b"OLD", "config.json": b"1"}, create=True)
    new = {"model-00001-of-00001.safetensors": b"NEW", "model.safetensors.index.json": b"{}", "config.json": b"2"}
    _killed_at_commit(sub, new, remove_first=["model.safetensors"])
    atomic.write_directory(tmp_path, {"checkpoint/trainer_state.json": b"{}", "README.md": b"x"})
    atomic.recover(sub)
    assert tree(sub) == {**new, "trainer_state.json": b"{}"}


def test_recover_of_a_sub_directory_finishes_a_committed_save_from_above(tmp_path):
    # A save into root that reaches into root/checkpoint, killed after its commit: a loader of checkpoint/
    # (which calls recover on it) and a later save into checkpoint/ see the committed save, not the old files.
    sub = tmp_path / "checkpoint"
    atomic.write_directory(sub, {"model.safetensors": b"OLD", "config.json": b"1"}, create=True)
    _killed_at_commit(tmp_path, {"checkpoint/model.safetensors": b"NEW", "checkpoint/config.json": b"2"})
    atomic.recover(sub)
    assert tree(sub) == {"model.safetensors": b"NEW", "config.json": b"2"}
    atomic.write_directory(sub, {"trainer_state.json": b"{}"})
    atomic.recover(tmp_path)
    assert tree(sub) == {"model.safetensors": b"NEW", "config.json": b"2", "trainer_state.json": b"{}"}


@pytest.mark.parametrize("name", ["x/", "x" + os.sep, ".", ".."])
def test_write_file_refuses_a_path_that_names_a_directory(tmp_path, name):
    """A trailing separator named a directory but wrote the file without it (``x/`` wrote ``x``)."""
    sub = tmp_path / "d"
    sub.mkdir()
    with pytest.raises(ValueError, match="names a directory, not a file"):
        atomic.write_file(f"{sub}{os.sep}{name}", b"data")
    assert sorted(p.name for p in sub.iterdir()) == []
