"""Files that are what they claim: a path named as a data, config, model or tokenizer file must be a regular
file (never a directory, a device such as ``/dev/zero``, a FIFO or a socket, which would be read forever or
not at all), and JSON read from such a file must be a well-formed document of bounded nesting.

Every reader in both packages checks its paths here, so the messages read the same everywhere:
``FileNotFoundError`` ("does not exist"), ``NotARegularFileError`` ("is not a regular file") and
``ValueError`` ("FILE: problem") for JSON that is invalid, not UTF-8 or nested too deeply.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

__all__ = [
    "MAX_JSON_DEPTH",
    "InvalidUtf8",
    "NotARegularFileError",
    "first_invalid_utf8",
    "load_json",
    "read_json",
    "regular_file",
    "sha256_of",
]

# Far deeper than any real tokenizer, config or SQuAD file (SQuAD nests 6 levels), far shallower than the
# interpreter's recursion limit, which json would otherwise hit with a RecursionError.
MAX_JSON_DEPTH = 200


class NotARegularFileError(OSError):
    """A path given as a file names a directory, a device, a FIFO or a socket."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def regular_file(path: str | os.PathLike[str], what: str = "file") -> str:
    """Check that ``path`` names a regular file (links followed) and return it as a string.

    Args:
        path: the path to check.
        what: how the message names the file (``"config file"``, ``"--train file"``).

    Returns:
        ``os.fspath(path)``.

    Raises:
        FileNotFoundError: nothing exists at ``path``.
        NotARegularFileError: ``path`` is a directory, a device, a FIFO or a socket.
    """
    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {name!r} does not exist") from None
    if not stat.S_ISREG(mode):
        raise NotARegularFileError(f"{what} {name!r} is not a regular file (it is {_kind(mode)}): give a file")
    return name


@dataclass(frozen=True)
class InvalidUtf8:
    """Where a file first stops being UTF-8."""

    line: int
    """1-based line number."""
    column: int
    """0-based byte offset of the first bad byte within its line."""
    offset: int
    """0-based byte offset of the first bad byte within the file."""
    reason: str
    """The codec's reason (``"invalid start byte"``, ...)."""
    excerpt: bytes
    """The bad bytes with up to 12 bytes of context on each side."""


def first_invalid_utf8(path: str | os.PathLike[str]) -> InvalidUtf8 | None:
    """Find the first byte of ``path`` that is not UTF-8, with its line: a decoding error raised while
    reading text counts from the start of a decoded block, not of the file or the line. ``\\n`` never occurs
    inside a UTF-8 sequence, so decoding line by line finds the same first error.

    Args:
        path: The file to scan, read as bytes one line at a time. It is not checked to be a regular file:
            callers ask after reading it as text has failed, so they have already checked it.

    Returns:
        Where the first invalid byte is, or None when the whole file is UTF-8.

    Raises:
        OSError: When ``path`` cannot be opened or read.
    """
    offset = 0
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return InvalidUtf8(
                    number, exc.start, offset + exc.start, exc.reason, raw[max(0, exc.start - 12) : exc.end + 12]
                )
            offset += len(raw)
    return None


def _depth(text: str) -> int:
    """The deepest nesting of brackets outside strings (a linear scan, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def load_json(text: str, source: str, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """Parse JSON ``text`` read from ``source`` (a file name, or ``"FILE:LINE"``); ``object_pairs_hook`` as
    :func:`json.loads` takes it (what it raises passes through).

    Args:
        text: The JSON document, already decoded.
        source: Where ``text`` came from (a file name, or ``"FILE:LINE"`` for one line of a JSONL file); every
            message starts with it.
        object_pairs_hook: Called with each object's ``(key, value)`` pairs in order, its result standing for
            the object, as :func:`json.loads` calls it (to refuse duplicate keys, for instance); None (the
            default) builds dicts.

    Returns:
        The parsed document, of any JSON type (callers check the shape they need).

    Raises:
        ValueError: ``"SOURCE: ..."`` when the text is not valid JSON or is nested deeper than
            ``MAX_JSON_DEPTH`` (which would otherwise end in a ``RecursionError``).
    """
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(text) > MAX_JSON_DEPTH:
        raise ValueError(f"{source}: JSON nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not valid JSON: {exc}") from exc
    except RecursionError:  # a depth the scan above cannot see cannot exist; kept so no traceback escapes
        raise ValueError(f"{source}: JSON nested too deeply") from None


def read_json(path: str | os.PathLike[str], what: str = "JSON file") -> Any:
    """Read a JSON document from a regular UTF-8 file.

    Args:
        path: the file.
        what: how messages name the file.

    Returns:
        The parsed document (any JSON type: callers check the shape they need).

    Raises:
        FileNotFoundError, NotARegularFileError: see ``regular_file``.
        ValueError: ``"PATH: ..."`` for text that is not UTF-8, not JSON, or nested too deeply.
    """
    name = regular_file(path, what)
    try:
        with open(name, encoding="utf-8") as fh:
            text = fh.read()
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return load_json(text, name)


def sha256_of(fh: BinaryIO, copy_to: BinaryIO | None = None) -> tuple[str, int]:
    """The SHA-256 and length of what is left to read in ``fh``, read in 1 MiB blocks.

    Args:
        fh: A file opened for binary reading; it is read to its end.
        copy_to: A file opened for binary writing that gets each block as it is read, so that the copy is
            exactly the bytes hashed; None writes nothing.

    Returns:
        ``(hex digest, number of bytes read)``.
    """
    digest = hashlib.sha256()
    size = 0
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
        size += len(block)
        if copy_to is not None:
            copy_to.write(block)
    return digest.hexdigest(), size
