"""Atomic writes on a local POSIX file system: one file, a save of some files into a directory, or a whole
directory replaced as one.

:func:`write_file` writes a file under a temporary name beside it, syncs it and renames it into place.

:func:`write_directory` saves a set of files into a directory that may hold other things (a model beside its
tokenizer, a user's notes, a ``checkpoint/`` sub-directory) and may be a mount point or sit under a read-only
parent. It touches only its own files, inside the directory; nothing else is renamed, copied or linked:

1. under an exclusive ``flock`` on the directory (and on each sub-directory it writes into), a save killed
   earlier is dealt with first: one that had committed is finished, the parts of one that had not are
   deleted;
2. a journal, ``.atomic-journal``, records what this save will publish and remove (written to a temporary,
   synced, renamed into place), marked not committed;
3. each file is written and synced as ``.NAME.atomic-part`` beside its final name;
4. the journal is replaced by one marked committed: this is the commit point;
5. the files in ``remove_first`` are deleted, each part is renamed over its name in the publish order
   below, the files in ``remove`` are deleted, the directories are synced and the journal is deleted.

A save of one file in the directory itself that removes nothing needs no journal (its one rename is the
commit). Every file is always either its old or its new version, complete. A save killed before 4 leaves
the old files (and parts, which readers ignore); one killed after it is finished. Either is settled by the
next save or by :func:`recover`, which every loader of this project calls before reading: once recovered,
a directory holds every file of the old save or every file of the new one, never a mix (and no temporary
but the part of a killed one-file save, which the next save deletes).

A reader that does not call :func:`recover` (another library), reading during step 5 or after a kill in it,
can meet some files of each save. The publish order keeps that safe for Hugging Face-style directories:
files that are not JSON (weights, shards, ``spiece.model``) first, then JSON files (an index after the
shards it names, ``tokenizer.json``), and ``config.json`` and ``tokenizer_config.json``, which a loader
reads first, last (:data:`PUBLISH_LAST`): whoever sees the new config sees every new file it names.
Files in ``remove`` (superseded shards, a stale ``added_tokens.json``) go only after the new files are in;
files in ``remove_first`` (a ``model.safetensors`` that would be read instead of new shards) go before.

:func:`replace_directory` is for a caller that owns a whole directory (a training checkpoint): it is
replaced as one unit. The new tree is built as the hidden sibling ``.NAME.atomic-new`` and swapped in by
Linux ``renameat2(RENAME_EXCHANGE)``; without it the directory is renamed to ``.NAME.atomic-old`` and
``.NAME.atomic-ready`` into its place, and a process killed between the two renames leaves no directory
until the next :func:`replace_directory` or :func:`recover` completes the swap. This needs a writable
parent and a directory that is not a mount point.

Writers of one directory exclude each other with an exclusive ``flock`` (a ``replace_directory`` also locks
the parent), always taken from the outermost directory inwards, so two processes saving into one model
directory (the model and its tokenizer, or a checkpoint in a sub-directory) never lose each other's files.
:func:`write_file` takes no lock, so it can never wait.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import posixpath
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from albert_tok.io._regular import read_json

__all__ = [
    "PUBLISH_LAST",
    "Writer",
    "is_file_temporary",
    "recover",
    "replace_directory",
    "write_directory",
    "write_file",
    "write_synced",
]

Writer = Callable[[str, bytes], None]
"""Writes bytes to a path and syncs them (the path's directory exists)."""

PUBLISH_LAST = ("config.json", "tokenizer_config.json")
"""Top-level files :func:`write_directory` publishes after all others, in this order: what loaders read first."""

_NEW, _READY, _OLD = "atomic-new", "atomic-ready", "atomic-old"  # replace_directory's siblings
_FILE_TMP = "atomic-tmp"  # write_file's temporaries: .NAME.<8 random>.atomic-tmp
_PART = "atomic-part"  # write_directory's parts: .NAME.atomic-part
_JOURNAL = ".atomic-journal"  # write_directory's commit record

# Called with a label at each step of a save ("part NAME", "commit", "publish NAME", "remove NAME", "done";
# replace_directory: "staged", "aside", "done"). Tests stop or kill a save at a chosen step through it.
_step_hook: Callable[[str], None] | None = None


def _step(label: str) -> None:
    if _step_hook is not None:
        _step_hook(label)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary(directory: str, name: str, kind: str) -> str:
    return os.path.join(directory, f".{name}.{kind}")


def is_file_temporary(name: str) -> bool:
    """Whether ``name`` is the temporary of a :func:`write_file` (``.NAME.<random>.atomic-tmp``).

    A folder's owner may delete those a killed write left behind; any other file there is not this
    module's.

    Args:
        name: A file name (no directory).

    Returns:
        True for a :func:`write_file` temporary.
    """
    return name.startswith(".") and name.endswith(f".{_FILE_TMP}")


def _is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary of this module: readers ignore it."""
    return name == _JOURNAL or (
        name.startswith(".") and name.rsplit(".", 1)[-1] in (_NEW, _READY, _OLD, _FILE_TMP, _PART)
    )


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


@contextlib.contextmanager
def _locked_all(paths: Iterable[str]) -> Iterator[None]:
    """Lock directories outermost first (the one order every writer uses, so none can deadlock another)."""
    with contextlib.ExitStack() as stack:
        for path in sorted(set(paths), key=lambda p: p.split(os.sep)):
            stack.enter_context(_locked(path))
        yield


def _write_synced(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # a reused temporary keeps its old mode otherwise
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_synced(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` (created or truncated, mode ``0o666`` less the umask) and sync it to disk.

    Not atomic by itself: the default :data:`Writer` of :func:`write_directory`, which writes a temporary.

    Args:
        path: The file to write; its directory must exist. An existing file is truncated and keeps its inode
            (its mode is set to ``0o666`` less the umask all the same).
        data: The bytes to write (a bytearray or memoryview is copied first).

    Raises:
        OSError: the file cannot be opened, written or synced (a missing directory, no permission, a full
            disk); the file may then hold part of ``data``.
    """
    _write_synced(os.fspath(path), bytes(data), 0o666 & ~_umask())


def write_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace the file ``path`` with ``data`` atomically: readers see the old or the new content.

    The data goes to a temporary ``.NAME.<random>.atomic-tmp`` beside ``path``, is synced, renamed over
    ``path``, and the directory is synced. No lock is taken (a rename needs none); a write killed before
    the rename leaves its temporary, which the next :func:`write_directory` of the same name drops and
    readers ignore.

    The new file has mode ``0o666`` less the umask; a symbolic link at ``path`` is replaced by the file,
    not followed.

    Args:
        path: The file to replace or create; its directory must exist.
        data: The new content: bytes, a bytearray or a memoryview.

    Raises:
        TypeError: ``data`` is not bytes-like.
        ValueError: ``path`` names a directory: it ends with a separator (``"x/"``), is ``"."`` or
            ``".."``, or has no file name once made absolute (``"/"``).
        FileNotFoundError: the directory of ``path`` does not exist.
        OSError: the write, sync or rename failed (``IsADirectoryError`` when ``path`` is a directory);
            ``path`` is then as it was and the temporary is deleted. (Only syncing the directory comes after
            the rename: if that fails, the new content is in place but may not be durable yet.)
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    raw = os.fspath(path)
    target = os.path.abspath(raw)
    directory, name = os.path.split(target)
    if not name or raw.endswith(("/", os.sep)) or os.path.basename(raw) in (".", ".."):
        raise ValueError(f"{raw!r} names a directory, not a file")
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


def _check_names(contents: Mapping[str, bytes], what: str = "file name") -> None:
    for rel, data in contents.items():
        if (
            not isinstance(rel, str)
            or not rel
            or rel.startswith("/")
            or "\\" in rel
            or posixpath.normpath(rel) != rel
            or rel == "."
            or rel.split("/")[0] == ".."
        ):
            raise ValueError(
                f"{what} {rel!r} must be a relative path inside the directory (like 'config.json' or 'sub/file.bin')"
            )
        if _is_temporary(posixpath.basename(rel)):
            raise ValueError(f"{what} {rel!r} is reserved for the temporaries of atomic saves; choose another name")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"contents[{rel!r}] must be bytes, got {type(data).__name__}")
    for rel in contents:
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in contents:
                raise ValueError(f"{'/'.join(parts[:depth])!r} cannot be both a file and the directory of {rel!r}")


def _publish_order(names: Iterable[str]) -> list[str]:
    """The order :func:`write_directory` renames its files into place: files that are not JSON, then JSON
    files, then :data:`PUBLISH_LAST` (each group in the given order)."""

    def group(rel: str) -> tuple[int, int]:
        if rel in PUBLISH_LAST:
            return 2, PUBLISH_LAST.index(rel)
        return (1 if rel.endswith(".json") else 0), 0

    return sorted(names, key=group)  # sorted() is stable: the given order within a group


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


# -- write_directory ------------------------------------------------------------------------------------
def _part(target: str, rel: str) -> str:
    directory, name = posixpath.split(rel)
    return os.path.join(target, *([directory] if directory else []), f".{name}.{_PART}")


def _final(target: str, rel: str) -> str:
    return os.path.join(target, *rel.split("/"))


def _directories(target: str, names: Iterable[str]) -> list[str]:
    """The directories the files ``names`` live in (``target`` first)."""
    return sorted({target, *(os.path.dirname(_final(target, rel)) for rel in names)}, key=lambda p: p.split(os.sep))


def _read_journal(target: str) -> tuple[bool, list[str], list[str], list[str]]:
    """``(committed, publish, remove, remove_first)`` of the journal in ``target``."""
    path = os.path.join(target, _JOURNAL)
    record = read_json(path, "save journal")
    ok = (
        isinstance(record, dict)
        and isinstance(record.get("committed"), bool)
        and all(isinstance(record.get(k, []), list) for k in ("publish", "remove", "remove_first"))
    )
    if ok:
        names = [*record.get("publish", []), *record.get("remove", []), *record.get("remove_first", [])]
        ok = all(isinstance(n, str) for n in names)
        if ok:
            try:
                _check_names(dict.fromkeys(names, b""))
            except ValueError:
                ok = False
    if not ok:
        raise ValueError(
            f'{path}: not a journal of albert_tok.io.atomic (expected {{"committed": true|false, '
            f'"publish": [...], "remove": [...], "remove_first": [...]}} with relative file '
            f"names); remove it if nothing is being saved there"
        )
    return record["committed"], record.get("publish", []), record.get("remove", []), record.get("remove_first", [])


def _write_journal(
    target: str, committed: bool, publish: Sequence[str], remove: Sequence[str], remove_first: Sequence[str]
) -> None:
    """Write (or replace) the journal of ``target`` atomically and durably."""
    record = (
        json.dumps(
            {
                "committed": committed,
                "publish": list(publish),
                "remove": list(remove),
                "remove_first": list(remove_first),
            }
        )
        + "\n"
    )
    part = os.path.join(target, f".{_JOURNAL}.{_PART}")
    _write_synced(part, record.encode("utf-8"), 0o666 & ~_umask())
    os.replace(part, os.path.join(target, _JOURNAL))
    _fsync_directory(target)


def _end_journal(target: str) -> None:
    os.unlink(os.path.join(target, _JOURNAL))
    _fsync_directory(target)


def _unlink(target: str, names: Iterable[str]) -> None:
    for rel in names:
        path = _final(target, rel)
        if os.path.lexists(path) and not (os.path.isdir(path) and not os.path.islink(path)):
            os.unlink(path)
            _step(f"remove {rel}")


def _publish(target: str, publish: Sequence[str], remove: Sequence[str], remove_first: Sequence[str]) -> None:
    """Delete ``remove_first``, rename the parts into place, delete ``remove``, sync. Idempotent: what is
    already done is skipped, so a committed save can be run again after a kill."""
    _unlink(target, remove_first)
    for rel in publish:
        part = _part(target, rel)
        if os.path.lexists(part):
            os.replace(part, _final(target, rel))
            _step(f"publish {rel}")
    _unlink(target, remove)
    for directory in _directories(target, [*publish, *remove, *remove_first]):
        if os.path.isdir(directory):
            _fsync_directory(directory)


def _discard(target: str, publish: Iterable[str]) -> None:
    """Delete the parts of a save that did not commit (and the journal's own part)."""
    for part in [*(_part(target, rel) for rel in publish), os.path.join(target, f".{_JOURNAL}.{_PART}")]:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            os.unlink(part)


def _finish_journal(target: str) -> None:
    """Deal with a save killed halfway (lock on ``target`` held): finish it if it had committed, otherwise
    delete its parts."""
    if not os.path.lexists(os.path.join(target, _JOURNAL)):
        return
    committed, publish, remove, remove_first = _read_journal(target)
    inner = [d for d in _directories(target, [*publish, *remove, *remove_first]) if d != target]
    with _locked_all(inner):
        if committed:
            _publish(target, publish, remove, remove_first)
        else:
            _discard(target, publish)
        _end_journal(target)


def _ancestors_with_journals(target: str) -> list[str]:
    """The directories above ``target`` that hold a journal, outermost first: a save into one of them may
    have parts in ``target`` (a save of ``sub/name``), which only that journal can finish or undo."""
    found = []
    parent = os.path.dirname(target)
    while parent != target:
        if os.path.lexists(os.path.join(parent, _JOURNAL)):
            found.append(parent)
        target, parent = parent, os.path.dirname(parent)
    return found[::-1]


def _settle_around(target: str, inner: Iterable[str]) -> None:
    """Finish or undo the killed saves whose parts may lie in ``target`` or in the directories ``inner``
    below it, before a save there drops stale parts or a loader reads: those of a journal in a directory
    above ``target`` (outermost first), in ``target`` itself and in an inner directory. Takes each lock
    itself, so it runs before a save takes its own."""
    for directory in [*_ancestors_with_journals(target), *dict.fromkeys([target, *inner])]:
        if os.path.lexists(os.path.join(directory, _JOURNAL)):
            with _locked(directory):
                _finish_journal(directory)


def _drop_stale(directory: str, names: set[str]) -> None:
    """Delete what killed saves left in ``directory`` (its lock held): parts, the journal's part, and
    ``write_file`` temporaries of the ``names`` about to be written."""
    tmp = re.compile(r"\.(.+)\.[A-Za-z0-9_]{8}\." + _FILE_TMP)
    for entry in os.scandir(directory):
        name = entry.name
        stale = name.endswith("." + _PART) and name.startswith(".")
        if not stale and name.endswith(_FILE_TMP):
            match = tmp.fullmatch(name)
            stale = match is not None and match.group(1) in names
        if stale and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)


def _make_directories(path: str, created: list[str]) -> None:
    """``os.makedirs`` that records what it created (outermost first), so a failed save can remove it."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent != path:
        _make_directories(parent, created)
    try:
        os.mkdir(path)
    except FileExistsError:
        if not os.path.isdir(path):
            raise NotADirectoryError(errno.ENOTDIR, f"{path!r} exists and is not a directory", path) from None
        return
    created.append(path)


def write_directory(
    directory: str | os.PathLike[str],
    contents: Mapping[str, bytes],
    *,
    create: bool = False,
    writer: Writer | None = None,
    remove: Iterable[str] = (),
    remove_first: Iterable[str] = (),
) -> list[str]:
    """Save ``contents`` (relative path -> bytes) into ``directory``; return the paths, in ``contents`` order.

    Only the named files are touched: every other entry of ``directory`` stays as it is (no copy, no link,
    the directory itself is never renamed, so it may be a mount point or sit under a read-only parent).
    Each file is replaced atomically; the save as a whole commits at one point (see the module docstring):
    a failure or kill before it leaves every old file, one after it is finished by :func:`recover`. The
    files are published in :func:`_publish_order` (``config.json`` last). Files named in ``remove`` (and
    absent from ``contents``) are deleted after the new ones are in place, those in ``remove_first`` once
    the save has committed but before the first new file appears (a file a reader would take instead of
    the new ones, such as ``model.safetensors`` beside new shards); absent ones are ignored.

    Args:
        directory: the directory. With ``create`` it (and its parents) is made when missing; a save that
            fails then removes what it made.
        contents: relative path (``"config.json"``, ``"sub/file.bin"``) -> bytes.
        create: if True, a missing ``directory`` and its missing parents are made (and removed again when
            the save fails before its commit point); False (the default) raises FileNotFoundError instead.
        writer: writes each temporary (default: :func:`write_synced`).
        remove: relative paths of files to delete with this save, after its new files are in.
        remove_first: relative paths of files to delete with this save, before its new files are in.

    Returns:
        The path of each file written, ``directory`` (as given, not made absolute) joined with its name, in
        the order of ``contents``.

    Raises:
        ValueError, TypeError: a name that is not a relative path inside the directory (or is reserved for
            temporaries), data that is not bytes.
        FileNotFoundError: ``directory`` is missing and ``create`` is false.
        NotADirectoryError: ``directory`` (or a sub-directory a name needs) exists and is not a directory.
        IsADirectoryError: a name in ``contents`` or ``remove`` is an existing directory.
        OSError: the write failed; before the commit point nothing in ``directory`` changed.
    """
    _check_names(contents)
    removed_first = [rel for rel in dict.fromkeys(remove_first) if rel not in contents]
    removed = [rel for rel in dict.fromkeys(remove) if rel not in contents and rel not in removed_first]
    _check_names(dict.fromkeys([*removed_first, *removed], b""), "name to remove")
    given = os.fspath(directory)
    target = os.path.abspath(given)
    if os.path.lexists(target) and not os.path.isdir(target):
        raise NotADirectoryError(f"{given!r} exists and is not a directory")
    if not os.path.isdir(target):
        recover(target)  # a replace_directory killed halfway may have left it aside
    created: list[str] = []
    if not os.path.isdir(target):
        if not create:
            raise FileNotFoundError(f"directory {given!r} does not exist")
        _make_directories(target, created)
    write = writer or write_synced
    order = _publish_order(contents)
    written: list[str] = []
    journal = committed = False
    _settle_around(target, [d for d in _directories(target, contents) if os.path.isdir(d)])
    try:
        with _locked(target):
            _finish_journal(target)
            for rel in [*contents, *removed_first, *removed]:
                path = _final(target, rel)
                if os.path.isdir(path) and not os.path.islink(path):
                    raise IsADirectoryError(
                        errno.EISDIR, f"{path!r} is a directory; a save writes and removes files only", path
                    )
            for rel in contents:
                _make_directories(os.path.dirname(_final(target, rel)), created)
            directories = _directories(target, contents)
            with _locked_all(d for d in directories if d != target):
                try:
                    for d in directories:
                        _drop_stale(d, {posixpath.basename(r) for r in contents})
                    gone = [rel for rel in removed if os.path.lexists(_final(target, rel))]
                    gone_first = [rel for rel in removed_first if os.path.lexists(_final(target, rel))]
                    # One file in the directory itself needs no journal: its rename is the whole save, and a
                    # killed save's part is found by the next one. Otherwise the journal says where parts are.
                    journal = len(order) + len(gone) + len(gone_first) > 1 or any("/" in rel for rel in order)
                    if journal:
                        _write_journal(target, False, order, gone, gone_first)
                        _step("begin")
                    for rel in order:
                        part = _part(target, rel)
                        written.append(part)
                        write(part, bytes(contents[rel]))
                        _step(f"part {rel}")
                    for d in directories:
                        _fsync_directory(d)
                    if journal:
                        _write_journal(target, True, order, gone, gone_first)
                        committed = True  # from here on the save is finished, never undone
                        _step("commit")
                    _publish(target, order, gone, gone_first)
                    if journal:
                        _end_journal(target)
                    _step("done")
                except BaseException:
                    if committed:  # finish what can be finished now (after Ctrl-C, say); recover() does the rest
                        with contextlib.suppress(Exception):
                            _publish(target, order, gone, gone_first)
                            _end_journal(target)
                    else:  # undo: no old file was touched yet
                        for part in written:
                            with contextlib.suppress(OSError):
                                os.unlink(part)
                        if journal:
                            with contextlib.suppress(OSError):
                                _discard(target, order)
                                _end_journal(target)
                    raise
    except BaseException:
        if not committed:
            for path in reversed(created):
                with contextlib.suppress(OSError):
                    os.rmdir(path)
        raise
    return [os.path.join(given, *rel.split("/")) for rel in contents]


# -- replace_directory and recovery ---------------------------------------------------------------------
def _recover(parent: str, name: str) -> None:
    """Finish a swap a killed :func:`replace_directory` left half done, then drop its temporaries (lock
    on ``parent`` held)."""
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
    """Finish a :func:`write_directory` or :func:`replace_directory` that was killed halfway, if there was one.

    A save into a directory above it whose files reach into it (``sub/name``) is finished too. Cheap (a
    ``stat`` call for it and for each directory above it) when there is nothing to do, and it then writes
    nothing, so it is safe before reading any directory, read-only ones included. A save in progress is
    waited for.

    Args:
        directory: The directory about to be read or written. It need not exist: a
            :func:`replace_directory` killed between its two renames is completed, bringing it back.

    Raises:
        ValueError: a journal left in the directory (or above it) is not one this module wrote; the message
            names it.
        OSError: finishing or undoing the killed save failed (the directory is not writable, for one).
    """
    target = os.path.abspath(os.fspath(directory))
    parent, name = os.path.split(target)
    if not os.path.lexists(target):
        if any(os.path.lexists(_temporary(parent, name, kind)) for kind in (_NEW, _READY, _OLD)):
            with _locked(parent):
                _recover(parent, name)
        return
    if os.path.isdir(target):
        _settle_around(target, [target])


def _fsync_tree(root: str) -> None:
    for directory, _, _ in os.walk(root, topdown=False):
        _fsync_directory(directory)


def replace_directory(
    path: str | os.PathLike[str], contents: Mapping[str, bytes], *, writer: Writer | None = None
) -> list[str]:
    """Make the directory ``path`` hold exactly ``contents`` (relative path -> bytes), as ONE unit.

    For a caller that owns the whole directory (a training checkpoint): a reader, or a process killed at
    any moment, finds the complete old directory or the complete new one, never a mix, and nothing that
    was in the old directory survives. The new tree is built as the hidden sibling ``.NAME.atomic-new``
    and swapped in (``renameat2(RENAME_EXCHANGE)``, or rename-aside with recovery; :func:`recover`).
    Missing parents are created. ``path`` itself must not be a mount point (it is renamed); its parent
    must be writable. Returns the paths written, in ``contents`` order.

    Args:
        path: The directory to replace or create; what it held before is gone once the call returns.
        contents: Relative path (``"config.json"``, ``"sub/file.bin"``) -> bytes: the whole new content.
        writer: Writes each file of the staging tree; None (the default) uses :func:`write_synced`.

    Returns:
        The path of each file written, ``path`` (as given) joined with its name, in ``contents`` order.

    Raises:
        ValueError, TypeError: a name that is not a relative path inside the directory, or data not bytes.
        NotADirectoryError: ``path`` exists and is not a directory.
        OSError: the write failed (``EBUSY``: ``path`` is a mount point); ``path`` is then as it was and
            the staging tree is gone.
    """
    _check_names(contents)
    given = os.fspath(path)
    target = os.path.abspath(given)
    parent, name = os.path.split(target)
    if os.path.lexists(target) and not os.path.isdir(target):
        raise NotADirectoryError(f"{given!r} exists and is not a directory")
    os.makedirs(parent, exist_ok=True)
    write = writer or write_synced
    with _locked(parent), _locked(target):
        _recover(parent, name)
        exists = os.path.isdir(target)
        staging = _temporary(parent, name, _NEW)
        try:
            os.mkdir(staging)
            os.chmod(staging, stat.S_IMODE(os.stat(target).st_mode) if exists else 0o777 & ~_umask())
            for rel, data in contents.items():
                file = _final(staging, rel)
                os.makedirs(os.path.dirname(file), exist_ok=True)
                write(file, bytes(data))
                _step(f"part {rel}")
            _fsync_tree(staging)
            _step("staged")
            _swap_in(staging, target, exists, given)
            _step("done")
        except BaseException:
            if os.path.lexists(staging):
                _remove(staging)
            _recover(parent, name)  # a fallback swap that failed halfway is completed or undone
            raise
    return [os.path.join(given, *rel.split("/")) for rel in contents]


def _swap_in(staging: str, target: str, exists: bool, given: str) -> None:
    parent, name = os.path.split(target)
    try:
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
        _step("aside")
        os.rename(ready, target)  # killed before this line: recover() renames ready into place
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            raise OSError(
                errno.EBUSY,
                f"{given!r} cannot be replaced as a whole: it is a mount point or in use "
                f"(EBUSY); give a directory inside it",
                given,
            ) from exc
        raise
    _fsync_directory(parent)
    _remove(old)
