"""Hugging Face-format checkpoints: pure state-dict conversion, loading reports, loading and saving models.

Conversion is a chain of pure ``dict[str, Tensor] -> dict[str, Tensor]`` functions: legacy LayerNorm
names (``gamma``/``beta``), stale buffers (``position_ids``), the ``albert.`` prefix added or stripped to
fit the target class, and tied aliases dropped (they are re-tied after loading). Keys are judged by the
class being loaded and by nothing else: its base-model prefix, the modules it holds, its own ``head_modules``
(:meth:`~albert_model.modeling._pretrained.AlbertPreTrainedModel.is_head_key`). No other class is consulted, so a
class defined anywhere else (a user's, a test's) never changes how another one loads; nothing here names a
head, and this module imports no model class. Reading the files is :mod:`albert_model.checkpoints._weight_files`'.
"""

from __future__ import annotations

import copy
import inspect
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch

from albert_model._config import CONFIG_NAME, DTYPES, AlbertConfig, dtype_name
from albert_model.checkpoints._weight_files import (
    SAFETENSORS_NAME,
    CheckpointError,
    read_state_dict,
    resolve_inside,
    serialize,
    superseded_files,
)
from albert_tok.io import atomic

__all__ = [
    "FINE_TUNE_HINT",
    "HeadInitializedWarning",
    "LoadReport",
    "MissingHeadError",
    "compare",
    "drop_aliases",
    "drop_buffers",
    "fit_prefix",
    "load_into",
    "non_finite",
    "rename_legacy_keys",
    "resolve_dtype",
    "save_model",
]

StateDict = dict[str, torch.Tensor]
# A floating-point parameter may come from any of these without losing its meaning; integer or bool
# tensors would be cast to floats (ids becoming weights), so they are refused.
FLOAT_SOURCES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
FINE_TUNE_HINT = "fine-tune it, or point at a fine-tuned directory"


class HeadInitializedWarning(UserWarning):
    """A checkpoint lacked weights the model needs (its task head): they were initialised at random."""


class MissingHeadError(CheckpointError):
    """Raised by :meth:`LoadReport.require_head` when the task head was initialised at random."""


@dataclass
class LoadReport:
    """What loading did.

    Errors (``ok`` is False): keys ``missing`` or ``unexpected``, shape mismatches ``mismatched``
    ``(key, checkpoint shape, model shape)``. Not errors: ``newly_initialized`` (head and pooler parameters
    the checkpoint lacks, and mismatched task-head ones re-initialised under ``ignore_mismatched_sizes``, also
    listed in ``reinitialized``), ``unused`` (parameters of another head). ``missing_head`` is the part of
    ``newly_initialized`` the class's predictions depend on: ask ``head_missing`` or call ``require_head()``.

    ``from_pretrained`` builds one for every load and keeps it as ``model.load_report`` (and returns it with
    ``output_loading_info=True``); the fields are filled by the loader, not by callers.

    Attributes:
        missing: parameter names of the base model that the model has and the checkpoint lacks (an error).
        unexpected: parameter names of the base model that the checkpoint has and the model lacks (an
            error).
        mismatched: ``(name, checkpoint shape, model shape)`` of each parameter whose shapes differ and that
            was not re-initialised (an error; under ``strict=False`` it is left as initialised).
        newly_initialized: parameter names the checkpoint had no usable weights for and that were
            initialised at random: head and pooler parameters it lacks, and the task-head parameters listed
            in ``reinitialized``. Sorted.
        unused: checkpoint parameters of a part this class does not have (another task's head, a pooler),
            ignored.
        reinitialized: ``(name, checkpoint shape, model shape)`` of task-head parameters whose shape
            differed and that ``ignore_mismatched_sizes=True`` initialised afresh.
        missing_head: the names among ``newly_initialized`` (and, under ``strict=False``, ``mismatched``)
            that belong to the task head or the pooler it reads: when not empty the predictions are noise.
        model_class: the name of the class that was loaded (``"AlbertForSequenceClassification"``).
        source: the weight file (or shard index) the weights were read from, for messages.
    """

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    newly_initialized: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    reinitialized: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    missing_head: list[str] = field(default_factory=list)
    model_class: str = ""
    source: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing is ``missing``, ``unexpected`` or ``mismatched``: the checkpoint fits the class."""
        return not (self.missing or self.unexpected or self.mismatched)

    @property
    def head_missing(self) -> bool:
        """True when the task head (or the pooler it reads) was initialised at random: predictions are noise."""
        return bool(self.missing_head)

    def head_message(self) -> str:
        """The message of :meth:`require_head`'s error.

        Returns:
            A sentence naming the class, the checkpoint and the head parameters initialised at random, and
            saying to fine-tune the model or load a fine-tuned directory.
        """
        return (
            f"{self.model_class} was loaded from {self.source}, which has no weights for its task head "
            f"({', '.join(self.missing_head)}): they were initialised at random, so its predictions mean "
            f"nothing yet; {FINE_TUNE_HINT}"
        )

    def require_head(self) -> None:
        """Raise :class:`MissingHeadError` if the task head was initialised at random.

        Raises:
            MissingHeadError: ``missing_head`` is not empty; the message is :meth:`head_message`.
        """
        if self.head_missing:
            raise MissingHeadError(self.head_message())

    def describe(self) -> str:
        """The errors of this report, for a message.

        Returns:
            One line for the missing keys, one for the unexpected keys, one per shape mismatch followed by a
            hint on ``ignore_mismatched_sizes`` and ``strict``; the empty string when :attr:`ok`.
        """
        lines = []
        if self.missing:
            lines.append(f"missing keys ({len(self.missing)}): " + ", ".join(self.missing))
        if self.unexpected:
            lines.append(f"unexpected keys ({len(self.unexpected)}): " + ", ".join(self.unexpected))
        for key, found, wanted in self.mismatched:
            lines.append(f"shape mismatch for {key}: checkpoint {list(found)}, model {list(wanted)}")
        if self.mismatched:
            lines.append(
                "(a task head of another size, e.g. for a new num_labels: pass ignore_mismatched_sizes=True "
                "to initialise it afresh; any other mis-shaped parameter means the weights do not match "
                "config.json, and only strict=False loads them, leaving it at random with a warning)"
            )
        return "\n".join(lines)


# -- pure conversion ----------------------------------------------------------------------------------
def rename_legacy_keys(state: StateDict) -> StateDict:
    """Old TF-converted checkpoints name LayerNorm parameters ``gamma``/``beta``."""
    out = {}
    for key, value in state.items():
        if key.endswith(".gamma"):
            key = key[: -len("gamma")] + "weight"
        elif key.endswith(".beta"):
            key = key[: -len("beta")] + "bias"
        out[key] = value
    return out


def drop_buffers(state: StateDict) -> StateDict:
    """Remove buffers older transformers versions saved (``embeddings.position_ids``/``token_type_ids``)."""
    return {k: v for k, v in state.items() if not k.endswith(("embeddings.position_ids", "embeddings.token_type_ids"))}


def fit_prefix(state: StateDict, prefix: str) -> StateDict:
    """Add or strip the base-model prefix so the checkpoint's base keys match the target class.

    ``prefix`` is the target's (``"albert"`` for head classes, ``""`` for :class:`AlbertModel`). A head
    checkpoint loaded into the base model keeps its head keys unprefixed, to be reported as unused.
    """
    has_prefix = any(k.startswith("albert.") for k in state)
    if prefix and not has_prefix:
        return {f"{prefix}.{k}": v for k, v in state.items()}
    if not prefix and has_prefix:
        return {k.removeprefix("albert."): v for k, v in state.items()}
    return dict(state)


def drop_aliases(state: StateDict, tied: dict[str, str]) -> StateDict:
    """Remove tied aliases (``predictions.decoder.weight``/``bias``); loading re-ties them.

    Tied parameters are one tensor under two names, and a converter that keeps one name of each pair may keep
    the alias: an alias whose source the checkpoint lacks is then the source's value, and is kept under the
    source's name rather than dropped (which would leave the source at random).
    """
    out = {k: v for k, v in state.items() if k not in tied}
    for alias, source in tied.items():
        if alias in state and source not in state:
            out[source] = state[alias]
    return out


def _own_modules(expected: dict[str, torch.Tensor]) -> frozenset[str]:
    """The top-level modules (and parameters) that hold the model's own keys: ``embeddings``, ``encoder``,
    ``pooler`` for :class:`AlbertModel`; ``albert`` and the head for a task class."""
    return frozenset(key.split(".", 1)[0] for key in expected)


def _is_base_key(key: str, prefix: str, own: frozenset[str]) -> bool:
    """Whether ``key`` belongs to the base model of the class being loaded: under its ``prefix`` for a task
    class; under one of its own modules for the base model (anything else is another class's)."""
    return key.startswith(prefix + ".") if prefix else key.split(".", 1)[0] in own


def compare(state: StateDict, expected: dict[str, torch.Tensor], prefix: str) -> LoadReport:
    """Sort checkpoint keys against the model's into a :class:`LoadReport`, judged by the model alone.

    ``expected`` is the model's state dict (tied aliases left out), ``prefix`` its base-model prefix. A key
    outside the base model (a head, this class's or another's; for the base model, anything outside its own
    modules) is ``newly_initialized`` when the model lacks it in ``state``, ``unused`` when only ``state``
    has it; a base key is ``missing`` or ``unexpected`` (except the pooler, which a class may lack).
    """
    own = _own_modules(expected)
    report = LoadReport()
    for key in sorted(set(expected) - set(state)):
        # the head (and a pooler the checkpoint's class did not have) may start fresh
        fresh = not _is_base_key(key, prefix, own) or ".pooler." in f".{key}"
        (report.newly_initialized if fresh else report.missing).append(key)
    for key in sorted(set(state) - set(expected)):
        unused = not _is_base_key(key, prefix, own) or ".pooler." in f".{key}"
        (report.unused if unused else report.unexpected).append(key)
    for key in sorted(set(state) & set(expected)):
        if tuple(state[key].shape) != tuple(expected[key].shape):
            report.mismatched.append((key, tuple(state[key].shape), tuple(expected[key].shape)))
    return report


def wrong_dtypes(state: StateDict, expected: dict[str, torch.Tensor]) -> list[str]:
    """``"key: checkpoint int8, parameter float32"`` for each tensor whose dtype cannot hold the parameter."""
    out = []
    for key in sorted(set(state) & set(expected)):
        found, wanted = state[key].dtype, expected[key].dtype
        fits = found in FLOAT_SOURCES if wanted.is_floating_point else found == wanted
        if not fits:
            accepted = "float16, bfloat16, float32 or float64" if wanted.is_floating_point else str(wanted)
            out.append(
                f"{key}: checkpoint {str(found).removeprefix('torch.')}, parameter "
                f"{str(wanted).removeprefix('torch.')} (accepted: {accepted})"
            )
    return out


def non_finite(state: StateDict) -> list[str]:
    """``"key (2 NaN, 1 inf)"`` for each floating-point tensor holding values that are not finite, by key."""
    out = []
    for key in sorted(state):
        tensor = state[key]
        if not tensor.is_floating_point():
            continue
        # in slices, so the check never needs more than a few MB beside the weights
        if all(bool(torch.isfinite(part).all()) for part in tensor.reshape(-1).split(1 << 22)):
            continue
        counts = ((int(torch.isnan(tensor).sum()), "NaN"), (int(torch.isinf(tensor).sum()), "inf"))
        out.append(f"{key} ({', '.join(f'{n} {kind}' for n, kind in counts if n)})")
    return out


# -- from_pretrained arguments ------------------------------------------------------------------------
def resolve_dtype(dtype: Any, torch_dtype: Any, config: AlbertConfig, state: StateDict) -> torch.dtype:
    """The dtype to load in: given, ``"auto"`` (config's ``dtype``, else the weights'), or the default (fp32)."""
    if dtype is not None and torch_dtype is not None and dtype != torch_dtype:
        raise ValueError(
            f"dtype={dtype!r} and torch_dtype={torch_dtype!r} disagree; pass one (torch_dtype is the "
            f"older name of dtype)"
        )
    wanted = dtype if dtype is not None else torch_dtype
    if wanted is None:
        return torch.get_default_dtype()
    if wanted == "auto":
        name = config.dtype or next(
            (str(t.dtype).removeprefix("torch.") for t in state.values() if t.is_floating_point()), None
        )
        wanted = name or torch.get_default_dtype()
    if isinstance(wanted, torch.dtype):
        wanted = str(wanted)
    if not isinstance(wanted, str) or wanted.removeprefix("torch.") not in DTYPES:
        raise ValueError(
            f'dtype must be "auto", a floating torch.dtype or its name ({", ".join(DTYPES)}), got {wanted!r}'
        )
    out: torch.dtype = getattr(torch, wanted.removeprefix("torch."))
    return out


def _split_kwargs(cls: Any, config: AlbertConfig, kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keyword arguments of ``from_pretrained``: ``config.json`` keys, and arguments of the class's ``__init__``."""
    config_keys = AlbertConfig.field_names() | set(config.extra)
    init_params = inspect.signature(cls.__init__).parameters
    overrides, init = {}, {}
    for key, value in kwargs.items():
        if key in config_keys:
            overrides[key] = value
        elif key in init_params and key not in ("self", "config"):
            init[key] = value
        else:
            raise TypeError(
                f"{cls.__name__}.from_pretrained() got an unexpected keyword argument {key!r}: it is "
                f"neither a config.json key ({', '.join(sorted(AlbertConfig.field_names()))}) nor an "
                f"argument of {cls.__name__}()"
            )
    return overrides, init


# -- loading ----------------------------------------------------------------------------------------
def load_into(
    cls: Any,
    directory: str | os.PathLike[str],
    *,
    device: Any = None,
    dtype: Any = None,
    torch_dtype: Any = None,
    strict: bool = True,
    config: AlbertConfig | None = None,
    ignore_mismatched_sizes: bool = False,
    output_loading_info: bool = False,
    **kwargs: Any,
) -> Any:
    """Build ``cls`` from a checkpoint directory; see :meth:`AlbertPreTrainedModel.from_pretrained`.

    What is asked of ``cls``: ``cls(config, **init_kwargs)``, ``cls._check_fits(config)`` (refuse a model too
    large for this machine before its weights are read), and of the model built: ``base_model_prefix``,
    ``tied_weights``, ``is_head_key``, ``state_dict``/``load_state_dict``, ``tie_weights``.

    A save killed halfway in ``directory`` is finished (or undone) first. Parameters left at random (a task
    head the checkpoint lacks or that was re-initialised) warn with :class:`HeadInitializedWarning`; a
    checkpoint that does not fit, loaded with ``strict=False``, warns with ``UserWarning``.

    Args:
        cls: The model class to build (an ``AlbertPreTrainedModel`` subclass, or any class with the members
            listed above).
        directory: The local checkpoint directory holding ``config.json`` and the weight files (read in
            :data:`~albert_model.checkpoints._weight_files.WEIGHT_NAMES` order); a Hugging Face cache snapshot
            works too.
        device: Where to move the model (``"cpu"``, ``"cuda:1"``, a ``torch.device``); None leaves it where it
            was built.
        dtype: The dtype of the floating-point parameters: a ``torch.dtype``, its name, or ``"auto"`` (the
            config's ``dtype``, else the weights'); None is the default dtype (float32). Recorded in
            ``model.config.dtype``.
        torch_dtype: The older name of ``dtype``; when both are given they must agree.
        strict: True (the default) raises when the checkpoint does not fit ``cls`` (keys missing, unexpected
            or mis-shaped outside what may be initialised); False loads what fits and warns instead.
        config: The config to build with instead of ``directory/config.json`` (then not read); None reads the
            directory's. ``**kwargs`` overrides apply to a copy of it.
        ignore_mismatched_sizes: True initialises afresh the task-head parameters whose shape differs from
            the checkpoint's (listed in ``report.reinitialized``); a mis-shaped base parameter stays an error.
        output_loading_info: True returns ``(model, report)`` instead of the model alone.
        **kwargs: ``config.json`` keys to override (``num_labels=3``) and arguments of ``cls``'s constructor
            (``add_pooling_layer=False``).

    Returns:
        The model, in evaluation mode, with ``model.load_report`` set to the :class:`LoadReport` of the load;
        ``(model, report)`` when ``output_loading_info`` is True.

    Raises:
        FileNotFoundError: When ``directory`` does not exist, or lacks ``config.json`` (with ``config`` None) or
            any weight file.
        NotADirectoryError: When ``directory`` exists but is not a directory.
        TypeError: When ``config`` is not an :class:`AlbertConfig`, or a keyword argument is neither a
            ``config.json`` key nor an argument of ``cls``.
        ValueError: When ``dtype``/``torch_dtype`` is invalid or the two disagree, when an override is invalid,
            or when the model would not fit in this machine's memory (before the weights are read).
        CheckpointError: When a weight file cannot be read or resolves outside the directory, when weights are
            not finite or have a dtype that cannot hold their parameter, when no key belongs to ``cls`` (not an
            ALBERT checkpoint), or, with ``strict=True``, when the checkpoint does not fit ``cls``.
    """
    path = os.fspath(directory)
    atomic.recover(path)  # finish a save that was killed halfway where the atomic swap had no renameat2
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"checkpoint directory {path!r} does not exist: pass a directory with {CONFIG_NAME} and "
            f"{SAFETENSORS_NAME}, or a Hugging Face repo id to from_pretrained"
        )
    if not os.path.isdir(path):
        raise NotADirectoryError(
            f"checkpoint directory {path!r} is not a directory: pass a directory with "
            f"{CONFIG_NAME} and {SAFETENSORS_NAME}"
        )
    if config is None:  # held to the weights' rule: inside the directory (or its hub-cache blobs)
        config = AlbertConfig.from_json(resolve_inside(path, CONFIG_NAME, f"checkpoint directory {path!r}"))
    elif not isinstance(config, AlbertConfig):
        raise TypeError(f"config must be an AlbertConfig, got {type(config).__name__}")
    overrides, init_kwargs = _split_kwargs(cls, config, kwargs)
    config = config.with_overrides(**overrides)
    cls._check_fits(config)  # before reading weights that could not be held anyway
    state, source = read_state_dict(path)
    bad_values = non_finite(state)
    if bad_values:  # never relaxed by strict=False: every answer computed from them would be NaN
        raise CheckpointError(
            f"{source} holds weights that are not finite numbers, so every answer would be NaN "
            f"or inf: {', '.join(bad_values)}; the file is damaged or was saved from a run that "
            f"diverged"
        )
    target = resolve_dtype(dtype, torch_dtype, config, state)
    model = cls(config, **init_kwargs)
    prefix = model.base_model_prefix
    state = drop_aliases(fit_prefix(drop_buffers(rename_legacy_keys(state)), prefix), model.tied_weights)
    expected = {k: v for k, v in model.state_dict().items() if k not in model.tied_weights}
    report = compare(state, expected, prefix)
    report.model_class, report.source = cls.__name__, source
    own = _own_modules(expected)
    if not any(k in expected and _is_base_key(k, prefix, own) for k in state):
        raise CheckpointError(
            f"{source} is not an ALBERT checkpoint: none of its {len(state)} keys "
            f"(e.g. {sorted(state)[:3]}) belongs to {cls.__name__}"
        )
    bad_dtypes = wrong_dtypes(state, expected)
    if bad_dtypes:  # never relaxed by strict=False: a cast would silently change what the weights mean
        raise CheckpointError(
            f"{source} holds tensors whose dtype cannot hold {cls.__name__}'s parameters:\n" + "\n".join(bad_dtypes)
        )
    if ignore_mismatched_sizes and report.mismatched:
        # a task head only: its shape follows num_labels, which a caller may change; a mis-shaped base
        # parameter means the weights do not match config.json, and re-initialising it would wipe what the
        # checkpoint knows without a word (fine-tuning passes this flag for every run)
        report.reinitialized = [m for m in report.mismatched if model.is_head_key(m[0])]
        report.mismatched = [m for m in report.mismatched if not model.is_head_key(m[0])]
        report.newly_initialized = sorted(report.newly_initialized + [k for k, _, _ in report.reinitialized])
    if strict and not report.ok:
        raise CheckpointError(f"{source} does not fit {cls.__name__}:\n{report.describe()}")
    skipped = {key for key, _, _ in report.mismatched + report.reinitialized}
    usable = {k: v for k, v in state.items() if k in expected and k not in skipped}
    model.load_state_dict(usable, strict=False)
    model.tie_weights()
    model.to(device=device, dtype=target)
    model.config.dtype = dtype_name(target)
    model.eval()
    # under strict=False, mis-shaped parameters stay as initialised too: they count as missing from the head
    left_random = report.newly_initialized + [k for k, _, _ in report.mismatched]
    report.missing_head = sorted(k for k in left_random if model.is_head_key(k))
    model.load_report = report
    if left_random:
        reshaped = {
            k: f"{k} (checkpoint {list(a)}, model {list(b)})" for k, a, b in report.reinitialized + report.mismatched
        }
        warnings.warn(
            f"{cls.__name__} loaded from {source}: the checkpoint has no usable weights for "
            f"{', '.join(reshaped.get(k, k) for k in sorted(left_random))}; they were initialised at "
            f"random, so predictions that depend on them mean nothing yet; {FINE_TUNE_HINT}",
            HeadInitializedWarning,
            stacklevel=3,
        )
    if not strict and not report.ok:
        warnings.warn(
            f"{cls.__name__} loaded from {source} with strict=False although it does not fit:\n{report.describe()}",
            UserWarning,
            stacklevel=3,
        )
    return (model, report) if output_loading_info else model


# -- saving -----------------------------------------------------------------------------------------
def save_model(
    model: Any,
    directory: str | os.PathLike[str],
    *,
    max_shard_size: int | str = "5GB",
    safe_serialization: bool = True,
    state_dict: StateDict | None = None,
) -> list[str]:
    """``config.json`` and the weights (one file, or shards and their index) in ONE committed save.

    Weight files of an earlier save that the new one does not overwrite are removed as part of the save:
    those that a reader would take before the new ones once the save has committed and before any new file
    appears, the rest after the new files are in place. A crash before the commit leaves the old save whole.
    The config written names the model's class in ``architectures`` and the weights' dtype in ``dtype``; tied
    aliases are not written, and every tensor is copied to the CPU first.

    Args:
        model: The model to save; it must have ``config``, ``tied_weights``, ``state_dict()`` and
            ``num_parameters()`` (an ``AlbertPreTrainedModel``).
        directory: The checkpoint directory to write; it and its missing parents are made.
        max_shard_size: The largest weight file to write, as bytes (a positive int) or a size string
            (``"5GB"``, ``"500MB"``, ``"2GiB"``); weights that fit go into one file, a tensor over the limit
            gets a shard of its own.
        safe_serialization: True (the default) writes safetensors; False writes PyTorch pickles
            (``pytorch_model.bin``).
        state_dict: The weights to write instead of ``model.state_dict()``; None writes the model's own.

    Returns:
        The paths written, ``directory`` joined with each name: ``config.json`` first, then the weight file,
        or the shards and their index.

    Raises:
        ValueError: When ``max_shard_size`` is not a positive size.
        OSError: When the directory cannot be written; the previous save is left as it was.
    """
    source = model.state_dict() if state_dict is None else state_dict
    state = {k: v.detach().to("cpu").contiguous() for k, v in source.items() if k not in model.tied_weights}
    config = copy.deepcopy(model.config)
    config.architectures = [type(model).__name__]
    config.dtype = dtype_name(next((v.dtype for v in state.values() if v.is_floating_point()), torch.float32))
    weights = serialize(
        state,
        max_shard_size=max_shard_size,
        safe_serialization=safe_serialization,
        total_parameters=model.num_parameters(),
    )
    target = os.fspath(directory)
    shadowing, leftover = superseded_files(target, set(weights))
    # albert_tok.io.atomic is looked up per call, so a test can stand in a failing disk (its write_synced)
    return atomic.write_directory(
        target,
        {CONFIG_NAME: config.to_json_string().encode("utf-8"), **weights},
        create=True,
        remove=[os.path.basename(p) for p in leftover],
        remove_first=[os.path.basename(p) for p in shadowing],
    )
