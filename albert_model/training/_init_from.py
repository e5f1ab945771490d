"""``--init-from DIR_OR_REPO_ID``: start a run (continued pretraining, or fine-tuning) from an existing checkpoint.

The run's model is built from the checkpoint's config (:func:`init_config`: sizes from ``config.json``, the run's
own keys such as ``num_labels`` on top); :func:`init_from` then checks that the run's tokenizer reads text
into the ids the checkpoint was trained on and copies the checkpoint's weights into the model with the
package's checkpoint loading (:func:`albert_model.checkpoints.load_into`: legacy key names, tied weights, a
checkpoint of another task's head). Parts the checkpoint has no weights for (a new task head, the sentence-order
head of a masked-LM checkpoint) keep the values the run initialised them with, so the run's seed decides them.
What was loaded and what was initialised comes back as an :class:`InitReport`, to print and to record.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from albert_model._config import AlbertConfig
from albert_model.checkpoints import HeadInitializedWarning, load_into
from albert_tok import AlbertTokenizer
from albert_tok.data import vocabulary_hash
from albert_tok.io import resolve_directory

__all__ = ["SIZE_KEYS", "InitReport", "init_config", "init_from", "resolve_init"]

SIZE_KEYS = (
    "vocab_size",
    "embedding_size",
    "hidden_size",
    "num_hidden_layers",
    "num_hidden_groups",
    "num_attention_heads",
    "intermediate_size",
    "inner_group_num",
    "max_position_embeddings",
    "type_vocab_size",
)
"""The config keys that decide the shapes of the base model: a run's model must take them from the checkpoint."""

_TOKENIZER_FILES = ("spiece.model", "tokenizer.json")


@dataclass(frozen=True)
class InitReport:
    """What :func:`init_from` loaded into a run's model.

    Attributes:
        source: The directory or repo id as given.
        directory: The local directory it resolved to (a Hugging Face cache snapshot for a repo id).
        model_class: The class of the run's model.
        vocab_size: The checkpoint's vocabulary size.
        vocabulary_checked: True when the checkpoint directory had a tokenizer and the run's tokenizer was found
            to have the same vocabulary; False when only the sizes could be compared.
        loaded: Parameter names whose weights came from the checkpoint. Sorted.
        initialized: Parameter names the checkpoint had no weights for (or weights of another shape, for a
            task head of another size), left as the run initialised them. Sorted.
        unused: Checkpoint parameters the model has no place for (another task's head). Sorted.
        parts_loaded: The model's parts (``albert`` for the encoder, ``albert.pooler``, each head module)
            that came whole from the checkpoint.
        parts_initialized: The parts of which at least one parameter was initialised by the run.
    """

    source: str
    directory: str
    model_class: str
    vocab_size: int
    vocabulary_checked: bool
    loaded: tuple[str, ...] = field(default_factory=tuple)
    initialized: tuple[str, ...] = field(default_factory=tuple)
    unused: tuple[str, ...] = field(default_factory=tuple)
    parts_loaded: tuple[str, ...] = field(default_factory=tuple)
    parts_initialized: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        """A few lines for standard error.

        Returns:
            Where the weights came from, the parts loaded, the parts initialised (with their parameter
            count) and the checkpoint's unused parameters; one line each, the last two only when not empty.
        """
        where = self.source if self.source == self.directory else f"{self.source} ({self.directory})"
        vocabulary = "same vocabulary" if self.vocabulary_checked else "vocabulary size only: no tokenizer there"
        lines = [
            f"init-from {where}: {self.model_class}, {len(self.loaded)} parameters loaded "
            f"(vocabulary {self.vocab_size}, {vocabulary})",
            f"  loaded: {', '.join(self.parts_loaded) or 'nothing'}",
        ]
        if self.initialized:
            lines.append(
                f"  initialised by this run: {', '.join(self.parts_initialized)} "
                f"({len(self.initialized)} parameters: {', '.join(self.initialized[:6])}"
                f"{', ...' if len(self.initialized) > 6 else ''})"
            )
        if self.unused:
            lines.append(
                f"  unused from the checkpoint: {', '.join(self.unused[:6])}{', ...' if len(self.unused) > 6 else ''}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data, for ``training.json``.

        Returns:
            Every field, tuples as lists.
        """
        return {
            "source": self.source,
            "directory": self.directory,
            "model_class": self.model_class,
            "vocab_size": self.vocab_size,
            "vocabulary_checked": self.vocabulary_checked,
            "loaded": list(self.loaded),
            "initialized": list(self.initialized),
            "unused": list(self.unused),
            "parts_loaded": list(self.parts_loaded),
            "parts_initialized": list(self.parts_initialized),
        }


def resolve_init(source: str | os.PathLike[str], **hub: Any) -> str:
    """The local checkpoint directory of ``--init-from``: a directory as it is, a repo id from the Hugging Face
    cache (downloaded only when allowed; :func:`albert_tok.io.resolve_directory`).

    Args:
        source: A checkpoint directory or a Hugging Face repo id.
        **hub: ``revision``, ``cache_dir``, ``token``, ``local_files_only``, ``subfolder``, ``force_download``.

    Returns:
        The directory.

    Raises:
        FileNotFoundError: ``source`` is neither a directory nor a repo id.
        OSError: A repo id that is not in the cache while downloads are off, or that the hub does not have.
    """
    return resolve_directory(source, what="model", **hub)


def init_config(source: str | os.PathLike[str], **overrides: Any) -> AlbertConfig:
    """The config a run starting from ``source`` builds its model with: the checkpoint's ``config.json``
    (every size in :data:`SIZE_KEYS` included), with the run's ``overrides`` on top.

    Args:
        source: A checkpoint directory or a Hugging Face repo id.
        **overrides: ``config.json`` keys the run sets (``num_labels``, ``id2label``, dropout rates); a key of
            :data:`SIZE_KEYS` whose value differs from the checkpoint's is refused.

    Returns:
        The config.

    Raises:
        ValueError: An override changes a size of the checkpoint's model (its weights would not fit).
        FileNotFoundError: ``source`` is no directory or repo id, or has no ``config.json``.
    """
    config = AlbertConfig.from_pretrained(resolve_init(source))
    changed = {k: v for k, v in overrides.items() if k in SIZE_KEYS and getattr(config, k) != v}
    if changed:
        raise ValueError(
            f"--init-from {os.fspath(source)}: the checkpoint's model has "
            f"{', '.join(f'{k}={getattr(config, k)}' for k in changed)}; the run asked for "
            f"{', '.join(f'{k}={v}' for k, v in changed.items())}. Sizes come from the checkpoint: drop those settings"
        )
    return config.with_overrides(**overrides) if overrides else config


def _first_difference(mine: list[str], theirs: list[str]) -> str:
    for i, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if a != b:
            return f"id {i} is {a!r} in the run's tokenizer and {b!r} in the checkpoint's"
    if len(mine) != len(theirs):
        return f"the run's tokenizer has {len(mine)} pieces, the checkpoint's {len(theirs)}"
    return "the pieces agree but the text preprocessing (lower-casing, accents, spaces) differs"


def _check_vocabulary(tokenizer: Any, config: AlbertConfig, directory: str, source: str) -> bool:
    """Refuse a tokenizer whose ids do not mean what the checkpoint learnt; True when the checkpoint's own
    tokenizer was there to compare vocabularies, False when only sizes could be checked."""
    name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
    size, total = tokenizer.vocab_size, len(tokenizer)
    if total > config.vocab_size:
        raise ValueError(
            f"--init-from {source}: the tokenizer {name} has {total} tokens ({size} pieces and "
            f"{total - size} added) but the checkpoint's vocabulary only {config.vocab_size}: ids past "
            f"{config.vocab_size - 1} have no embedding; use the checkpoint's own tokenizer"
        )
    if not any(os.path.exists(os.path.join(directory, f)) for f in _TOKENIZER_FILES):
        if config.vocab_size not in (size, total):
            raise ValueError(
                f"--init-from {source}: the tokenizer {name} has {size} pieces ({total} tokens) but the "
                f"checkpoint's vocabulary is {config.vocab_size}: they are not the same vocabulary; use the "
                f"tokenizer the checkpoint was trained with"
            )
        return False
    theirs = AlbertTokenizer.from_pretrained(directory)
    if vocabulary_hash(theirs) != vocabulary_hash(tokenizer):
        difference = _first_difference(
            list(tokenizer.convert_ids_to_tokens(list(range(size)))),
            list(theirs.convert_ids_to_tokens(list(range(theirs.vocab_size)))),
        )
        raise ValueError(
            f"--init-from {source}: the tokenizer {name} ({size} pieces) is not the vocabulary of the "
            f"checkpoint's tokenizer in {directory} ({theirs.vocab_size} pieces): {difference}; a model's "
            f"embeddings belong to its vocabulary: pass --tokenizer {source}, or no --tokenizer"
        )
    return True


def _part(model: nn.Module, name: str) -> str:
    for head in getattr(model, "head_modules", ()):
        if name.startswith(f"{head}."):
            return head
    prefix = getattr(model, "base_model_prefix", "")
    pooler = f"{prefix}.pooler." if prefix else "pooler."
    if name.startswith(pooler):
        return pooler[:-1]
    return prefix or "base"


def init_from(model: nn.Module, source: str | os.PathLike[str], tokenizer: Any, **hub: Any) -> InitReport:
    """Copy the weights of checkpoint ``source`` into a run's ``model``, after checking the tokenizer.

    ``model`` is an ``AlbertPreTrainedModel`` (``AlbertForPreTraining``, a task-head class) built from
    :func:`init_config` of the same source, its weights initialised by the run (seeded). The checkpoint is read
    by :func:`albert_model.checkpoints.load_into` into a model of the same class and config, strictly: the
    encoder must load whole, legacy keys are renamed, a head the checkpoint lacks or has at another size (a
    new ``num_labels``) is left as the run initialised it. Only the loaded parameters are copied into
    ``model``, in place (its device and dtype kept); nothing is written.

    Args:
        model: The run's model.
        source: A checkpoint directory or a Hugging Face repo id (read from the cache when it is there, with no
            network access).
        tokenizer: The run's tokenizer; its vocabulary must be the checkpoint's: every id below the checkpoint's
            ``vocab_size`` and, when the checkpoint directory has a tokenizer, the same pieces in the same order
            with the same preprocessing; without one, the same number of pieces (or tokens).
        **hub: For a repo id: ``revision``, ``cache_dir``, ``token``, ``local_files_only``, ``subfolder``,
            ``force_download``.

    Returns:
        The :class:`InitReport`: which parameters and parts were loaded and which were initialised by the run.

    Raises:
        ValueError: The tokenizer's vocabulary is not the checkpoint's (the message names both), or the
            model's sizes are not the checkpoint's (build it from :func:`init_config`).
        CheckpointError: The checkpoint is no ALBERT checkpoint, is damaged, or its encoder does not fit.
        FileNotFoundError: ``source`` is no directory or repo id, or lacks ``config.json`` or the weights.
        OSError: A repo id not in the cache while downloads are off, or unknown to the hub.
    """
    shown = os.fspath(source)
    directory = resolve_init(source, **hub)
    config = AlbertConfig.from_pretrained(directory)
    checked = _check_vocabulary(tokenizer, config, directory, shown)
    ours = getattr(model, "config", None)
    if not isinstance(ours, AlbertConfig):
        raise TypeError(f"model must be an ALBERT model with an AlbertConfig, got {type(model).__name__}")
    differ = [k for k in SIZE_KEYS if getattr(ours, k) != getattr(config, k)]
    if differ:
        raise ValueError(
            f"--init-from {shown}: the run's model has "
            f"{', '.join(f'{k}={getattr(ours, k)}' for k in differ)} but the checkpoint "
            f"{', '.join(f'{k}={getattr(config, k)}' for k in differ)}; build the model from the "
            f"checkpoint's config (init_config)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HeadInitializedWarning)  # the report says it, once
        loaded_model, report = load_into(
            type(model), directory, config=ours, ignore_mismatched_sizes=True, output_loading_info=True
        )
    tied = getattr(model, "tied_weights", {})
    names = [n for n, _ in model.named_parameters() if n not in tied]
    fresh = set(report.newly_initialized)
    loaded = sorted(n for n in names if n not in fresh)
    state = loaded_model.state_dict()
    model.load_state_dict({n: state[n] for n in loaded}, strict=False)
    tie = getattr(model, "tie_weights", None)
    if callable(tie):
        tie()
    parts = list(dict.fromkeys(_part(model, n) for n in names))
    initialized_parts = {_part(model, n) for n in fresh}
    return InitReport(
        source=shown,
        directory=directory,
        model_class=type(model).__name__,
        vocab_size=config.vocab_size,
        vocabulary_checked=checked,
        loaded=tuple(loaded),
        initialized=tuple(sorted(fresh)),
        unused=tuple(sorted(report.unused)),
        parts_loaded=tuple(p for p in parts if p not in initialized_parts),
        parts_initialized=tuple(p for p in parts if p in initialized_parts),
    )
