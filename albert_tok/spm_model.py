"""Reading a SentencePiece ``.model`` file (a ``ModelProto``) without protobuf.

Only the fields the fast converter needs are read: the pieces with scores and types, and the normaliser
spec. The serialized bytes stay the whole state of a tokenizer (as in sentencepiece's own API), so this
module never writes a model; it only reads one and says clearly when the bytes are not a model.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["PieceType", "Piece", "SentencePieceModel", "parse_model", "ModelFormatError", "SPIECE_UNDERLINE"]

SPIECE_UNDERLINE = "\u2581"  # SentencePiece's visible space: starts a word's first piece


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
    piece: str
    score: float
    type: int


@dataclass(frozen=True)
class SentencePieceModel:
    pieces: tuple[Piece, ...]
    model_type: int  # 1 = unigram
    normalizer_name: str
    precompiled_charsmap: bytes
    add_dummy_prefix: bool
    remove_extra_whitespaces: bool
    escape_whitespaces: bool

    @property
    def unk_id(self) -> int:
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


def _fields(buf: bytes) -> list[tuple[int, int, object]]:
    """(field number, wire type, value) for each field of one protobuf message."""
    out: list[tuple[int, int, object]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: object
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ModelFormatError("truncated length-delimited field")
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ModelFormatError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise ModelFormatError("truncated fixed-width field")
        out.append((number, wire, value))
    return out


def parse_model(data: bytes) -> SentencePieceModel:
    """Parse ``spiece.model`` bytes; raise :class:`ModelFormatError` naming what is wrong."""
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise ModelFormatError("a SentencePiece model must be non-empty bytes")
    pieces: list[Piece] = []
    model_type = 1
    norm: dict[int, object] = {}
    try:
        for number, wire, value in _fields(bytes(data)):
            if number == 1 and wire == 2:
                piece, score, ptype = "", 0.0, PieceType.NORMAL
                for n, w, v in _fields(value):  # type: ignore[arg-type]
                    if n == 1 and w == 2:
                        piece = v.decode("utf-8")  # type: ignore[union-attr]
                    elif n == 2 and w == 5:
                        score = struct.unpack("<f", v)[0]  # type: ignore[arg-type]
                    elif n == 3 and w == 0:
                        ptype = int(v)  # type: ignore[call-overload]
                pieces.append(Piece(piece, score, ptype))
            elif number == 2 and wire == 2:
                for n, w, v in _fields(value):  # type: ignore[arg-type]
                    if n == 3 and w == 0:
                        model_type = int(v)  # type: ignore[call-overload]
            elif number == 3 and wire == 2:
                norm = {n: v for n, _, v in _fields(value)}  # type: ignore[arg-type]
    except (UnicodeDecodeError, struct.error) as exc:
        raise ModelFormatError(f"not a SentencePiece model: {exc}") from exc
    if not pieces:
        raise ModelFormatError("not a SentencePiece model: no pieces found")
    if model_type != 1:
        raise ModelFormatError(f"only unigram SentencePiece models are supported, got model_type={model_type}")
    return SentencePieceModel(
        pieces=tuple(pieces),
        model_type=model_type,
        normalizer_name=bytes(norm.get(1, b"")).decode("utf-8", "replace"),  # type: ignore[arg-type]
        precompiled_charsmap=bytes(norm.get(2, b"")),  # type: ignore[arg-type]
        add_dummy_prefix=bool(norm.get(3, 1)),
        remove_extra_whitespaces=bool(norm.get(4, 1)),
        escape_whitespaces=bool(norm.get(5, 1)),
    )
