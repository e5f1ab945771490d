"""The weight files of a checkpoint directory: finding them, reading them safely, and writing them in shards.

Reading follows transformers' order: ``model.safetensors``, ``model.safetensors.index.json`` (shards),
``pytorch_model.bin`` (unpickled with ``weights_only=True``, never more), ``pytorch_model.bin.index.json``.
Every file read must resolve inside the checkpoint directory, symlinks resolved: a shard index cannot name
``../x`` or ``/etc/x``. The one allowance is the Hugging Face cache, whose ``snapshots/<revision>/`` files are
symlinks into the same repository's ``blobs/``: a snapshot (found by its resolved path,
``models--<org>--<name>/snapshots/<revision>``) may reach that repository's ``blobs`` when it is a real
directory, never a link, so no layout can stretch the allowance outside the repository. A weight file that
is there must be a regular file (a FIFO or a device would be read forever), and is never skipped for the
next name. Whatever is read is checked to be ``{str: Tensor}``; anything else raises a
:class:`CheckpointError` naming the file.

Writing plans shards as ``huggingface_hub`` does (greedy in state-dict order, a tensor larger than the limit
alone in its shard), names them ``model-00001-of-00003.safetensors`` with a ``model.safetensors.index.json``,
and returns the bytes; the caller writes them in one atomic call.
"""

from __future__ import annotations

import io
import json
import os
import re
from typing import Any

import torch

from albert_tok.io import hub_snapshot, load_json, regular_file

__all__ = [
    "BIN_INDEX_NAME",
    "BIN_NAME",
    "SAFETENSORS_INDEX_NAME",
    "SAFETENSORS_NAME",
    "WEIGHT_NAMES",
    "CheckpointError",
    "parse_size",
    "plan_shards",
    "read_state_dict",
    "resolve_inside",
    "serialize",
    "superseded_files",
    "weight_file",
]

SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX_NAME = "model.safetensors.index.json"
BIN_NAME = "pytorch_model.bin"
BIN_INDEX_NAME = "pytorch_model.bin.index.json"
WEIGHT_NAMES = (SAFETENSORS_NAME, SAFETENSORS_INDEX_NAME, BIN_NAME, BIN_INDEX_NAME)  # reading priority
SHARD_NAME = re.compile(r"(model|pytorch_model)-\d{5}-of-\d{5}\.(safetensors|bin)")
StateDict = dict[str, torch.Tensor]
_UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model; the message lists every problem."""


# -- where a file may be ----------------------------------------------------------------------------
def _within(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def _roots(directory: str) -> list[str]:
    """The directories a file of ``directory`` may resolve into: itself, and for a hub-cache snapshot (or a
    folder inside one) its own repository's ``blobs``, only when that is a real directory (a link could name
    ``/``)."""
    real = os.path.realpath(directory)
    roots = [real]
    snapshot = hub_snapshot(real)
    if snapshot is not None:
        blobs = os.path.join(snapshot[0], "blobs")  # the repository folder is resolved: only blobs could be a link
        if os.path.isdir(blobs) and not os.path.islink(blobs):
            roots.append(blobs)
    return roots


def resolve_inside(directory: str, name: Any, source: str) -> str:
    """The path of ``name`` in ``directory``, refused unless it stays inside once symlinks are resolved.

    The one place a link may lead outside ``directory`` is a Hugging Face cache snapshot's own repository
    ``blobs`` directory (see the module docstring). The file need not exist: only where it would be is checked.

    Args:
        directory: The checkpoint directory the file must stay in.
        name: The file name to resolve, relative to ``directory``, as read from an index or a constant; anything
            that is not a non-empty string without NUL bytes is refused (it may come from untrusted JSON).
        source: What named the file (an index path, ``"checkpoint directory 'DIR'"``), used in the messages.

    Returns:
        ``directory`` joined with ``name`` and normalised (absolute, ``..`` folded), symlinks not resolved.

    Raises:
        CheckpointError: When ``name`` is not a non-empty string without NUL bytes, is an absolute path (or has
            a drive), leads outside ``directory`` by ``..``, or is a link that resolves outside it.
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        raise CheckpointError(f"{source} names the file {name!r}; a file name (a non-empty string) is required")
    if os.path.isabs(name) or os.path.splitdrive(name)[0]:
        raise CheckpointError(
            f"{source} names {name!r}, an absolute path; weight files must be named "
            f"relative to the checkpoint directory {directory!r}"
        )
    base = os.path.abspath(directory)
    joined = os.path.normpath(os.path.join(base, name))
    if not _within(joined, base):
        raise CheckpointError(
            f"{source} names {name!r}, which is outside the checkpoint directory {directory!r}; refusing to read it"
        )
    real = os.path.realpath(joined)
    if not any(_within(real, root) for root in _roots(directory)):
        raise CheckpointError(
            f"{source} names {name!r}, a link that resolves to {real!r}, outside the checkpoint "
            f"directory {directory!r}; refusing to read it"
        )
    return joined


# -- reading ----------------------------------------------------------------------------------------
def _check_tensors(state: Any, path: str) -> StateDict:
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not a state dict (a dict of name -> tensor)")
    bad_keys = [k for k in state if not isinstance(k, str)]
    if bad_keys:
        raise CheckpointError(f"{path} has keys that are not parameter names (strings): {bad_keys[:5]!r}")
    bad = sorted(k for k, v in state.items() if not isinstance(v, torch.Tensor))
    if bad:
        kinds = ", ".join(f"{k} ({type(state[k]).__name__})" for k in bad[:5])
        hint = (
            " (a training checkpoint? save the model's state_dict alone)"
            if any(isinstance(state[k], dict) for k in bad)
            else ""
        )
        raise CheckpointError(f"{path} holds {len(bad)} values that are not tensors: {kinds}{hint}")
    return state


def _read_safetensors(path: str) -> StateDict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{path} is not a readable safetensors file ({exc}); it may be truncated or corrupt"
        ) from exc
    return _check_tensors(state, path)


def _read_bin(path: str) -> StateDict:
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types (pickle, zip, runtime) for bad or hostile files
        raise CheckpointError(
            f"{path} could not be read as a PyTorch state dict with weights_only=True ({type(exc).__name__}: {exc})"
        ) from exc
    return _check_tensors(loaded, path)


def _read_index(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = load_json(fh.read(), path)
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:  # invalid JSON, or nested past the depth limit
        raise CheckpointError(str(exc)) from None
    if not isinstance(data, dict) or "weight_map" not in data:
        raise CheckpointError(
            f'{path} must be a JSON object with a "weight_map" of parameter name -> shard '
            f"file; got {type(data).__name__}" + (" without weight_map" if isinstance(data, dict) else "")
        )
    weight_map = data["weight_map"]
    if not isinstance(weight_map, dict) or not weight_map:
        raise CheckpointError(
            f"{path}: weight_map must be a non-empty JSON object of parameter name -> shard "
            f"file, got {type(weight_map).__name__} {str(weight_map)[:80]}"
        )
    bad = [(k, v) for k, v in weight_map.items() if not isinstance(v, str) or not v]
    if bad:
        raise CheckpointError(
            f"{path}: weight_map values must be shard file names (strings); "
            f"{len(bad)} are not, e.g. {bad[0][0]!r}: {bad[0][1]!r}"
        )
    return weight_map


def _read_sharded(directory: str, index: str, read: Any) -> StateDict:
    weight_map = _read_index(index)
    by_shard: dict[str, list[str]] = {}
    for key, shard in weight_map.items():
        by_shard.setdefault(shard, []).append(key)
    paths = {shard: resolve_inside(directory, shard, index) for shard in sorted(by_shard)}
    state: StateDict = {}
    for shard, path in paths.items():
        if not os.path.lexists(path):
            raise CheckpointError(f"{index} names shard {shard!r}, which is not a file in {directory!r}")
        tensors = read(regular_file(path, f"shard named by {index}"))
        listed = set(by_shard[shard])
        absent = sorted(listed - set(tensors))
        if absent:
            raise CheckpointError(f"{path} lacks keys that {index} places in it: {', '.join(absent[:10])}")
        unlisted = sorted(set(tensors) - listed)
        if unlisted:
            raise CheckpointError(f"{path} holds keys that {index} does not place in it: {', '.join(unlisted[:10])}")
        state.update(tensors)
    return state


def weight_file(directory: str) -> tuple[str, str]:
    """``(name, path)`` of the weight file a load of ``directory`` reads first (:data:`WEIGHT_NAMES` order).

    A name that is there is the one to read: a link out of the directory (:class:`CheckpointError`), a
    dangling link (``FileNotFoundError``), a directory, device or FIFO (``NotARegularFileError``) is an
    error, never a reason to fall back on the next name.

    Args:
        directory: The checkpoint directory to look in.

    Returns:
        The first of :data:`WEIGHT_NAMES` present in ``directory`` (even as a dangling link) and its path there,
        checked to stay inside the directory and to be a regular file.

    Raises:
        FileNotFoundError: When ``directory`` has none of the four weight names, or the one present is a
            dangling link.
        CheckpointError: When the name present is a link that resolves outside ``directory``.
        NotARegularFileError: When the name present is a directory, a device, a FIFO or a socket.
    """
    for name in WEIGHT_NAMES:
        if os.path.lexists(os.path.join(directory, name)):
            path = resolve_inside(directory, name, f"checkpoint directory {directory!r}")
            return name, regular_file(path, "weights file")
    raise FileNotFoundError(
        f"{directory!r} has no {SAFETENSORS_NAME}, {SAFETENSORS_INDEX_NAME}, {BIN_NAME} or {BIN_INDEX_NAME}"
    )


def read_state_dict(directory: str) -> tuple[StateDict, str]:
    """The weights of a checkpoint directory and the file they came from (see the module docstring)."""
    name, path = weight_file(directory)
    if name == SAFETENSORS_NAME:
        return _read_safetensors(path), path
    if name == BIN_NAME:
        return _read_bin(path), path
    return _read_sharded(directory, path, _read_safetensors if name == SAFETENSORS_INDEX_NAME else _read_bin), path


# -- writing ----------------------------------------------------------------------------------------
def parse_size(size: int | str) -> int:
    """Bytes in ``5000000``, ``"5MB"`` (decimal units, as huggingface_hub) or ``"5MiB"``."""
    if isinstance(size, int) and not isinstance(size, bool):
        value = size
    elif isinstance(size, str):
        text = size.strip().upper()
        unit = next((u for u in sorted(_UNITS, key=len, reverse=True) if text.endswith(u)), None)
        try:
            value = int(float(text[: -len(unit)]) * _UNITS[unit]) if unit else -1
        except ValueError:
            value = -1
    else:
        value = -1
    if value < 1:
        raise ValueError(
            f'max_shard_size must be a positive number of bytes or a size such as "5GB", "500MB" '
            f"(units KB, MB, GB, TB, KiB, MiB, GiB, TiB), got {size!r}"
        )
    return value


def plan_shards(state: StateDict, max_bytes: int) -> list[StateDict]:
    """Greedy split in state-dict order, as ``huggingface_hub.split_torch_state_dict_into_shards``."""
    shards: list[StateDict] = []
    current: StateDict = {}
    size = 0
    for key, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if nbytes > max_bytes:
            shards.append({key: tensor})
            continue
        if current and size + nbytes > max_bytes:
            shards.append(current)
            current, size = {}, 0
        current[key] = tensor
        size += nbytes
    if current or not shards:
        shards.append(current)
    return shards


def _bin_bytes(state: StateDict) -> bytes:
    buffer = io.BytesIO()
    # a view would drag its whole storage into the file
    torch.save(
        {k: v if v.untyped_storage().nbytes() == v.numel() * v.element_size() else v.clone() for k, v in state.items()},
        buffer,
    )
    return buffer.getvalue()


def serialize(
    state: StateDict,
    *,
    max_shard_size: int | str = "5GB",
    safe_serialization: bool = True,
    total_parameters: int | None = None,
) -> dict[str, bytes]:
    """File name -> bytes of the weight files for ``state``: one file, or shards and their index."""
    from safetensors.torch import save

    shards = plan_shards(state, parse_size(max_shard_size))
    single, index_name = (
        (SAFETENSORS_NAME, SAFETENSORS_INDEX_NAME) if safe_serialization else (BIN_NAME, BIN_INDEX_NAME)
    )

    def encode(part: StateDict) -> bytes:
        return save(part, metadata={"format": "pt"}) if safe_serialization else _bin_bytes(part)

    if len(shards) == 1:
        return {single: encode(shards[0])}
    stem, ext = single.rsplit(".", 1)
    files: dict[str, bytes] = {}
    weight_map: dict[str, str] = {}
    for i, part in enumerate(shards, 1):
        name = f"{stem}-{i:05d}-of-{len(shards):05d}.{ext}"
        files[name] = encode(part)
        weight_map.update(dict.fromkeys(part, name))
    total_size = sum(t.numel() * t.element_size() for t in state.values())
    metadata: dict[str, int] = {"total_size": total_size}
    if total_parameters is not None:
        metadata = {"total_parameters": total_parameters, **metadata}
    index = {"metadata": metadata, "weight_map": dict(sorted(weight_map.items()))}
    files[index_name] = (json.dumps(index, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return files


def superseded_files(directory: str, new_names: set[str]) -> tuple[list[str], list[str]]:
    """Weight files in ``directory`` a save of ``new_names`` replaces: ``(shadowing, leftover)``.

    ``shadowing`` would be read before the new save (a stale ``model.safetensors`` beside new shards) and
    must go before it is written, so that a crash cannot pair the new config with old weights; ``leftover``
    (older shards, other formats) is only garbage and can go afterwards. Only transformers' own weight
    names are ever listed: nothing an old index names is deleted.
    """
    if not os.path.isdir(directory):
        return [], []
    entry = next(name for name in WEIGHT_NAMES if name in new_names)
    first = WEIGHT_NAMES.index(entry)
    shadowing: list[str] = []
    leftover: list[str] = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if name in new_names or not os.path.isfile(path):
            continue
        if name in WEIGHT_NAMES:
            (shadowing if WEIGHT_NAMES.index(name) < first else leftover).append(path)
        elif SHARD_NAME.fullmatch(name):
            leftover.append(path)
    return shadowing, leftover
