"""Rebuilding a SentencePiece ``.model`` (a ``ModelProto``) from a ``tokenizer.json``, without protobuf.

A published ALBERT checkpoint sometimes ships only the ``tokenizer.json`` that transformers' converter wrote from
its ``spiece.model``. That file keeps everything SentencePiece's canonical segmentation needs: the pieces and their
scores (the Unigram ``vocab``), the unknown piece (``unk_id``) and the normaliser's data (the ``Precompiled``
normaliser's ``precompiled_charsmap``). The kinds of piece SentencePiece distinguishes are read back from ALBERT's
conventions: a piece with a score of exactly 0.0 is a control piece when it is one of the special tokens (``<pad>``,
``[CLS]``, ``[SEP]``, ``[MASK]``), otherwise a user-defined one (``(``, ``-``, ``€`` ...), as ALBERT's
``spiece.model`` marks them. This package's own converter writes a user-defined piece with SentencePiece's bonus
score instead (``length * max_score - 0.1``, ``max_score`` starting at FLT_MIN), which is read back as user-defined
too; SentencePiece computes that bonus itself, so a user-defined piece is written with the score 0.0 it had. The
trainer and normaliser settings written are those of ALBERT's ``spiece.model``.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Collection, Mapping
from typing import Any

from albert_tok.engines._spm_model import ModelFormatError, PieceType

__all__ = ["ALBERT_CONTROL_PIECES", "model_from_tokenizer_json"]

# The special tokens ALBERT's spiece.model holds as control pieces.
ALBERT_CONTROL_PIECES = frozenset({"<pad>", "[CLS]", "[SEP]", "[MASK]"})
_UNIGRAM = 1
_FLT_MIN = 1.1754943508222875e-38  # SentencePiece starts the max_score of its user-defined bonus at FLT_MIN


def _f32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def _bonus_scores(vocab: list[Any]) -> dict[str, float]:
    """The score :mod:`albert_tok.engines._convert` gives each piece were it user-defined (SentencePiece's bonus,
    rounded to float32 as a saved score is): ``len(piece) * max_score - 0.1``, where ``max_score`` is the highest
    positive score of the vocabulary, or FLT_MIN (log-probabilities are negative)."""
    scores = [e[1] for e in vocab if isinstance(e, list) and len(e) == 2 and isinstance(e[1], (int, float))]
    max_score = max([_FLT_MIN, *scores])
    return {str(e[0]): _f32(len(str(e[0])) * max_score - 0.1) for e in vocab if isinstance(e, list) and e}


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # a negative int32 is written as its 64-bit two's complement, as protobuf does
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _bytes_field(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _float_field(number: int, value: float) -> bytes:
    return _varint(number << 3 | 5) + struct.pack("<f", value)


def _normalizer(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``Precompiled`` step of the normaliser (alone or inside a ``Sequence``), or None."""
    norm = data.get("normalizer")
    steps = [norm] if isinstance(norm, dict) and norm.get("type") != "Sequence" else []
    if isinstance(norm, dict) and isinstance(norm.get("normalizers"), list):
        steps = norm["normalizers"]
    found = [s for s in steps if isinstance(s, dict) and s.get("type") == "Precompiled"]
    return found[0] if found else None


def model_from_tokenizer_json(
    data: Mapping[str, Any], control_pieces: Collection[str] = ALBERT_CONTROL_PIECES, where: str = "tokenizer.json"
) -> bytes:
    """The serialized SentencePiece model a ``tokenizer.json`` was converted from (ALBERT's converter).

    Writes the pieces with their scores and types, a trainer spec (unigram, the vocabulary size, ALBERT's
    unknown, padding and absent bos/eos ids, no byte fallback) and a normaliser spec (``nmt_nfkc`` with the
    file's precompiled character map, a dummy prefix, extra whitespace removed, whitespace escaped), which is
    what SentencePiece needs to segment exactly as the original ``spiece.model`` did.

    Args:
        data: The parsed ``tokenizer.json`` (a JSON object).
        control_pieces: The pieces that are control pieces when their score is exactly 0.0 (the special tokens
            of the vocabulary); a special added token of ``data`` at the same id with the same text is one too.
            Any other piece scored 0.0 (or with the user-defined bonus this package's converter writes), except
            the unknown one, is user-defined. Default: ALBERT's.
        where: The file's name, used in error messages.

    Returns:
        The bytes of a ``ModelProto`` that :func:`albert_tok.engines.parse_model` and SentencePiece load.

    Raises:
        ModelFormatError: When the file is not a Unigram model with a ``[piece, score]`` vocabulary, an unknown
            piece and a ``Precompiled`` normaliser holding a base64 ``precompiled_charsmap``, or uses byte
            fallback: such a file was not written from an ALBERT ``spiece.model``.
    """
    model = data.get("model")
    if not isinstance(model, dict) or model.get("type") != "Unigram":
        kind = model.get("type") if isinstance(model, dict) else None
        raise ModelFormatError(f"{where}: the model is {kind!r}, not a Unigram (SentencePiece) vocabulary")
    if model.get("byte_fallback"):
        raise ModelFormatError(f"{where}: a Unigram model with byte_fallback is not ALBERT's")
    vocab = model.get("vocab")
    unk_id = model.get("unk_id")
    if not isinstance(vocab, list) or not vocab:
        raise ModelFormatError(f"{where}: model.vocab must be a non-empty list of [piece, score] pairs")
    if isinstance(unk_id, bool) or not isinstance(unk_id, int) or not 0 <= unk_id < len(vocab):
        raise ModelFormatError(f"{where}: model.unk_id {unk_id!r:.40} does not name a piece of the vocabulary")
    step = _normalizer(data)
    charsmap = step.get("precompiled_charsmap") if step is not None else None
    if not isinstance(charsmap, str) or not charsmap:
        raise ModelFormatError(
            f"{where}: no Precompiled normalizer with a precompiled_charsmap; SentencePiece's normaliser "
            f"cannot be rebuilt from it"
        )
    try:
        charsmap_bytes = base64.b64decode(charsmap, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ModelFormatError(f"{where}: precompiled_charsmap is not base64 ({exc})") from None
    specials = {
        item["id"]: item.get("content")
        for item in data.get("added_tokens") or []
        if isinstance(item, dict) and item.get("special") is True and isinstance(item.get("id"), int)
    }
    bonus = _bonus_scores(vocab)
    pieces = bytearray()
    controls: list[str] = []
    user_defined: list[str] = []
    pad_id = -1
    for i, entry in enumerate(vocab):
        if not isinstance(entry, list) or len(entry) != 2:
            raise ModelFormatError(f"{where}: model.vocab[{i}] is not a [piece, score] pair ({entry!r:.60})")
        piece, score = entry
        if not isinstance(piece, str) or isinstance(score, bool) or not isinstance(score, (int, float)):
            raise ModelFormatError(f"{where}: model.vocab[{i}] is not a [piece, score] pair ({entry!r:.60})")
        if not math.isfinite(score):
            raise ModelFormatError(f"{where}: model.vocab[{i}] has a score that is not finite")
        kind = PieceType.NORMAL
        if i == unk_id:
            kind = PieceType.UNKNOWN
        elif score == 0.0 and (piece in control_pieces or specials.get(i) == piece):
            kind = PieceType.CONTROL
            controls.append(piece)
            if piece == "<pad>" and pad_id < 0:
                pad_id = i
        elif score == 0.0 or _f32(score) == bonus[piece]:
            kind = PieceType.USER_DEFINED
            user_defined.append(piece)
            score = 0.0  # SentencePiece scores a user-defined piece itself; ALBERT's file holds 0.0
        message = _bytes_field(1, piece.encode("utf-8")) + _float_field(2, float(score)) + _int_field(3, kind)
        pieces += _bytes_field(1, message)
    trainer = bytearray(_int_field(3, _UNIGRAM) + _int_field(4, len(vocab)))
    for piece in controls:
        if piece != "<pad>":  # the padding piece is named by pad_id, not listed (as in ALBERT's spiece.model)
            trainer += _bytes_field(30, piece.encode("utf-8"))
    for piece in user_defined:
        trainer += _bytes_field(31, piece.encode("utf-8"))
    trainer += _int_field(35, 0)  # byte_fallback
    trainer += _int_field(40, unk_id) + _int_field(41, -1) + _int_field(42, -1) + _int_field(43, pad_id)
    trainer += _bytes_field(45, vocab[unk_id][0].encode("utf-8"))
    normalizer = (
        _bytes_field(1, b"nmt_nfkc")
        + _bytes_field(2, charsmap_bytes)
        + _int_field(3, 1)  # add_dummy_prefix
        + _int_field(4, 1)  # remove_extra_whitespaces
        + _int_field(5, 1)  # escape_whitespaces
    )
    return bytes(pieces + _bytes_field(2, bytes(trainer)) + _bytes_field(3, normalizer))
