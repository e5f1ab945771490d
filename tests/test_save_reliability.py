"""Saves into a directory that cannot be renamed (a mount point, a writable directory under a read-only
parent) work, touch nothing outside the directory, never copy files they did not write, and publish their
files in an order that keeps a reader safe."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from albert_tok import AlbertTokenizer, AlbertTokenizerFast
from albert_tok.api import _files as files
from albert_tok.io import atomic

from .conftest import ROOT, SPIECE

MB = 1 << 20


def tree(path: Path) -> dict[str, bytes]:
    """Relative path -> content of every file under ``path`` but the temporaries of saves."""
    return {
        str(p.relative_to(path)): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and not atomic._is_temporary(p.name)
    }


def _tokenizer_save(kind: str) -> Callable[[Path], object]:
    def save(directory: Path) -> object:
        cls = AlbertTokenizer if kind == "slow" else AlbertTokenizerFast
        return cls(SPIECE).save_pretrained(directory)

    return save


def _model_save(directory: Path) -> object:
    import torch

    import albert_model as A

    torch.manual_seed(0)
    config = A.AlbertConfig(
        vocab_size=99,
        embedding_size=16,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
    )
    return A.AlbertModel(config).save_pretrained(directory)


def _sharded_model_save(directory: Path) -> object:
    import torch

    import albert_model as A

    torch.manual_seed(0)
    config = A.AlbertConfig(
        vocab_size=99,
        embedding_size=16,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
    )
    return A.AlbertModel(config).save_pretrained(directory, max_shard_size="10KB")


def _plain_save(directory: Path) -> object:
    return atomic.write_directory(directory, {"a.bin": b"a" * 100, "sub/b.json": b"{}", "config.json": b"{}"})


SAVES = {
    "write_directory": _plain_save,
    "slow tokenizer": _tokenizer_save("slow"),
    "fast tokenizer": _tokenizer_save("fast"),
    "model": _model_save,
    "sharded model": _sharded_model_save,
}


def _load_back(name: str, directory: Path) -> None:
    """The save is readable as what it is."""
    if "tokenizer" in name:
        assert AlbertTokenizerFast.from_pretrained(directory).encode("Hello world") == AlbertTokenizer(SPIECE).encode(
            "Hello world"
        )
    elif "model" in name:
        import albert_model as A

        A.AlbertModel.from_pretrained(directory)
    else:
        assert tree(directory)["a.bin"] == b"a" * 100


# -- a directory that cannot be renamed (a mount point: EBUSY) --------------------------------------------
def _forbid_renaming(monkeypatch, directory: Path) -> None:
    """Make every rename or exchange of ``directory`` itself fail as it does on a mount point."""
    guarded = os.path.abspath(directory)

    def check(*paths: object) -> None:
        for path in paths:
            if isinstance(path, (str, bytes, os.PathLike)) and os.path.abspath(os.fsdecode(path)) == guarded:
                raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), os.fsdecode(path))

    for name in ("rename", "replace"):
        real = getattr(os, name)

        def wrapped(src, dst, *args, _real=real, **kwargs):
            check(src, dst)
            return _real(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, name, wrapped)
    exchange = getattr(atomic, "_exchange", None)
    if exchange is not None:

        def guarded_exchange(a: str, b: str) -> bool:
            check(a, b)
            return exchange(a, b)

        monkeypatch.setattr(atomic, "_exchange", guarded_exchange)


@pytest.mark.parametrize("name", list(SAVES))
def test_save_into_a_directory_that_cannot_be_renamed(tmp_path, monkeypatch, name):
    out = tmp_path / "volume"
    out.mkdir()
    (out / "notes.txt").write_bytes(b"mine")
    inode = os.stat(out).st_ino
    _forbid_renaming(monkeypatch, out)
    SAVES[name](out)
    SAVES[name](out)  # the second save replaces files of the first
    assert os.stat(out).st_ino == inode
    assert (out / "notes.txt").read_bytes() == b"mine"
    assert [p for p in os.listdir(out) if atomic._is_temporary(p)] == []
    _load_back(name, out)


# -- a writable directory under a read-only parent ------------------------------------------------------
_WRITES = ("rename", "replace", "mkdir", "rmdir", "unlink", "remove", "link", "symlink", "chmod")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC


def _forbid_writes_outside(monkeypatch, directory: Path) -> list[str]:
    """Make every change to an entry outside ``directory`` fail with EACCES (a read-only parent, even for
    root, who ignores permissions); return the list of refused paths."""
    inside = os.path.abspath(directory) + os.sep
    refused: list[str] = []

    def check(path: object) -> None:
        if isinstance(path, int) or path is None:
            return
        full = os.path.abspath(os.fsdecode(path))  # type: ignore[arg-type]
        if not (full + os.sep).startswith(inside) or full == inside.rstrip(os.sep):
            refused.append(full)
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), full)

    for name in _WRITES:
        real = getattr(os, name)

        def wrapped(*args, _real=real, _name=name, **kwargs):
            paths = args[:2] if _name in ("rename", "replace", "link", "symlink") else args[:1]
            for path in paths if _name != "symlink" else paths[1:]:
                if kwargs.get("dir_fd") is None:
                    check(path)
            return _real(*args, **kwargs)

        monkeypatch.setattr(os, name, wrapped)
    real_open = os.open

    def guarded_open(path, flags, *args, **kwargs):
        if flags & _WRITE_FLAGS and kwargs.get("dir_fd") is None:
            check(path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    exchange = getattr(atomic, "_exchange", None)
    if exchange is not None:

        def guarded_exchange(a: str, b: str) -> bool:
            check(a)
            check(b)
            return exchange(a, b)

        monkeypatch.setattr(atomic, "_exchange", guarded_exchange)
    return refused


@pytest.mark.parametrize("name", list(SAVES))
def test_save_touches_nothing_outside_the_directory(tmp_path, monkeypatch, name):
    out = tmp_path / "readonly" / "out"
    out.mkdir(parents=True)
    SAVES[name](out)  # a first save, so that the second one replaces files
    before = sorted(os.listdir(out.parent))
    refused = _forbid_writes_outside(monkeypatch, out)
    SAVES[name](out)
    assert refused == []
    assert sorted(os.listdir(out.parent)) == before == ["out"]
    monkeypatch.undo()
    _load_back(name, out)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores directory permissions")
@pytest.mark.parametrize("name", ["write_directory", "fast tokenizer", "model"])
def test_save_under_a_really_read_only_parent(tmp_path, name):
    out = tmp_path / "readonly" / "out"
    out.mkdir(parents=True)
    os.chmod(out.parent, 0o555)
    try:
        SAVES[name](out)
        SAVES[name](out)
    finally:
        os.chmod(out.parent, 0o755)
    _load_back(name, out)


MOUNT_SCRIPT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from albert_tok import AlbertTokenizer, AlbertTokenizerFast
    from albert_tok.io import atomic
    out = Path(sys.argv[1])
    (out / "big.bin").write_bytes(b"x" * 1000)
    for _ in range(2):
        AlbertTokenizerFast(sys.argv[2]).save_pretrained(out)
        AlbertTokenizer(sys.argv[2]).save_pretrained(out)
        atomic.write_directory(out, {"a": b"1", "sub/b": b"2"})
    atomic.replace_directory(out / "checkpoint", {"state.json": b"{}"})
    atomic.replace_directory(out / "checkpoint", {"state.json": b"{}", "more": b""})
    assert AlbertTokenizerFast.from_pretrained(out).encode("Hello") == AlbertTokenizer(sys.argv[2]).encode("Hello")
    assert sorted(os.listdir(out / "checkpoint")) == ["more", "state.json"]
    if sys.argv[3] == "model":
        import torch
        import albert_model as A
        config = A.AlbertConfig(vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=1,
                                num_attention_heads=4, intermediate_size=37, max_position_embeddings=64)
        for size in ("10KB", "5GB"):  # sharded, then one file over the shards
            torch.manual_seed(0)
            model = A.AlbertModel(config)
            model.save_pretrained(out, max_shard_size=size)
        loaded = A.AlbertModel.from_pretrained(out)
        assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    print("saved", sorted(os.listdir(out)))
""")


def _in_mount_namespace(setup: str, out: Path, model: bool) -> str:
    """Run ``setup`` (shell, ``$1`` is ``out``) and then MOUNT_SCRIPT in a private mount namespace (root or
    user namespaces needed; skipped where that is not allowed): its mounts vanish with the process."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) to mount in a private namespace")
    probe = subprocess.run(
        [unshare, "-m", "sh", "-c", 'mount -t tmpfs none "$1"', "sh", str(out)], check=False, capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount here: {probe.stderr.decode(errors='replace').strip()}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false"}
    command = f'set -e; {setup}; exec "$2" -c "$3" "$1" "$4" "$5"'
    done = subprocess.run(
        [
            unshare,
            "-m",
            "sh",
            "-c",
            command,
            "sh",
            str(out),
            sys.executable,
            MOUNT_SCRIPT,
            str(SPIECE),
            "model" if model else "-",
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "saved" in done.stdout and "'checkpoint'" in done.stdout
    return done.stdout


def test_save_into_a_real_mount_point(tmp_path):
    out = tmp_path / "mnt"
    out.mkdir()
    _in_mount_namespace('mount -t tmpfs none "$1"', out, model=False)
    assert os.listdir(out) == []  # it all went into the mount, which is gone now


def test_save_into_a_writable_volume_under_a_read_only_parent(tmp_path):
    # As with docker -v: the directory is a mount point, writable, inside a read-only file system. Real
    # kernel semantics, for root too: creating anything beside it fails with EROFS, renaming it with EBUSY.
    parent = tmp_path / "readonly"
    out = parent / "out"
    out.mkdir(parents=True)
    setup = (
        'p="$(dirname "$1")"; mount --bind "$p" "$p"; mount -o remount,bind,ro "$p"; '
        'mount --bind "$1" "$1"; mount -o remount,bind,rw "$1"; ! touch "$p/probe" 2>/dev/null'
    )
    _in_mount_namespace(setup, out, model=True)
    assert os.listdir(parent) == ["out"]
    assert {"spiece.model", "tokenizer.json", "config.json", "model.safetensors", "checkpoint", "big.bin"} <= set(
        os.listdir(out)
    )
    assert not any(name.startswith("model-") for name in os.listdir(out))  # the shards were superseded
    assert [n for n in os.listdir(out) if atomic._is_temporary(n)] == []


# -- files the save did not write -------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(SAVES))
def test_unrelated_files_are_never_copied_or_linked(tmp_path, monkeypatch, name):
    out = tmp_path / "out"
    (out / "data").mkdir(parents=True)
    big = out / "data" / "corpus.bin"
    big.write_bytes(os.urandom(MB))
    (out / "big.bin").write_bytes(b"b" * MB)
    before = {p: os.stat(p) for p in (big, out / "big.bin", out / "data")}
    copied: list[str] = []

    def no_link(*args, **kwargs):  # a file system without hard links (a FAT or SMB volume)
        copied.append(f"link {args[0]}")
        raise OSError(errno.EPERM, "hard links are not supported here")

    monkeypatch.setattr(os, "link", no_link)
    for fn in ("copy", "copy2", "copyfile", "copytree"):
        real = getattr(shutil, fn)

        def spy(src, *args, _real=real, **kwargs):
            copied.append(f"copy {src}")
            return _real(src, *args, **kwargs)

        monkeypatch.setattr(shutil, fn, spy)
    SAVES[name](out)
    SAVES[name](out)
    assert copied == []
    for path, old in before.items():
        now = os.stat(path)
        assert (now.st_ino, now.st_nlink, now.st_mtime_ns, now.st_ctime_ns) == (
            old.st_ino,
            old.st_nlink,
            old.st_mtime_ns,
            old.st_ctime_ns,
        ), path


# -- what a reader sees while a save is being published ---------------------------------------------------
def _published(monkeypatch, out: Path) -> list[str]:
    """Names that replace a path in ``out`` (renames into it), in order."""
    names: list[str] = []
    for fn in ("rename", "replace"):
        real = getattr(os, fn)

        def spy(src, dst, *args, _real=real, **kwargs):
            result = _real(src, dst, *args, **kwargs)
            rel = os.path.relpath(os.fsdecode(dst), out)
            if not rel.startswith("..") and not atomic._is_temporary(os.path.basename(rel)):
                names.append(rel)
            return result

        monkeypatch.setattr(os, fn, spy)
    return names


def test_model_files_are_published_weights_first_config_last(tmp_path, monkeypatch):
    out = tmp_path / "m"
    out.mkdir()
    names = _published(monkeypatch, out)
    _sharded_model_save(out)
    shards = [n for n in names if n.startswith("model-")]
    assert len(shards) > 1
    assert names == [*shards, "model.safetensors.index.json", "config.json"]


def test_tokenizer_config_is_published_last(tmp_path, monkeypatch):
    out = tmp_path / "t"
    out.mkdir()
    names = _published(monkeypatch, out)
    AlbertTokenizerFast(SPIECE).save_pretrained(out)
    assert names[-1] == files.TOKENIZER_CONFIG
    assert set(names) == {files.SPIECE, files.TOKENIZER_JSON, files.TOKENIZER_CONFIG, files.SPECIAL_TOKENS_MAP}
    assert names.index(files.SPIECE) < names.index(files.TOKENIZER_JSON)


def test_publish_order_rule():
    order = atomic._publish_order(
        ["config.json", "b.json", "z.bin", "sub/config.json", "index.json", "a.model", "tokenizer_config.json"]
    )
    assert order == [
        "z.bin",
        "a.model",
        "b.json",
        "sub/config.json",
        "index.json",
        "config.json",
        "tokenizer_config.json",
    ]


def test_model_and_tokenizer_saved_into_one_volume_load_back(tmp_path, monkeypatch):
    out = tmp_path / "volume"
    out.mkdir()
    _forbid_renaming(monkeypatch, out)
    _model_save(out)
    AlbertTokenizerFast(SPIECE).save_pretrained(out)
    _load_back("model", out)
    _load_back("fast tokenizer", out)
    config = json.loads((out / "config.json").read_text())
    assert config["vocab_size"] == 99
