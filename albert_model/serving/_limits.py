"""What one request may hold, and the errors the server answers with.

Every refusal is an :class:`ApiError`: an HTTP status, text-embeddings-inference's ``error_type``
(``Validation``, ``Overloaded``, ``Unhealthy``, ``Backend``, ``Empty``) and a message; a refusal by a limit
also names the limit (``"limit": "max_texts"``), so a client can tell which one it hit without parsing the
message. Bodies are read and checked here, before anything is queued: a request that is too big, not UTF-8,
not JSON or of the wrong shape costs no model time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ApiError", "Limits", "parse_json", "text_list"]


@dataclass(frozen=True)
class Limits:
    """The limits of one request, each refused with its own name.

    Args:
        max_texts: Texts (or pairs, or question-context examples) in one request; more answer 413.
        max_chars: Characters in one text (a question and a context are each one text); more answer 413.
        max_body_bytes: Bytes of one request body; more answer 413 before the body is read whole.

    Raises:
        ValueError: A limit below 1.
    """

    max_texts: int = 256
    max_chars: int = 20_000
    max_body_bytes: int = 4 * 1024 * 1024

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{name} must be an int >= 1, got {value!r}")


class ApiError(Exception):
    """A request refused: answered as ``{"error": message, "error_type": kind}`` (plus ``"limit"`` when a
    limit refused it) with ``status``.

    Args:
        status: The HTTP status.
        message: What was wrong and what is accepted.
        kind: text-embeddings-inference's ``error_type``.
        limit: The name of the :class:`Limits` field (or server setting) that refused it, if one did.
        headers: Extra response headers (``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "Validation",
        limit: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.limit = limit
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer.

        Returns:
            ``{"error", "error_type"}``, with ``"limit"`` when a limit refused the request.
        """
        out: dict[str, Any] = {"error": self.message, "error_type": self.kind}
        if self.limit is not None:
            out["limit"] = self.limit
        return out


async def read_body(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """The request body, refused as soon as it is known to exceed ``limit`` bytes: from its
    ``Content-Length`` before reading, or while reading a body sent without one (chunked)."""
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, f"Content-Length must be an int, got {declared!r}") from None
        if size > limit:
            raise ApiError(413, _too_big(size, limit), limit="max_body_bytes")
    parts: list[bytes] = []
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise ApiError(413, _too_big(total, limit), limit="max_body_bytes")
        parts.append(chunk)
    return b"".join(parts)


def _too_big(size: int, limit: int) -> str:
    return f"request body of {size} bytes is over the limit of {limit} bytes (max_body_bytes, --max-body-bytes)"


def parse_json(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object.

    Args:
        raw: The body's bytes.

    Returns:
        The decoded object.

    Raises:
        ApiError: 400 for a body that is not UTF-8, not JSON, nested too deeply or with a number of thousands
            of digits; 422 for JSON that is not an object.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"request body is not valid UTF-8 (byte {exc.start}): send UTF-8 JSON") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"request body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ApiError(400, "request body is JSON nested too deeply: send a flat object") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise ApiError(400, f"request body holds a number that cannot be read: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(422, f"request body must be a JSON object, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def check_str(name: str, value: Any, limits: Limits) -> str:
    """``value`` if it is a string of Unicode text within ``limits.max_chars``; 422 for another type or a
    lone surrogate (JSON's ``"\ud800"`` escape decodes to one; no tokenizer takes it), 413 for a longer one."""
    if not isinstance(value, str):
        raise ApiError(422, f"{name} must be a string, got {_kind(value)}")
    if len(value) > limits.max_chars:
        raise ApiError(
            413,
            f"{name} has {len(value)} characters, over the limit of {limits.max_chars} (max_chars, --max-chars)",
            limit="max_chars",
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ApiError(
                422,
                f"{name} holds a lone surrogate U+{ord(value[exc.start]):04X} at index {exc.start}: "
                "send Unicode text (a surrogate pair, or the character itself, in UTF-8)",
            ) from None
    return value


def check_count(name: str, count: int, limits: Limits) -> None:
    """400 (``Empty``) for no inputs, 413 for more than ``limits.max_texts``."""
    if count == 0:
        raise ApiError(400, f"{name} is an empty list: send at least one input", kind="Empty")
    if count > limits.max_texts:
        raise ApiError(
            413,
            f"{name} has {count} inputs, over the limit of {limits.max_texts} per request (max_texts, --max-texts)",
            limit="max_texts",
        )


def text_list(body: dict[str, Any], limits: Limits, key: str = "inputs") -> tuple[list[str], bool]:
    """``body[key]`` as a list of texts and whether it came as a list (a string gives a list of one).

    Args:
        body: The request object.
        limits: The limits to check against.
        key: The field holding the texts.

    Returns:
        The texts and whether they came as a list.

    Raises:
        ApiError: 422 for a missing field or a value that is neither a string nor a list of strings, 400 for
            an empty list, 413 for too many texts or a text too long.
    """
    if key not in body:
        raise ApiError(422, f"missing field {key!r}: a string or a list of strings")
    value = body[key]
    if isinstance(value, str):
        return [check_str(key, value, limits)], False
    if not isinstance(value, list):
        raise ApiError(422, f"{key} must be a string or a list of strings, got {_kind(value)}")
    check_count(key, len(value), limits)
    return [check_str(f"{key}[{i}]", text, limits) for i, text in enumerate(value)], True


def option(body: dict[str, Any], name: str, kind: type, default: Any, choices: tuple[Any, ...] = ()) -> Any:
    """An optional field of type ``kind`` (an int field refuses booleans), one of ``choices`` when given."""
    if name not in body or body[name] is None:
        return default
    value = body[name]
    wrong = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
    if wrong:
        raise ApiError(422, f"{name} must be {kind.__name__}, got {_kind(value)}")
    if choices and value not in choices:
        raise ApiError(422, f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def positive(body: dict[str, Any], name: str, default: int, most: int) -> int:
    """An optional int field between 1 and ``most``."""
    value: int = option(body, name, int, default)
    if not 1 <= value <= most:
        raise ApiError(422, f"{name} must be an int from 1 to {most}, got {value}")
    return value
