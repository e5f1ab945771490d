"""Reading a SentencePiece ``.model`` file (a ``ModelProto``) without protobuf.

Only the fields the fast converter needs are read: the pieces with scores and types, and the normaliser
spec. The serialized bytes stay the whole state of a tokenizer (as in sentencepiece's own API), so this
module never writes a model; it only reads one and says clearly when the bytes are not a model.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

__all__ = [
    "ModelFormatError",
    "Piece",
    "PieceType",
    "SentencePieceModel",
    "parse_model",
    "parse_pieces_with_spans",
]


class ModelFormatError(ValueError):
    """The bytes are not a valid SentencePiece unigram model."""


class PieceType:
    """``ModelProto.SentencePiece.Type`` values."""

    NORMAL = 1
    UNKNOWN = 2
    CONTROL = 3
    USER_DEFINED = 4
    UNUSED = 5
    BYTE = 6


@dataclass(frozen=True)
class Piece:
    """One vocabulary entry of a ``.model`` file: its text, its log-probability score and its
    :class:`PieceType`."""

    piece: str
    score: float
    type: int


@dataclass(frozen=True)
class SentencePieceModel:
    """What this package reads from a ``.model`` file: the pieces in id order, the model type and the
    normaliser settings (the precompiled character map and the whitespace switches)."""

    pieces: tuple[Piece, ...]
    model_type: int  # 1 = unigram
    normalizer_name: str
    precompiled_charsmap: bytes
    add_dummy_prefix: bool
    remove_extra_whitespaces: bool
    escape_whitespaces: bool

    @property
    def unk_id(self) -> int:
        """The id of the first ``UNKNOWN`` piece; :class:`ModelFormatError` when the model has none."""
        for i, p in enumerate(self.pieces):
            if p.type == PieceType.UNKNOWN:
                return i
        raise ModelFormatError("the SentencePiece model has no <unk> piece")


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ModelFormatError("truncated varint: the file ends inside a field")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ModelFormatError("malformed varint")


def _fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field of one protobuf message."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ModelFormatError("truncated length-delimited field")
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ModelFormatError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise ModelFormatError("truncated fixed-width field")
        out.append((number, wire, value))
    return out


def _messages(fields: list[tuple[int, int, int | bytes]], number: int) -> list[bytes]:
    """The length-delimited values of field ``number`` (sub-messages or strings)."""
    return [v for n, w, v in fields if n == number and w == 2 and isinstance(v, bytes)]


def _scalars(buf: bytes) -> dict[int, int | bytes]:
    """Last value of each field of a flat message: varints as int, other wire types as bytes."""
    return {n: v for n, _, v in _fields(buf) if isinstance(v, (int, bytes))}


def _varint_field(fields: dict[int, int | bytes], number: int, default: int) -> int:
    value = fields.get(number, default)
    if not isinstance(value, int):
        raise ModelFormatError(f"field {number} must be a varint")
    return value


def _bytes_field(fields: dict[int, int | bytes], number: int) -> bytes:
    value = fields.get(number, b"")
    if not isinstance(value, bytes):
        raise ModelFormatError(f"field {number} must be length-delimited")
    return value


def _piece(buf: bytes) -> Piece:
    fields = _scalars(buf)
    score = fields.get(2, b"\0\0\0\0")
    if not isinstance(score, bytes) or len(score) != 4:
        raise ModelFormatError("a piece score must be a 32-bit float")
    return Piece(
        _bytes_field(fields, 1).decode("utf-8"),
        struct.unpack("<f", score)[0],
        _varint_field(fields, 3, PieceType.NORMAL),
    )


def parse_model(data: bytes) -> SentencePieceModel:
    """Parse ``spiece.model`` bytes; raise :class:`ModelFormatError` (and nothing else) naming what is wrong.

    The result is immutable and cached per content: a fast tokenizer parses its model when it is built and
    again for every ``tokenizer.json`` it saves, and parsing walks every piece's protobuf message in Python
    (tens of thousands of them for ALBERT).

    Args:
        data: The serialized ``ModelProto``, the content of a ``spiece.model`` file (``bytes`` or
            ``bytearray``).

    Returns:
        The pieces in id order, the model type and the normaliser settings; the same object for the same bytes
        while they stay in the small cache.

    Raises:
        ModelFormatError: When ``data`` is not non-empty bytes, is not a well-formed protobuf message, holds no
            pieces or text that is not UTF-8, or is a model other than unigram.
    """
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise ModelFormatError("a SentencePiece model must be non-empty bytes")
    return _parse_model(bytes(data))


@functools.lru_cache(maxsize=4)
def _parse_model(data: bytes) -> SentencePieceModel:
    try:
        top = _fields(bytes(data))
        pieces = [_piece(m) for m in _messages(top, 1)]
        trainer = [_scalars(m) for m in _messages(top, 2)]
        model_type = _varint_field(trainer[-1], 3, 1) if trainer else 1
        normalizers = [_scalars(m) for m in _messages(top, 3)]
        norm = normalizers[-1] if normalizers else {}
        name = _bytes_field(norm, 1).decode("utf-8", "replace")
        charsmap = _bytes_field(norm, 2)
        flags = [bool(_varint_field(norm, n, 1)) for n in (3, 4, 5)]
    except UnicodeDecodeError as exc:
        raise ModelFormatError(f"not a SentencePiece model: {exc}") from exc
    if not pieces:
        raise ModelFormatError("not a SentencePiece model: no pieces found")
    if model_type != 1:
        raise ModelFormatError(f"only unigram SentencePiece models are supported, got model_type={model_type}")
    return SentencePieceModel(
        pieces=tuple(pieces),
        model_type=model_type,
        normalizer_name=name,
        precompiled_charsmap=charsmap,
        add_dummy_prefix=flags[0],
        remove_extra_whitespaces=flags[1],
        escape_whitespaces=flags[2],
    )


def parse_pieces_with_spans(data: bytes) -> list[tuple[int, int, int]]:
    """``(id, begin, end)`` of each piece of a serialized ``SentencePieceText`` (what
    ``SentencePieceProcessor.encode(..., out_type="serialized_proto")`` returns); ``begin``/``end`` are
    UTF-8 byte offsets into the text that was encoded.

    Args:
        data: The serialized ``SentencePieceText`` of one encoded text.

    Returns:
        One ``(id, begin, end)`` triple per piece, in order; a field the message leaves out reads as 0.

    Raises:
        ModelFormatError: When ``data`` is not a well-formed protobuf message (raised while reading its fields).
    """
    out = []
    for message in _messages(_fields(data), 2):
        fields = _scalars(message)
        out.append((_varint_field(fields, 2, 0), _varint_field(fields, 4, 0), _varint_field(fields, 5, 0)))
    return out
