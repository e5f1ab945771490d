"""Atomic writes on a local POSIX file system: one file, or a whole directory replaced as one.

:func:`write_file` writes a file under a temporary name beside it, syncs it and renames it into place.

:func:`write_directory` writes a set of files into a directory so that a reader (or a process killed at
any moment) sees either the complete old directory or the complete new one, never a mix:

1. the new directory is built as a hidden sibling, ``.NAME.atomic-new``: every existing entry that is not
   being replaced is carried over (hard-linked, or copied where links fail; sub-directories recursively),
   then the new files are written; every file and directory is synced;
2. the sibling is swapped with the directory in one step by Linux ``renameat2(RENAME_EXCHANGE)``, and the
   parent is synced. Without it (another OS, a file system that refuses it) the directory is renamed to
   ``.NAME.atomic-old`` and ``.NAME.atomic-ready`` (the complete new one) into its place; a process killed
   between the two renames leaves no directory, and the next :func:`write_directory` or
   :func:`recover` (which the tokenizer loaders call) finishes the swap;
3. the old tree is removed. Temporaries left by a killed earlier save of the same directory are removed
   (or, for a half-done swap, completed) before each save, so at most one set exists at a time.

Writers of the same directory take an exclusive ``flock`` on its parent, and on the directory itself,
so two processes saving into one model directory (the model and its tokenizer, or a checkpoint in a
sub-directory) do not lose each other's files. (A :func:`write_file` into a directory that is being
replaced at that moment can be lost with the old tree; it takes no lock, so it can never wait.) Files are never modified in place, which is what makes
hard links between the old and the new tree safe.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping

__all__ = ["Writer", "recover", "replace_directory", "write_directory", "write_file"]

Writer = Callable[[str, bytes], None]
"""Writes bytes to a path and syncs them (the path's directory exists)."""

_NEW, _READY, _OLD = "atomic-new", "atomic-ready", "atomic-old"
_FILE_TMP = "atomic-tmp"
_LEGACY_TMP = ".tmp-"  # staging names of this package's earlier versions: always garbage


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary(directory: str, name: str, kind: str) -> str:
    return os.path.join(directory, f".{name}.{kind}")


def _is_temporary(name: str) -> bool:
    return name.startswith(_LEGACY_TMP) or (name.startswith(".") and name.rsplit(".", 1)[-1] in
                                              (_NEW, _READY, _OLD, _FILE_TMP))


def _fsync_directory(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Descriptors holding a lock. A flock belongs to the open file description, which a child forked by
# another thread (a multiprocessing pool refilling itself) would share and keep locked after we close ours.
_held: set[int] = set()


def _close_held_in_child() -> None:
    for fd in list(_held):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_held_in_child)


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on directory ``path`` (nothing when it does not exist). Retries when the
    directory was swapped while waiting, so the lock is always on the directory now at ``path``.

    The lock is not re-entrant: code that holds a ``flock`` on the directory itself must not call
    :func:`write_directory` on it or its parent from the same process."""
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            yield
            return
        _held.add(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                _held.discard(fd)
                os.close(fd)
                raise
        try:
            now = os.stat(path)
        except FileNotFoundError:
            now = None
        held = os.fstat(fd)
        if now is not None and (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            _held.discard(fd)
            os.close(fd)  # swapped while we waited: lock the directory that is there now
            continue
        try:
            yield
        finally:
            _held.discard(fd)
            os.close(fd)  # closing releases the flock
        return


def _write_synced(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # a reused temporary keeps its old mode otherwise
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace the file ``path`` with ``data`` atomically: readers see the old or the new content.

    The data goes to a temporary ``.NAME.<random>.atomic-tmp`` beside ``path``, is synced, renamed over
    ``path``, and the directory is synced. No lock is taken (a rename needs none); a write killed before
    the rename leaves its temporary, which :func:`write_directory` drops and readers ignore.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    target = os.path.abspath(os.fspath(path))
    directory, name = os.path.split(target)
    if not name:
        raise ValueError(f"{os.fspath(path)!r} names a directory, not a file")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"directory {directory!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".{_FILE_TMP}", dir=directory)
    try:
        os.close(fd)
        _write_synced(tmp, bytes(data), 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _check_names(contents: Mapping[str, bytes]) -> None:
    for rel, data in contents.items():
        if not isinstance(rel, str) or not rel or rel.startswith("/") or "\\" in rel or \
                posixpath.normpath(rel) != rel or rel == "." or rel.split("/")[0] == "..":
            raise ValueError(f"file name {rel!r} must be a relative path inside the directory "
                             f"(like 'config.json' or 'sub/file.bin')")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"contents[{rel!r}] must be bytes, got {type(data).__name__}")


def _load_exchange() -> Callable[[str, str], bool] | None:
    """``renameat2(RENAME_EXCHANGE)`` through libc, or None where libc lacks it. The callable returns
    False when the file system refuses the exchange."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return None
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2

    def exchange(a: str, b: str) -> bool:
        if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
            return True
        code = ctypes.get_errno()
        if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
            return False
        raise OSError(code, os.strerror(code), a)

    return exchange


_exchange = _load_exchange()


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _recover(parent: str, name: str) -> None:
    """Finish a swap a killed save left half done, then drop that save's temporaries (lock held)."""
    target = os.path.join(parent, name)
    if not os.path.lexists(target):
        for kind in (_READY, _OLD):  # the complete new tree if it got that far, else the old one
            candidate = _temporary(parent, name, kind)
            if os.path.isdir(candidate):
                os.rename(candidate, target)
                _fsync_directory(parent)
                break
    for kind in (_NEW, _READY, _OLD):
        path = _temporary(parent, name, kind)
        if os.path.lexists(path):
            _remove(path)


def recover(directory: str | os.PathLike[str]) -> None:
    """Complete or undo a :func:`write_directory` that was killed halfway through, if there was one.

    Only needed where ``renameat2`` is unavailable (then a killed swap can leave no ``directory``); it is
    cheap and safe to call before reading any directory written by :func:`write_directory`.
    """
    target = os.path.abspath(os.fspath(directory))
    parent, name = os.path.split(target)
    if os.path.lexists(target) or not os.path.isdir(parent):
        return
    with _locked(parent):
        _recover(parent, name)


def _carry_over(source: str, destination: str, replaced: frozenset[str], prefix: str = "") -> None:
    """Link every entry of ``source`` into ``destination`` except the ``replaced`` paths, recursively."""
    for entry in os.scandir(source):
        rel = prefix + entry.name
        if rel in replaced or _is_temporary(entry.name):
            continue
        inside = any(r.startswith(rel + "/") for r in replaced)
        target = os.path.join(destination, entry.name)
        if entry.is_dir(follow_symlinks=False):
            os.mkdir(target)
            os.chmod(target, stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode))
            _carry_over(entry.path, target, replaced, rel + "/")
        elif inside:
            continue  # a file where a replaced path needs a directory: the new directory replaces it
        elif entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        else:
            try:
                os.link(entry.path, target, follow_symlinks=False)
            except OSError:  # a file system without hard links (or at their limit): copy instead
                shutil.copy2(entry.path, target, follow_symlinks=False)


def _fsync_tree(root: str) -> None:
    for directory, _, _ in os.walk(root, topdown=False):
        _fsync_directory(directory)


def write_directory(directory: str | os.PathLike[str], contents: Mapping[str, bytes], *, create: bool = False,
                    writer: Writer | None = None, remove: Iterable[str] = ()) -> list[str]:
    """Write ``contents`` (relative path -> bytes) into ``directory`` as one atomic step; return the paths.

    Entries of ``directory`` not named in ``contents`` are kept (sub-directories included), except the
    relative paths in ``remove``, which are gone after the same step (absent ones are ignored). With
    ``create`` a missing directory (and its parents) is made; otherwise it must exist. ``writer`` writes
    each new file into the staging tree (default: write and fsync). If anything fails, ``directory`` is
    left as it was and the staging tree is removed.
    """
    _check_names(contents)
    removed = frozenset(remove)
    _check_names(dict.fromkeys(removed, b""))
    given = os.fspath(directory)
    target = os.path.abspath(given)
    parent, name = os.path.split(target)
    if os.path.lexists(target) and not os.path.isdir(target):
        raise NotADirectoryError(f"{given!r} exists and is not a directory")
    if create:
        os.makedirs(parent, exist_ok=True)
    elif not os.path.isdir(parent):
        raise FileNotFoundError(f"directory {given!r} does not exist")
    file_mode = 0o666 & ~_umask()
    write = writer or (lambda path, data: _write_synced(path, bytes(data), file_mode))
    with _locked(parent), _locked(target):
        _recover(parent, name)
        exists = os.path.isdir(target)
        if not exists and not create:
            raise FileNotFoundError(f"directory {given!r} does not exist")
        staging = _temporary(parent, name, _NEW)
        try:
            os.mkdir(staging)
            os.chmod(staging, stat.S_IMODE(os.stat(target).st_mode) if exists else 0o777 & ~_umask())
            if exists:
                _carry_over(target, staging, frozenset(contents) | removed)
            for rel, data in contents.items():
                path = os.path.join(staging, *rel.split("/"))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                write(path, bytes(data))
            _fsync_tree(staging)
            _swap_in(staging, target, exists)
        except BaseException:
            if os.path.lexists(staging):
                _remove(staging)
            _recover(parent, name)  # a fallback swap that failed halfway is completed or undone
            raise
    return [os.path.join(given, *rel.split("/")) for rel in contents]


def _swap_in(staging: str, target: str, exists: bool) -> None:
    parent, name = os.path.split(target)
    if not exists:
        os.rename(staging, target)
        _fsync_directory(parent)
        return
    if _exchange is not None and _exchange(staging, target):
        _fsync_directory(parent)
        _remove(staging)  # now the old tree
        return
    ready, old = _temporary(parent, name, _READY), _temporary(parent, name, _OLD)
    os.rename(staging, ready)
    os.rename(target, old)
    os.rename(ready, target)  # killed before this line: recover() renames ready into place
    _fsync_directory(parent)
    _remove(old)


def replace_directory(path: str | os.PathLike[str], contents: Mapping[str, bytes], *,
                      writer: Writer | None = None) -> list[str]:
    """Make the directory ``path`` hold exactly ``contents`` (relative path -> bytes), as ONE unit.

    For a caller that owns the whole directory (a training checkpoint): a reader, or a process killed at
    any moment, finds the complete old directory or the complete new one, never a mix, and nothing that
    was in the old directory survives. The new tree is built as the hidden sibling ``.NAME.atomic-new``
    and swapped in (``renameat2(RENAME_EXCHANGE)``, or rename-aside with recovery; :func:`recover`).
    Missing parents are created. ``path`` itself must not be a mount point (it is renamed); its parent
    must be writable. Returns the paths written, in ``contents`` order.

    Raises:
        ValueError, TypeError: a name that is not a relative path inside the directory, or data not bytes.
        NotADirectoryError: ``path`` exists and is not a directory.
        OSError: the write failed; ``path`` is then as it was and the staging tree is gone.
    """
    _check_names(contents)
    given = os.fspath(path)
    target = os.path.abspath(given)
    parent, name = os.path.split(target)
    if os.path.lexists(target) and not os.path.isdir(target):
        raise NotADirectoryError(f"{given!r} exists and is not a directory")
    os.makedirs(parent, exist_ok=True)
    file_mode = 0o666 & ~_umask()
    write = writer or (lambda p, data: _write_synced(p, bytes(data), file_mode))
    with _locked(parent), _locked(target):
        _recover(parent, name)
        exists = os.path.isdir(target)
        staging = _temporary(parent, name, _NEW)
        try:
            os.mkdir(staging)
            os.chmod(staging, stat.S_IMODE(os.stat(target).st_mode) if exists else 0o777 & ~_umask())
            for rel, data in contents.items():
                file = os.path.join(staging, *rel.split("/"))
                os.makedirs(os.path.dirname(file), exist_ok=True)
                write(file, bytes(data))
            _fsync_tree(staging)
            _swap_in(staging, target, exists)
        except BaseException:
            if os.path.lexists(staging):
                _remove(staging)
            _recover(parent, name)
            raise
    return [os.path.join(given, *rel.split("/")) for rel in contents]
