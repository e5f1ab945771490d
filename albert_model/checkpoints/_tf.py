"""Google's TensorFlow ALBERT checkpoints, converted without TensorFlow.

A TensorFlow checkpoint (``model.ckpt-best``) is a *tensor bundle*: ``PREFIX.index``, a LevelDB-format sorted
table whose values are ``BundleHeaderProto`` (under the empty key) and one ``BundleEntryProto`` per tensor
(its dtype, shape, shard, offset, size and crc32c), and ``PREFIX.data-0000S-of-0000N``, the tensors' raw
little-endian bytes. A TF-Hub module keeps the same bundle as ``variables/variables``. Everything here is read
with the standard library and numpy: the few protobuf messages are decoded by hand, every table block's masked
crc32c and every tensor's crc32c are checked (:func:`crc32c` is numpy, vectorised over many lanes of each
tensor, so its cost grows linearly at numpy speed), and a file that is short, damaged or does not fit the
config raises :class:`TFCheckpointError` naming the file and the variable.

Google's variable names (``bert/embeddings/...``, ``bert/encoder/transformer/group_G/inner_group_I/...``,
``cls/predictions/...``, ``cls/seq_relationship/...``, with an optional ``module/`` prefix that TF-Hub
fine-tuning adds) map onto the keys of ``AlbertForPreTraining``; TensorFlow's dense kernels are ``[in, out]``
and are transposed to torch's ``[out, in]``. ``global_step`` and the optimizers' slots (``adam_m``,
``adam_v``, ...) are skipped; other variables are not converted and are listed in the result. Google's
``albert_config.json`` becomes ``config.json``; its ``gelu`` is the tanh approximation (``gelu_new``).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import struct
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from albert_model._config import CONFIG_NAME, AlbertConfig
from albert_model.checkpoints._card import CardFacts, SourceFile, card_contents, markdown_text
from albert_tok.io import atomic, read_json, regular_file

__all__ = [
    "TFCheckpointError",
    "TFConversion",
    "add_arguments",
    "convert_tf_checkpoint",
    "crc32c",
    "google_config",
    "read_bundle",
    "resolve_checkpoint",
    "run",
]


class TFCheckpointError(ValueError):
    """A TensorFlow checkpoint that cannot be read or does not fit its config; the message names the file
    and, where there is one, the variable."""


# -- crc32c ---------------------------------------------------------------------------------------------
_POLY = 0x82F63B78  # Castagnoli, reflected
_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


def _tables() -> np.ndarray:
    """The eight slicing tables: ``[0]`` one byte, ``[k]`` a byte followed by ``k`` zero bytes."""
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> np.uint32(1)) ^ np.uint32(_POLY), t >> np.uint32(1)).astype(np.uint32)
    tables = [t]
    for _ in range(7):
        prev = tables[-1]
        tables.append((prev >> np.uint32(8)) ^ t[prev & np.uint32(0xFF)])
    return np.stack(tables)


_T = _tables()
_T0 = [int(x) for x in _T[0]]
_SMALL = 4096  # below this many bytes a plain Python loop is cheaper than setting up numpy lanes
_MAX_LANES = 4096
_MIN_STEPS = 16


def _raw_python(data: memoryview, crc: int = 0) -> int:
    """The register after ``data``, starting from ``crc``, without CRC-32C's initial and final inversion."""
    table = _T0
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


# A linear map of the 32-bit register, as the images of its 32 bits. Appending n zero bytes to a message
# is such a map; crc(A + B) = zeros(len(B))(crc(A)) ^ crc(B) for the raw register.
_Operator = tuple[int, ...]


def _apply(op: _Operator, x: int) -> int:
    out = 0
    bit = 0
    while x:
        if x & 1:
            out ^= op[bit]
        x >>= 1
        bit += 1
    return out


def _compose(a: _Operator, b: _Operator) -> _Operator:
    """``a`` after ``b``."""
    return tuple(_apply(a, column) for column in b)


@functools.cache
def _powers() -> tuple[_Operator, ...]:
    """The maps of appending 1, 2, 4, ..., 2**63 zero bytes, each the square of the one before."""
    powers = [tuple(_raw_python(memoryview(b"\0"), 1 << i) for i in range(32))]
    while len(powers) < 64:
        powers.append(_compose(powers[-1], powers[-1]))
    return tuple(powers)


def _zeros(n: int) -> _Operator:
    """The map of appending ``n`` zero bytes (``n < 2**64``)."""
    op: _Operator = tuple(1 << i for i in range(32))
    for k, power in enumerate(_powers()):
        if n >> k & 1:
            op = _compose(power, op)
    return op


def _apply_lanes(op: _Operator, x: np.ndarray) -> np.ndarray:
    """``op`` applied to every element of ``x`` (uint32) through four byte tables."""
    values = np.arange(256, dtype=np.uint32)
    out = np.zeros_like(x)
    for b in range(4):
        table = np.zeros(256, dtype=np.uint32)
        for j in range(8):
            table ^= np.where((values >> np.uint32(j)) & np.uint32(1), np.uint32(op[8 * b + j]), np.uint32(0))
        out ^= table[(x >> np.uint32(8 * b)) & np.uint32(0xFF)]
    return out


def _raw(data: memoryview) -> int:
    """The raw register after ``data`` from 0: numpy lanes for the bulk, combined, then the tail."""
    n = len(data)
    if n < _SMALL:
        return _raw_python(data)
    lanes = 1 << min((n // (8 * _MIN_STEPS)).bit_length() - 1, _MAX_LANES.bit_length() - 1)
    steps = n // (8 * lanes)
    bulk = lanes * steps * 8
    words = np.frombuffer(data[:bulk], dtype="<u4").reshape(lanes, 2 * steps)
    t = _T
    crc = np.zeros(lanes, dtype=np.uint32)
    ff, s8, s16, s24 = np.uint32(0xFF), np.uint32(8), np.uint32(16), np.uint32(24)
    for j in range(steps):  # each lane takes 8 bytes a step (slicing-by-8)
        c = crc ^ words[:, 2 * j]
        w = words[:, 2 * j + 1]
        crc = (
            t[7][c & ff]
            ^ t[6][(c >> s8) & ff]
            ^ t[5][(c >> s16) & ff]
            ^ t[4][c >> s24]
            ^ t[3][w & ff]
            ^ t[2][(w >> s8) & ff]
            ^ t[1][(w >> s16) & ff]
            ^ t[0][w >> s24]
        )
    length = steps * 8
    while len(crc) > 1:  # pairs of neighbouring lanes, then pairs of pairs
        crc = _apply_lanes(_zeros(length), crc[0::2]) ^ crc[1::2]
        length *= 2
    head = int(crc[0])
    rest = data[bulk:]
    return _apply(_zeros(len(rest)), head) ^ _raw(rest) if len(rest) else head


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """CRC-32C (Castagnoli), as TensorFlow and LevelDB compute it.

    Args:
        data: the bytes.

    Returns:
        The checksum, an int in ``[0, 2**32)``; ``crc32c(b"123456789") == 0xE3069283``.
    """
    view = memoryview(data).cast("B")
    return _apply(_zeros(len(view)), _U32) ^ _raw(view) ^ _U32


def _unmask(masked: int) -> int:
    rot = (masked - _MASK_DELTA) & _U32
    return ((rot >> 17) | (rot << 15)) & _U32


# -- protobuf wire format, only what the bundle needs ----------------------------------------------------
def _varint(buf: bytes | memoryview, pos: int, what: str) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise TFCheckpointError(f"{what}: a varint runs past its end")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes | memoryview, what: str) -> Iterator[tuple[int, int, Any]]:
    """``(field number, wire type, value)`` of a protobuf message; value: int, or bytes when length-delimited."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos, what)
        number, wire = tag >> 3, tag & 7
        value: Any
        if wire == 0:
            value, pos = _varint(buf, pos, what)
        elif wire == 1:
            value, pos = int.from_bytes(buf[pos : pos + 8], "little"), pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos, what)
            value, pos = bytes(buf[pos : pos + size]), pos + size
        elif wire == 5:
            value, pos = int.from_bytes(buf[pos : pos + 4], "little"), pos + 4
        else:
            raise TFCheckpointError(f"{what}: protobuf wire type {wire} is not valid here")
        if pos > len(buf):
            raise TFCheckpointError(f"{what}: field {number} runs past the end of its message")
        yield number, wire, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# TensorFlow DataType enum -> numpy dtype; the others (strings, resources, quantized, bfloat16) are refused
_DTYPES = {
    1: "float32",
    2: "float64",
    3: "int32",
    4: "uint8",
    5: "int16",
    6: "int8",
    9: "int64",
    10: "bool",
    17: "uint16",
    19: "float16",
    22: "uint32",
    23: "uint64",
}
_DTYPE_NAMES = {7: "string", 14: "bfloat16", 20: "resource", 21: "variant"}
_FLOATS = ("float16", "float32", "float64")


@dataclass(frozen=True)
class _Entry:
    """One tensor's ``BundleEntryProto``."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int  # masked
    sliced: bool


def _shape(buf: bytes, what: str) -> tuple[int, ...]:
    dims: list[int] = []
    for number, wire, value in _fields(buf, what):
        if number == 2 and wire == 2:  # Dim
            size = next((v for n, w, v in _fields(value, what) if n == 1 and w == 0), 0)
            dims.append(_signed(size))
        elif number == 3 and wire == 0 and value:
            raise TFCheckpointError(f"{what}: the shape's rank is unknown")
    if any(d < 0 for d in dims):
        raise TFCheckpointError(f"{what}: the shape {dims} has a dimension of unknown size")
    return tuple(dims)


def _entry(name: str, buf: bytes, index: str) -> _Entry:
    what = f"{index}: the entry of variable {name!r}"
    values: dict[int, Any] = {}
    shape: tuple[int, ...] = ()
    sliced = False
    for number, wire, value in _fields(buf, what):
        if number == 2 and wire == 2:
            shape = _shape(value, what)
        elif number == 7 and wire == 2:
            sliced = True
        elif (number in (1, 3, 4, 5) and wire == 0) or (number == 6 and wire == 5):
            values[number] = value
    return _Entry(
        name=name,
        dtype=values.get(1, 0),
        shape=shape,
        shard=values.get(3, 0),
        offset=_signed(values.get(4, 0)),
        size=_signed(values.get(5, 0)),
        crc32c=values.get(6, 0),
        sliced=sliced,
    )


# -- the .index file: a LevelDB-format table -------------------------------------------------------------
_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
_TRAILER = 5  # compression type (1 byte) + masked crc32c (4 bytes)


def _block(data: bytes, handle: bytes, path: str) -> bytes:
    """The contents of the block at ``handle`` (its varint offset and size), its checksum verified."""
    offset, pos = _varint(handle, 0, path)
    size, _ = _varint(handle, pos, path)
    end = offset + size
    if end + _TRAILER > len(data):
        raise TFCheckpointError(
            f"{path} is truncated or damaged: a table block at bytes {offset}-{end + _TRAILER} lies past its "
            f"end ({len(data)} bytes)"
        )
    kind = data[end]
    (stored,) = struct.unpack_from("<I", data, end + 1)
    if _unmask(stored) != crc32c(memoryview(data)[offset : end + 1]):
        raise TFCheckpointError(f"{path} is damaged: the checksum of its table block at byte {offset} does not match")
    if kind != 0:
        raise TFCheckpointError(f"{path}: a table block is compressed (type {kind}); only uncompressed is read")
    return data[offset:end]


def _block_entries(block: bytes, path: str) -> Iterator[tuple[bytes, bytes]]:
    """``(key, value)`` of a table block (keys are stored as a shared prefix + the rest)."""
    if len(block) < 4:
        raise TFCheckpointError(f"{path} is damaged: a table block of {len(block)} bytes")
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * restarts
    if limit < 0:
        raise TFCheckpointError(f"{path} is damaged: a table block claims {restarts} restart points")
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = _varint(block, pos, path)
        unshared, pos = _varint(block, pos, path)
        size, pos = _varint(block, pos, path)
        if shared > len(key) or pos + unshared + size > limit:
            raise TFCheckpointError(f"{path} is damaged: a table entry runs past its block")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + size]
        pos += size


def _table(path: str) -> Iterator[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of the table in ``path``, in key order."""
    with open(regular_file(path, "checkpoint index"), "rb") as f:
        data = f.read()
    if len(data) < _FOOTER:
        raise TFCheckpointError(f"{path} is not a TensorFlow checkpoint index: {len(data)} bytes, too short")
    (magic,) = struct.unpack_from("<Q", data, len(data) - 8)
    if magic != _TABLE_MAGIC:
        raise TFCheckpointError(f"{path} is not a TensorFlow checkpoint index (its last 8 bytes are not a table's)")
    footer = data[len(data) - _FOOTER :]
    _, pos = _varint(footer, 0, path)  # metaindex handle: offset
    _, pos = _varint(footer, pos, path)  # and size; TensorFlow's tables have no meta blocks
    index_handle = footer[pos:]
    for _, handle in _block_entries(_block(data, index_handle, path), path):
        yield from _block_entries(_block(data, handle, path), path)


# -- the bundle ------------------------------------------------------------------------------------------
@dataclass
class _Bundle:
    prefix: str
    num_shards: int
    big_endian: bool
    entries: dict[str, _Entry]

    def data_file(self, shard: int) -> str:
        return f"{self.prefix}.data-{shard:05d}-of-{self.num_shards:05d}"

    def read(self, name: str) -> np.ndarray:
        """The tensor ``name``, its size and checksum verified."""
        e = self.entries[name]
        if e.sliced:
            raise TFCheckpointError(
                f"{self.prefix}.index: variable {name!r} is partitioned into slices, which this reader does not join"
            )
        if e.dtype not in _DTYPES:
            kind = _DTYPE_NAMES.get(e.dtype, f"DataType {e.dtype}")
            raise TFCheckpointError(f"{self.prefix}.index: variable {name!r} is a {kind} tensor, which is not read")
        dtype = np.dtype(_DTYPES[e.dtype]).newbyteorder(">" if self.big_endian else "<")
        count = int(np.prod(e.shape, dtype=np.int64))
        if e.size != count * dtype.itemsize or e.offset < 0:
            raise TFCheckpointError(
                f"{self.prefix}.index is damaged: variable {name!r} of shape {list(e.shape)} ({dtype.name}) "
                f"needs {count * dtype.itemsize} bytes, its entry says {e.size} at offset {e.offset}"
            )
        if not 0 <= e.shard < self.num_shards:
            raise TFCheckpointError(
                f"{self.prefix}.index is damaged: variable {name!r} is in shard {e.shard} of {self.num_shards}"
            )
        path = self.data_file(e.shard)
        raw = b""
        try:
            with open(regular_file(path, "checkpoint data file"), "rb") as f:
                length = os.fstat(f.fileno()).st_size
                if e.offset + e.size <= length:  # checked first: a size from a damaged entry is never allocated
                    f.seek(e.offset)
                    raw = f.read(e.size)
        except FileNotFoundError:
            raise TFCheckpointError(
                f"{path} is missing: it holds variable {name!r} (copy every .data-* file of the checkpoint)"
            ) from None
        if len(raw) != e.size:
            raise TFCheckpointError(
                f"{path} is truncated: variable {name!r} needs bytes {e.offset}-{e.offset + e.size}, the file has "
                f"{length}"
            )
        if crc32c(raw) != _unmask(e.crc32c):
            raise TFCheckpointError(
                f"{path} is damaged: the bytes of variable {name!r} do not match their checksum in {self.prefix}.index"
            )
        return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="), copy=False).reshape(e.shape)


def _bundle(prefix: str) -> _Bundle:
    index = prefix + ".index"
    header: bytes | None = None
    entries: dict[str, _Entry] = {}
    for key, value in _table(index):
        if key == b"":
            header = value
            continue
        try:
            name = key.decode("utf-8")
        except UnicodeDecodeError:
            name = ""
        # a slice of a partitioned variable has a binary key beside its variable's entry
        if name and name.isprintable():
            entries[name] = _entry(name, value, index)
    if header is None:
        raise TFCheckpointError(f"{index} has no bundle header: it is not a TensorFlow V2 checkpoint index")
    fields_ = {n: v for n, w, v in _fields(header, f"{index}: the bundle header") if w == 0}
    return _Bundle(prefix, num_shards=fields_.get(1, 1), big_endian=fields_.get(2, 0) == 1, entries=entries)


def resolve_checkpoint(path: str | os.PathLike[str]) -> str:
    """The bundle prefix a checkpoint path names.

    Args:
        path: a prefix (``model.ckpt-best``, whose ``.index`` exists), its ``.index`` or a ``.data-*`` file,
            a TF-Hub module directory (holding ``variables/variables.index``), a ``variables/`` directory, or
            a directory with a ``checkpoint`` state file (its ``model_checkpoint_path``) or with exactly one
            ``.index`` file.

    Returns:
        The prefix: ``PREFIX.index`` exists.

    Raises:
        FileNotFoundError: nothing there is a TensorFlow checkpoint; the message says what was looked for.
    """
    p = os.fspath(path)
    if os.path.isfile(p + ".index"):
        return p
    stem = re.sub(r"\.(index|data-\d{5}-of-\d{5})$", "", p)
    if stem != p and os.path.isfile(stem + ".index"):
        return stem
    if os.path.isdir(p):
        for candidate in (os.path.join(p, "variables", "variables"), os.path.join(p, "variables")):
            if os.path.isfile(candidate + ".index"):
                return candidate
        state = os.path.join(p, "checkpoint")
        if os.path.isfile(state):
            with open(state, encoding="utf-8", errors="replace") as f:
                found = re.search(r'^model_checkpoint_path:\s*"((?:[^"\\]|\\.)*)"', f.read(1 << 20), re.M)
            if found:  # relative to the directory; an absolute one (another machine's) by its name here
                for named in (os.path.join(p, found.group(1)), os.path.join(p, os.path.basename(found.group(1)))):
                    if os.path.isfile(named + ".index"):
                        return named
        indexes = sorted(n for n in os.listdir(p) if n.endswith(".index"))
        if len(indexes) == 1:
            return os.path.join(p, indexes[0][: -len(".index")])
        if indexes:
            raise FileNotFoundError(
                f"{p!r} holds {len(indexes)} checkpoints ({', '.join(indexes)}): name one, e.g. "
                f"{os.path.join(p, indexes[-1][: -len('.index')])!r}"
            )
    raise FileNotFoundError(
        f"no TensorFlow checkpoint at {p!r}: give its prefix (model.ckpt-best, beside model.ckpt-best.index and "
        f".data-* files), its .index file, or a TF-Hub module directory (with variables/variables.index)"
    )


def read_bundle(path: str | os.PathLike[str], names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Read tensors of a TensorFlow checkpoint, without TensorFlow.

    Args:
        path: the checkpoint, as :func:`resolve_checkpoint` takes it.
        names: the variables to read (default: every variable whose dtype numpy holds).

    Returns:
        Variable name -> array, each in the checkpoint's dtype and shape, its checksum verified.

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
        TFCheckpointError: a file is truncated or damaged (a checksum does not match), a data file is missing, a
            name is not in the checkpoint, or a tensor is partitioned or of a dtype that is not read.
    """
    bundle = _bundle(resolve_checkpoint(path))
    if names is None:
        names = [n for n, e in bundle.entries.items() if e.dtype in _DTYPES and not e.sliced]
    missing = [n for n in names if n not in bundle.entries]
    if missing:
        raise TFCheckpointError(f"{bundle.prefix}.index has no variable {', '.join(map(repr, missing))}")
    return {n: bundle.read(n) for n in names}


# -- Google's names -> ours ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Target:
    key: str
    shape: tuple[int, ...]  # ours (torch's)
    transpose: bool = False

    @property
    def tf_shape(self) -> tuple[int, ...]:
        return self.shape[::-1] if self.transpose else self.shape


_OPTIMIZER_SLOTS = frozenset(
    {"adam_m", "adam_v", "Adam", "Adam_1", "Momentum", "Adagrad", "RMSProp", "RMSProp_1", "ExponentialMovingAverage"}
)
_OPTIMIZER_SCALARS = frozenset({"global_step", "beta1_power", "beta2_power", "good_steps", "loss_scale"})
_HEADS = {"cls/predictions/": "masked-LM head", "cls/seq_relationship/": "sentence-order head"}
# Google's ALBERT modeling.py calls its tanh approximation "gelu"
_GOOGLE_ACTIVATIONS = {"gelu": "gelu_new"}
# Google-only keys of albert_config.json and the value every model transformers' ALBERT can be has
_GOOGLE_STRUCTURE = {"net_structure_type": 0, "gap_size": 0, "num_memory_blocks": 0, "down_scale_factor": 1}


def _linear(out: dict[str, _Target], tf: str, key: str, n_in: int, n_out: int) -> None:
    out[f"{tf}/kernel"] = _Target(f"{key}.weight", (n_out, n_in), transpose=True)
    out[f"{tf}/bias"] = _Target(f"{key}.bias", (n_out,))


def _layer_norm(out: dict[str, _Target], tf: str, key: str, n: int) -> None:
    out[f"{tf}/gamma"] = _Target(f"{key}.weight", (n,))
    out[f"{tf}/beta"] = _Target(f"{key}.bias", (n,))


def _variables(config: AlbertConfig) -> dict[str, _Target]:
    """Every variable of Google's pretraining graph for ``config`` -> our key and shape."""
    e, h, i, v = config.embedding_size, config.hidden_size, config.intermediate_size, config.vocab_size
    out: dict[str, _Target] = {}
    emb = "albert.embeddings"
    out["bert/embeddings/word_embeddings"] = _Target(f"{emb}.word_embeddings.weight", (v, e))
    out["bert/embeddings/position_embeddings"] = _Target(
        f"{emb}.position_embeddings.weight", (config.max_position_embeddings, e)
    )
    out["bert/embeddings/token_type_embeddings"] = _Target(
        f"{emb}.token_type_embeddings.weight", (config.type_vocab_size, e)
    )
    _layer_norm(out, "bert/embeddings/LayerNorm", f"{emb}.LayerNorm", e)
    _linear(out, "bert/encoder/embedding_hidden_mapping_in", "albert.encoder.embedding_hidden_mapping_in", e, h)
    for g in range(config.num_hidden_groups):
        for n in range(config.inner_group_num):
            tf = f"bert/encoder/transformer/group_{g}/inner_group_{n}"
            key = f"albert.encoder.albert_layer_groups.{g}.albert_layers.{n}"
            for part in ("query", "key", "value"):
                _linear(out, f"{tf}/attention_1/self/{part}", f"{key}.attention.{part}", h, h)
            _linear(out, f"{tf}/attention_1/output/dense", f"{key}.attention.dense", h, h)
            _layer_norm(out, f"{tf}/LayerNorm", f"{key}.attention.LayerNorm", h)
            _linear(out, f"{tf}/ffn_1/intermediate/dense", f"{key}.ffn", h, i)
            _linear(out, f"{tf}/ffn_1/intermediate/output/dense", f"{key}.ffn_output", i, h)
            _layer_norm(out, f"{tf}/LayerNorm_1", f"{key}.full_layer_layer_norm", h)
    _linear(out, "bert/pooler/dense", "albert.pooler", h, h)
    _linear(out, "cls/predictions/transform/dense", "predictions.dense", h, e)
    _layer_norm(out, "cls/predictions/transform/LayerNorm", "predictions.LayerNorm", e)
    out["cls/predictions/output_bias"] = _Target("predictions.bias", (v,))
    # output_weights is [labels, hidden] in TensorFlow too: no transpose
    out["cls/seq_relationship/output_weights"] = _Target("sop_classifier.classifier.weight", (2, h))
    out["cls/seq_relationship/output_bias"] = _Target("sop_classifier.classifier.bias", (2,))
    return out


def _is_optimizer(name: str) -> bool:
    parts = name.split("/")
    return (
        parts[-1] in _OPTIMIZER_SLOTS
        or parts[0] in _OPTIMIZER_SCALARS
        or any("Optimizer" in p or p.startswith(("LAMB", "lamb")) for p in parts)
    )


def google_config(path: str | os.PathLike[str]) -> AlbertConfig:
    """Google's ``albert_config.json`` as an :class:`~albert_model.AlbertConfig`.

    The keys both formats share are taken as they are, but ``hidden_act: "gelu"``, which Google's code computes
    as the tanh approximation, becomes ``"gelu_new"``. Google's structural keys (``net_structure_type``,
    ``gap_size``, ``num_memory_blocks``, ``down_scale_factor``, ``layers_to_keep``) must hold the values every
    published ALBERT has, and are not written. A transformers ``config.json`` (one with ``model_type``) is read
    as it is.

    Args:
        path: the JSON file.

    Returns:
        A new, validated config.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``"PATH: ..."``: not a JSON object, a value :class:`~albert_model.AlbertConfig` refuses, or a
            structural key this package's ALBERT cannot run.
    """
    p = os.fspath(path)
    data = read_json(p, "config file")
    if not isinstance(data, dict):
        raise ValueError(f"{p} must hold a JSON object of config keys, got a JSON {type(data).__name__}")
    if "model_type" not in data:
        data = dict(data)
        for key, plain in _GOOGLE_STRUCTURE.items():
            value = data.pop(key, plain)
            if value != plain:
                raise ValueError(f"{p}: {key}={value!r} is a structure this ALBERT does not have (only {plain})")
        layers = data.pop("layers_to_keep", [])
        if layers:
            raise ValueError(f"{p}: layers_to_keep={layers!r} is not supported (only all layers)")
        if isinstance(data.get("hidden_act"), str):
            data["hidden_act"] = _GOOGLE_ACTIVATIONS.get(data["hidden_act"], data["hidden_act"])
    try:
        return AlbertConfig.from_dict(data)
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from exc


@dataclass
class TFConversion:
    """What :func:`convert_tf_checkpoint` did.

    Attributes:
        checkpoint: the bundle prefix that was read (``.../model.ckpt-best``, ``.../variables/variables``).
        output: the directory written.
        architecture: the class the weights are for: ``"AlbertForPreTraining"`` (both heads),
            ``"AlbertForMaskedLM"`` (no sentence-order head, as in TF-Hub modules) or ``"AlbertModel"``.
        converted: Google's variable name -> our state-dict key, for every tensor written.
        skipped: variables of the checkpoint that were not converted and are neither ``global_step`` nor an
            optimizer's slot (a fine-tuning head, for instance).
        files: the paths written.
        sources: each source file read (config, vocabulary, index and data files) -> its sha256.
    """

    checkpoint: str
    output: str
    architecture: str
    converted: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def _plan(bundle: _Bundle, config: AlbertConfig, config_path: str) -> tuple[dict[str, str], list[str], str]:
    """Which of ``bundle``'s variables become which keys; ``(variable -> normalised name, skipped, class)``."""
    expected = _variables(config)
    index = bundle.prefix + ".index"
    found: dict[str, str] = {}  # Google's name -> the variable's name in the bundle
    skipped: list[str] = []
    for name in bundle.entries:
        google = name.removeprefix("module/")
        if _is_optimizer(google):
            continue
        if google in expected:
            if google in found:
                raise TFCheckpointError(f"{index} holds variable {google!r} twice: as {found[google]!r} and {name!r}")
            found[google] = name
        elif google.startswith(("bert/", *_HEADS)):
            raise TFCheckpointError(
                f"{index}: variable {name!r} has no place in the model {config_path} describes "
                f"(num_hidden_groups={config.num_hidden_groups}, inner_group_num={config.inner_group_num}): the "
                f"config does not belong to this checkpoint"
            )
        else:
            skipped.append(name)
    groups = {"": [n for n in expected if n.startswith("bert/")]}
    groups.update({prefix: [n for n in expected if n.startswith(prefix)] for prefix in _HEADS})
    present = {prefix: any(n in found for n in names) for prefix, names in groups.items()}
    if not any(present.values()):
        examples = ", ".join(repr(n) for n in list(bundle.entries)[:3])
        raise TFCheckpointError(
            f"{index} holds none of Google's ALBERT variables (bert/..., cls/...): its {len(bundle.entries)} "
            f"variables are named like {examples or 'nothing'}. Only the layout of Google's ALBERT code is read "
            f"(a TensorFlow 2 object-based checkpoint, with names ending in .ATTRIBUTES/VARIABLE_VALUE, is not it)"
        )
    for prefix, names in groups.items():
        if prefix and not present[prefix]:
            continue  # a checkpoint without that head
        absent = [n for n in names if n not in found]
        if absent:
            what = _HEADS.get(prefix, "model")
            raise TFCheckpointError(
                f"{index} has no variable {absent[0]!r} (needed for {expected[absent[0]].key}, part of the {what})"
                + (f" and {len(absent) - 1} more of it" if len(absent) > 1 else "")
            )
    architecture = (
        "AlbertForPreTraining"
        if present["cls/predictions/"] and present["cls/seq_relationship/"]
        else "AlbertForMaskedLM"
        if present["cls/predictions/"]
        else "AlbertModel"
    )
    return {found[n]: n for n in expected if n in found}, skipped, architecture


def _state(bundle: _Bundle, plan: dict[str, str], config: AlbertConfig) -> dict[str, np.ndarray]:
    expected = _variables(config)
    state: dict[str, np.ndarray] = {}
    for name, google in plan.items():
        target = expected[google]
        entry = bundle.entries[name]
        if entry.shape != target.tf_shape:
            raise TFCheckpointError(
                f"{bundle.prefix}.index: variable {name!r} has shape {list(entry.shape)}, the config asks for "
                f"{list(target.tf_shape)} (for {target.key}): the config does not belong to this checkpoint"
            )
        array = bundle.read(name)
        if array.dtype.name not in _FLOATS:
            raise TFCheckpointError(
                f"{bundle.prefix}.index: variable {name!r} is {array.dtype.name}, not a floating-point weight"
            )
        state[target.key] = np.ascontiguousarray(array.T) if target.transpose else array
    return state


def _tokenizer_files(spm: str, config: AlbertConfig) -> dict[str, bytes]:
    """The tokenizer directory ``AlbertTokenizer(spm).save_pretrained`` writes, as name -> bytes."""
    from albert_tok import AlbertTokenizer

    tokenizer = AlbertTokenizer(spm, model_max_length=config.max_position_embeddings)
    if tokenizer.vocab_size != config.vocab_size:
        raise ValueError(
            f"{spm} has {tokenizer.vocab_size} pieces but the config's vocab_size is {config.vocab_size}: it is not "
            f"this checkpoint's vocabulary"
        )
    with tempfile.TemporaryDirectory(prefix="albert-convert-tf-") as scratch:
        written = tokenizer.save_pretrained(scratch)
        out = {}
        for path in written:
            with open(path, "rb") as f:
                out[os.path.relpath(path, scratch)] = f.read()
    return out


def _card(conversion: TFConversion, config: AlbertConfig, files: list[SourceFile]) -> dict[str, bytes]:
    """``README.md``: what was converted, from which files (each with its sha256)."""
    heads = {
        "AlbertForPreTraining": "the masked-LM and sentence-order heads",
        "AlbertForMaskedLM": "the masked-LM head (no sentence-order head)",
        "AlbertModel": "no head",
    }[conversion.architecture]
    summary = (
        f"Google's TensorFlow ALBERT checkpoint `{markdown_text(os.path.basename(conversion.checkpoint))}`, "
        f"converted by `albert convert-tf` (no TensorFlow involved, every checksum verified): "
        f"{len(conversion.converted)} tensors for `{conversion.architecture}` with {heads}; "
        f"{config.num_hidden_layers} layers sharing {config.num_hidden_groups} "
        f"{'group' if config.num_hidden_groups == 1 else 'groups'} of parameters, hidden size "
        f"{config.hidden_size}, embedding size {config.embedding_size}, {config.vocab_size:,} pieces."
    )
    if conversion.skipped:
        summary += " Not converted: " + ", ".join(f"`{markdown_text(n)}`" for n in conversion.skipped) + "."
    facts = CardFacts(
        title=os.path.basename(os.path.abspath(conversion.output)),
        pipeline_tag="feature-extraction" if conversion.architecture == "AlbertModel" else "fill-mask",
        summary=summary,
        license_note="The licence is the source checkpoint's: Google's published ALBERT checkpoints are "
        "Apache-2.0; check the terms of the one you converted.",
        files=files,
        tags=["tensorflow-conversion"],
    )
    return card_contents(facts)


def _default_beside(prefix: str, names: tuple[str, ...], pattern: str) -> str | None:
    """A file that ``names`` or ``pattern`` fits next to the checkpoint, or in a TF-Hub module's directory or
    its ``assets/`` (which hold the vocabulary)."""
    here = os.path.dirname(prefix)
    folders = [here]
    if os.path.basename(here) == "variables":
        module = os.path.dirname(here)
        folders += [module, os.path.join(module, "assets")]
    for folder in folders:
        for name in names:
            if os.path.isfile(os.path.join(folder, name)):
                return os.path.join(folder, name)
        if os.path.isdir(folder):
            fits = sorted(n for n in os.listdir(folder) if re.fullmatch(pattern, n))
            if len(fits) == 1:
                return os.path.join(folder, fits[0])
    return None


def convert_tf_checkpoint(
    checkpoint: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    config: str | os.PathLike[str] | None = None,
    spm: str | os.PathLike[str] | None = None,
) -> TFConversion:
    """Convert Google's TensorFlow ALBERT checkpoint into a checkpoint directory, without TensorFlow.

    The directory gets ``config.json``, ``model.safetensors`` (the keys of ``AlbertForPreTraining``, or of
    the class whose heads the checkpoint has; tied aliases left out as ``save_pretrained`` leaves them), the
    tokenizer (``AlbertTokenizer(spm).save_pretrained``'s files) and a
    ``README.md`` card naming the source files and their sha256, all in one atomic save: a failure leaves the
    directory as it was. Weight files of an earlier save there are removed with it.

    Args:
        checkpoint: the TensorFlow checkpoint: its prefix (``model.ckpt-best``), ``.index`` or ``.data-*``
            file, a TF-Hub module directory or its ``variables/`` (see :func:`resolve_checkpoint`).
        output: the directory to write; created when missing.
        config: Google's ``albert_config.json`` (or a transformers ``config.json``); default: the
            ``albert_config.json`` beside the checkpoint (or in the TF-Hub module's directory).
        spm: the SentencePiece model (``30k-clean.model``); default: ``30k-clean.model`` or else the one
            ``.model`` file beside the checkpoint, or in the TF-Hub module's directory or its ``assets/``.

    Returns:
        A :class:`TFConversion` saying what was read, converted, skipped and written.

    Raises:
        FileNotFoundError: no checkpoint at ``checkpoint``, or no config or vocabulary given or found beside it.
        TFCheckpointError: a checkpoint file is truncated, damaged (a checksum does not match) or missing, a
            variable the model needs is absent, or a variable's shape or presence does not fit the config; the
            message names the file and the variable.
        ValueError: the config is not a valid ALBERT config, or the vocabulary's size is not its ``vocab_size``.
        OSError: the output could not be written; the directory is left as it was.
    """
    prefix = resolve_checkpoint(checkpoint)
    config_path = os.fspath(config) if config is not None else _default_beside(prefix, ("albert_config.json",), "")
    if config_path is None:
        raise FileNotFoundError(f"no albert_config.json beside {prefix}: pass the config (--config)")
    spm_path = os.fspath(spm) if spm is not None else _default_beside(prefix, ("30k-clean.model",), r".+\.model")
    if spm_path is None:
        raise FileNotFoundError(f"no SentencePiece .model file beside {prefix}: pass the vocabulary (--spm)")
    albert_config = google_config(config_path)
    tokenizer = _tokenizer_files(regular_file(spm_path, "SentencePiece model"), albert_config)  # before the weights
    bundle = _bundle(prefix)
    plan, skipped, architecture = _plan(bundle, albert_config, config_path)
    state = _state(bundle, plan, albert_config)
    config_out = albert_config.with_overrides()
    config_out.architectures = [architecture]
    config_out.dtype = next(iter(state.values())).dtype.name
    shards = sorted({bundle.entries[n].shard for n in plan})
    read = [config_path, spm_path, prefix + ".index", *(bundle.data_file(s) for s in shards)]
    files = [SourceFile.of(p, role="source") for p in read]
    conversion = TFConversion(
        checkpoint=prefix,
        output=os.fspath(output),
        architecture=architecture,
        converted={name: _variables(albert_config)[google].key for name, google in plan.items()},
        skipped=skipped,
        sources={os.path.abspath(p): f.sha256 for p, f in zip(read, files, strict=True)},
    )
    from safetensors.numpy import save

    from albert_model.checkpoints._weight_files import SAFETENSORS_NAME, superseded_files

    contents = {
        SAFETENSORS_NAME: save(state, metadata={"format": "pt"}),
        **tokenizer,
        CONFIG_NAME: config_out.to_json_string().encode("utf-8"),
    }
    contents.update(_card(conversion, config_out, files))
    shadowing, leftover = superseded_files(conversion.output, set(contents))
    stale = ["added_tokens.json"] if "added_tokens.json" not in contents else []
    conversion.files = atomic.write_directory(
        conversion.output,
        contents,
        create=True,
        remove=[os.path.basename(p) for p in leftover] + stale,
        remove_first=[os.path.basename(p) for p in shadowing],
    )
    return conversion


# -- the `albert convert-tf` command ----------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``albert convert-tf``.

    Args:
        parser: the sub-command's parser; its ``run`` default is set to :func:`run`.
    """
    parser.add_argument(
        "checkpoint",
        metavar="CKPT",
        help="the TensorFlow checkpoint: its prefix (model.ckpt-best), its .index file, or a TF-Hub module "
        "directory (with variables/variables.index)",
    )
    parser.add_argument("--config", help="Google's albert_config.json (default: the albert_config.json beside CKPT)")
    parser.add_argument(
        "--spm",
        help="the SentencePiece model, 30k-clean.model (default: the one .model file beside CKPT or in a "
        "TF-Hub module's assets/)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="the checkpoint directory to write")
    parser.set_defaults(run=run)


def run(ns: argparse.Namespace) -> int:
    """Run ``albert convert-tf``: convert, print what was written, warn about what was not converted.

    Bad input is raised, not printed: the ``albert`` command's runner (:func:`albert_tok.cli.run`) turns a
    ``ValueError`` or ``OSError`` into its one line ``albert convert-tf: error: ...`` and exit code 2.

    Args:
        ns: the parsed arguments of :func:`add_arguments`.

    Returns:
        0: the directory was written.

    Raises:
        FileNotFoundError: no checkpoint, config or vocabulary where the arguments point.
        TFCheckpointError: a checkpoint file is truncated, damaged or missing, or does not fit the config.
        ValueError: the config or the vocabulary is not valid for the checkpoint.
        OSError: the output could not be written.
    """
    result = convert_tf_checkpoint(ns.checkpoint, ns.out, config=ns.config, spm=ns.spm)
    print(f"{result.output}: {result.architecture}, {len(result.converted)} tensors from {result.checkpoint}")
    if result.skipped:
        print(
            f"albert convert-tf: warning: not converted (they have no place in {result.architecture}): "
            f"{', '.join(result.skipped)}",
            file=sys.stderr,
        )
    return 0
