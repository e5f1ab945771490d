"""ALBERT pretraining: masked LM with n-gram masking plus sentence-order prediction.

    albert pretrain --tokenizer DIR --train FILE... --output DIR [--max-tokens N | --steps N] [--resume]

Data comes from :mod:`albert_model.training._pretraining_data` (documents, sentence-order pairs re-drawn each epoch,
n-gram masked batches). Training uses AdamW (no decay on biases and LayerNorms), a learning rate that
warms up and decays linearly over the budget -- a number of steps or of (non-padding) tokens, whichever is
reached first -- and gradient clipping. Every ``checkpoint_every`` steps the whole loop state replaces
``OUTPUT/checkpoint/`` as one unit (safetensors, a ``weights_only`` optimizer file and JSON: nothing is
unpickled on ``--resume``); the schedule is a function of the saved progress, so a resumed run continues
where the interrupted one stopped, with the same losses. ``--resume`` refuses, naming what changed, a run
whose train text, tokenizer vocabulary, model config or data settings (``--max-seq-length``,
``--batch-size``, ``--seed``, ...) differ from the checkpoint's; the budget and the learning rate may
change. Every argument is checked before any file is read. Every ``eval_every`` steps the held-out loss and
masked-token accuracy
are measured on a fixed, identically masked held-out sample. At the end ``OUTPUT`` holds a Hugging
Face-format model directory, the tokenizer files, ``training.json`` (arguments, metrics, loss curve, the
data files' SHA-256) and a ``README.md`` model card with the hub's metadata and those facts.
The last ``heldout_fraction`` of each file's documents is held out.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F

from albert_model._config import AlbertConfig
from albert_model.checkpoints import (
    CardFacts,
    SourceFile,
    dataset_ids,
    hub_metric_ids,
    markdown_text,
    origin_of,
)
from albert_model.modeling import AlbertForPreTraining
from albert_model.training._common import CHECKPOINT_DIR, MAX_SEED, MAX_STEPS, LoopArgs, check_device, prepare_output
from albert_model.training._corpus_data import PretrainingCorpus, epoch_examples, open_corpus
from albert_model.training._distributed import World, leave
from albert_model.training._flags import add_dataclass_flags, check_float, check_int, from_namespace, help_text
from albert_model.training._init_from import SIZE_KEYS, init_config, init_from
from albert_model.training._loop import (
    PRECISIONS,
    Run,
    Step,
    TrainState,
    begin,
    check_fingerprint,
    check_precision,
    make_optimizer,
    publish,
    resume_state,
    run_card_facts,
    run_facts,
    run_fingerprint,
    train_files,
    train_loop,
)
from albert_model.training._pretraining_data import Example, PretrainingCollator, load_corpus, make_examples
from albert_tok import AlbertTokenizerFast

__all__ = [
    "EVAL_SEED",
    "PretrainArgs",
    "args_from_namespace",
    "build_parser",
    "evaluate",
    "main",
    "pretrain",
]

EVAL_SEED = 12345
"""Seed of the held-out masking: every evaluation masks the same positions, so the numbers compare."""

_RESUME_SETTINGS = (
    "max_seq_length",
    "batch_size",
    "seed",
    "heldout_fraction",
    "mlm_probability",
    "max_ngram",
    "optimizer",
    "whole_word_mask",
    "short_seq_prob",
)
"""Arguments that decide the data stream: a checkpoint resumes only with the values it was made with (with
the train files, the tokenizer's vocabulary and the model config;
:func:`albert_model.training._loop.run_fingerprint`). ``optimizer`` is among them since the state of one optimizer
cannot continue another's; ``accumulate`` and the number of ranks are not, since ``batch_size`` is the global batch
of a step whatever they are."""

RECIPES: dict[str, dict[str, Any]] = {
    "albert-base": {
        # google-research/albert run_pretraining.py with the flags of the published base models (README, paper)
        "optimizer": "lamb",
        "learning_rate": 0.00176,
        "warmup_steps": 3125,
        "steps": 125_000,
        "batch_size": 4096,
        "accumulate": 64,  # 64 sequences of 512 per micro-batch on one process; fewer with more ranks
        "max_seq_length": 512,
        "max_grad_norm": 1.0,
        "weight_decay": 0.01,
        "mlm_probability": 0.15,
        "max_ngram": 3,
        "short_seq_prob": 0.1,
        "model": {
            "embedding_size": 128,
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
            "hidden_act": "gelu_new",
            "classifier_dropout_prob": 0.1,
        },
    },
}
"""``--recipe`` presets: the values they give the fields a run leaves at their defaults (on the command line: the
flags not given), so that flags scale a recipe down (``--batch-size 256 --accumulate 4 --steps 1000``)."""


@dataclass
class PretrainArgs(LoopArgs):
    """Everything ``albert pretrain`` takes; the command line is generated from these fields.

    Each field is the flag of the same name (``max_seq_length`` is ``--max-seq-length``; ``model`` is
    ``--model-json``). Every value is checked here, before any file is read or directory made, and a bad one
    raises a ``ValueError`` naming the flag, the value and what is accepted.

    Args:
        tokenizer: the tokenizer directory (``spiece.model`` or ``tokenizer.json``); its vocabulary sets
            the model's ``vocab_size`` and ``pad_token_id``, and it is saved beside the model.
        output: the output directory, made when missing: ``OUTPUT/checkpoint/`` during training, then the
            model, the tokenizer files, ``training.json`` and the model card ``README.md``.
        train: a non-empty list of UTF-8 text files, one sentence per line and a blank line between
            documents (a single string is refused); or none, with ``corpus``.
        corpus: a ``tokenize-corpus`` output directory (``--format npy``, one row per line) read memory-mapped,
            nothing tokenized on start or resume, instead of ``train``; its tokenizer must be ``tokenizer``.
        whole_word_mask: True masks n-grams of whole words (a word starts at a ``▁`` piece), False of pieces.
        short_seq_prob: the share of documents whose pairs are cut to a random shorter length in each epoch
            (Google's ``short_seq_prob``, 0.1 in its recipe), a number in ``[0, 1]``; 0 draws nothing for it.
        init_from: a checkpoint directory or Hugging Face repo id to continue pretraining from: the model takes
            its config (``model`` may only set what does not change the sizes) and weights; the tokenizer must
            have its vocabulary. What was loaded and initialised is said on standard error and kept in
            ``training.json``. None: a new model of ``model``'s size.
        steps: optimizer steps to train, an int in ``[1, 2**31 - 1]``. None: no step budget; when
            ``max_tokens`` and ``max_minutes`` are None too, 1000 steps.
        max_tokens: a budget of non-padding training tokens, an int >= 1; None: no token budget. With several
            budgets, training stops at the first one reached, and the learning-rate schedule follows
            whichever is furthest along.
        batch_size: sequences per optimizer step, an int >= 1.
        max_seq_length: tokens per sequence, ``[CLS]``/``[SEP]`` included, an int in ``[5, 512]``.
        learning_rate: the peak learning rate, a number in ``(0, 1)``.
        weight_decay: AdamW's weight decay, a number >= 0, not applied to biases and LayerNorm weights.
        warmup_fraction: the share of the budget over which the learning rate rises linearly from 0 to its
            peak, before it decays linearly to 0; a number in ``[0, 1)``.
        max_grad_norm: the norm gradients are clipped to, a number > 0.
        mlm_probability: the share of tokens masked for the masked-LM loss, a number in ``(0, 1)``.
        max_ngram: the longest n-gram masked as one span, an int >= 1.
        heldout_fraction: the share of each file's documents (of its lines, for a file of one document) held
            out for evaluation, taken from the end; a number in ``[0, 1)``.
        eval_every: steps between held-out evaluations, an int >= 0; 0 evaluates only at the end.
        eval_examples: held-out sequences each periodic evaluation reads, an int >= 1 (the final evaluation
            reads all of them).
        log_every: steps averaged into one point of the loss curve in ``training.json``, an int >= 1.
        checkpoint_every: steps between checkpoints, an int >= 1; a checkpoint is also written at the end.
        seed: the random seed of the initialisation, sentence pairs, masking and order, an int in
            ``[0, 2**32 - 1]``.
        max_minutes: a wall-clock budget in minutes of training (evaluation and checkpoints not counted), a
            number > 0; None: no time budget. A run stopped by it is not reproducible step for step.
        device: the torch device to train on (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``); it must exist
            on this machine.
        precision: ``"fp32"``, ``"bf16"`` (autocast to bfloat16) or ``"fp16"`` (autocast to float16 with a
            gradient scaler, whose state the checkpoints keep); weights and optimizer state stay float32.
        workers: processes that tokenize the corpus and build batches, an int >= 0; 0 builds the batches in
            this process. Results do not depend on it.
        resume: True continues from ``OUTPUT/checkpoint/``; the train files, tokenizer vocabulary, model
            config and data settings must be those the checkpoint was made with, while the budget and the
            learning rate may change.
        progress: True (the default) shows a progress line on standard error.
        model: :class:`AlbertConfig` fields for the model's size (a dict, ``--model-json`` on the command
            line); ``vocab_size`` and ``pad_token_id`` always come from the tokenizer, and
            ``max_position_embeddings`` is 512 unless given. The default is a small model (hidden size 256,
            6 layers, 4 heads).
        recipe: a preset of :data:`RECIPES` (``"albert-base"``: Google's ALBERT-base recipe, LAMB at 0.00176,
            3125 warm-up steps, global batch 4096 through ``accumulate``, length 512, 125k steps, the base model)
            whose values every field left at its default takes; None: no preset.
        accumulate: micro-batches per optimizer step per rank, an int >= 1 dividing ``batch_size``, which stays
            the global batch of a step: the same result in less memory.
        optimizer: ``"adamw"`` or ``"lamb"``; a checkpoint resumes only with its own.
        warmup_steps: warm-up in optimizer steps (then a linear decay to 0 over the budget), instead of
            ``warmup_fraction``; None: the fraction.
        threads: torch CPU threads per process; None: the cores divided among this node's ranks, less the
            ``workers``.
        keep_checkpoint: True keeps ``OUTPUT/checkpoint/`` when the run completes; False removes it then.
        gradient_checkpointing: True recomputes activations in the backward pass (less memory).
        compile: True compiles the training forward with ``torch.compile``.
        attn: ``"varlen"`` (the default: padding skipped, faster on padded batches) or ``"sdpa"``: the
            attention implementation while training.

    Raises:
        ValueError: a field of the wrong type or out of range (the message names its flag), ``train`` not a
            non-empty list, an unknown ``precision``, or a ``device`` this machine does not have.
        TypeError: ``model`` is not a dict.
    """

    tokenizer: str = field(metadata=help_text("tokenizer directory (spiece.model or tokenizer.json)"))
    output: str = field(metadata=help_text("output directory (checkpoint and final model)"))
    train: list[str] = field(
        default_factory=list,
        metadata=help_text("UTF-8 text files: one sentence per line, a blank line between documents (or --corpus)"),
    )
    corpus: str | None = field(
        default=None,
        metadata=help_text("a tokenize-corpus output directory, read memory-mapped (instead of --train)"),
    )
    whole_word_mask: bool = field(default=False, metadata=help_text("mask n-grams of whole words, not of pieces"))
    short_seq_prob: float = field(
        default=0.0, metadata=help_text("share of documents cut to a random shorter length each epoch (Google: 0.1)")
    )
    init_from: str | None = field(
        default=None,
        metadata=help_text("continue pretraining from this checkpoint directory or repo id (its size and vocabulary)"),
    )
    steps: int | None = field(
        default=None, metadata=help_text("optimizer steps to train (default 1000 when --max-tokens is not given)")
    )
    max_tokens: int | None = field(
        default=None,
        metadata=help_text("token budget: stop after this many non-padding tokens (the schedule follows it)"),
    )
    batch_size: int = field(default=32, metadata=help_text("sequences per step"))
    max_seq_length: int = field(default=128, metadata=help_text("tokens per sequence, [CLS]/[SEP] included"))
    learning_rate: float = field(default=4e-4, metadata=help_text("peak learning rate"))
    weight_decay: float = field(default=0.01, metadata=help_text("AdamW weight decay (not on biases and LayerNorms)"))
    warmup_fraction: float = field(default=0.1, metadata=help_text("share of the budget spent warming up"))
    max_grad_norm: float = field(default=1.0, metadata=help_text("gradient clipping norm"))
    mlm_probability: float = field(default=0.15, metadata=help_text("share of tokens masked"))
    max_ngram: int = field(default=3, metadata=help_text("longest masked n-gram"))
    heldout_fraction: float = field(default=0.05, metadata=help_text("share of each file's documents held out"))
    eval_every: int = field(default=500, metadata=help_text("steps between held-out evaluations (0: only at the end)"))
    eval_examples: int = field(default=512, metadata=help_text("held-out sequences per periodic evaluation"))
    log_every: int = field(default=10, metadata=help_text("steps averaged into one loss-curve point"))
    checkpoint_every: int = field(default=200, metadata=help_text("steps between checkpoints"))
    seed: int = field(default=0, metadata=help_text("random seed (initialisation, pairs, masking, order)"))
    max_minutes: float | None = field(
        default=None,
        metadata=help_text(
            "wall-clock budget in minutes (training only; the schedule follows whichever budget is furthest along)"
        ),
    )
    device: str = field(default="cpu", metadata=help_text("torch device, e.g. cpu or cuda"))
    precision: str = field(
        default="fp32",
        metadata=help_text("fp32, bf16 or fp16 (autocast; fp16 with a gradient scaler; weights stay fp32)"),
    )
    workers: int = field(
        default=0,
        metadata=help_text(
            "processes that tokenize the corpus and build batches (0: in this process); results do not depend on it"
        ),
    )
    resume: bool = field(default=False, metadata=help_text("continue from OUTPUT/checkpoint/"))
    progress: bool = field(default=True, metadata=help_text("show a progress bar on standard error"))
    model: dict[str, Any] = field(
        default_factory=lambda: {
            "embedding_size": 128,
            "hidden_size": 256,
            "num_hidden_layers": 6,
            "num_attention_heads": 4,
            "intermediate_size": 1024,
            "hidden_act": "gelu_new",
            "classifier_dropout_prob": 0.1,
        },
        metadata=help_text("AlbertConfig fields for the model size, as a JSON object"),
    )
    recipe: str | None = field(
        default=None,
        metadata=help_text(
            f"a preset that fills the flags not given: {', '.join(RECIPES)} (LAMB, lr 0.00176, 3125 warm-up steps, "
            f"batch 4096 through --accumulate, length 512)"
        ),
    )

    def __post_init__(self) -> None:
        # every check here runs before any file is read or any directory made; messages name the flag
        if self.recipe is not None:
            self._apply_recipe()
        self.check_loop_args()
        if self.max_minutes is not None:
            check_float(self.max_minutes, "max_minutes", 0.0, low_open=True)
        if self.steps is None and self.max_tokens is None and self.max_minutes is None:
            self.steps = 1000
        check_precision(self.precision)
        check_int(self.workers, "workers", 0)
        if isinstance(self.train, str) or not isinstance(self.train, list):
            raise ValueError(f"--train must be a non-empty list of text files, got {self.train!r}")
        if not self.train and self.corpus is None:
            raise ValueError(
                f"--train must be a non-empty list of text files (or give --corpus a tokenize-corpus directory), "
                f"got {self.train!r}"
            )
        if self.train and self.corpus is not None:
            raise ValueError(
                f"give --train text files or --corpus a tokenize-corpus directory, not both ({self.corpus!r})"
            )
        check_float(self.short_seq_prob, "short_seq_prob", 0.0, 1.0)
        if not isinstance(self.whole_word_mask, bool):
            raise ValueError(f"--whole-word-mask must be true or false, got {self.whole_word_mask!r}")
        for name in ("batch_size", "max_ngram", "eval_examples", "log_every", "checkpoint_every"):
            check_int(getattr(self, name), name, 1)
        if self.steps is not None:
            check_int(self.steps, "steps", 1, MAX_STEPS)
        if self.max_tokens is not None:
            check_int(self.max_tokens, "max_tokens", 1)
        check_int(self.seed, "seed", 0, MAX_SEED)
        check_int(self.eval_every, "eval_every", 0)
        check_int(self.max_seq_length, "max_seq_length", 5, 512)
        check_float(self.learning_rate, "learning_rate", 0.0, 1.0, low_open=True, high_open=True)
        check_float(self.mlm_probability, "mlm_probability", 0.0, 1.0, low_open=True, high_open=True)
        check_float(self.warmup_fraction, "warmup_fraction", 0.0, 1.0, high_open=True)
        check_float(self.heldout_fraction, "heldout_fraction", 0.0, 1.0, high_open=True)
        check_float(self.weight_decay, "weight_decay", 0.0)
        check_float(self.max_grad_norm, "max_grad_norm", 0.0, low_open=True)
        self.device = check_device(self.device)
        if not isinstance(self.model, dict):
            raise TypeError(f"--model-json must be a JSON object of AlbertConfig fields, got {self.model!r}")

    def _apply_recipe(self) -> None:
        if self.recipe not in RECIPES:
            raise ValueError(f"--recipe must be one of {list(RECIPES)}, got {self.recipe!r}")
        for f in dataclasses.fields(self):
            value = RECIPES[self.recipe].get(f.name)
            default = f.default_factory() if callable(f.default_factory) else f.default
            if value is not None and getattr(self, f.name) == default:
                setattr(self, f.name, copy.deepcopy(value))

    def progress_of(self, step: int, tokens: int, seconds: float = 0.0) -> float:
        """Share of the budget used after ``step`` steps, ``tokens`` tokens and ``seconds`` of training
        (whichever is furthest along).

        Args:
            step: optimizer steps done.
            tokens: non-padding training tokens seen.
            seconds: seconds of training (evaluation and checkpoints not counted).

        Returns:
            The largest of ``step / steps``, ``tokens / max_tokens`` and ``seconds / (60 * max_minutes)``
            over the budgets that are set (an unset one counts 0): 0.0 at the start, 1.0 or more once a
            budget is spent. The learning-rate schedule is a function of it.
        """
        shares = [
            step / self.steps if self.steps else 0.0,
            tokens / self.max_tokens if self.max_tokens else 0.0,
            seconds / (60.0 * self.max_minutes) if self.max_minutes else 0.0,
        ]
        return max(shares)


@torch.inference_mode()
def evaluate(
    model: AlbertForPreTraining, collator: PretrainingCollator, examples: Sequence[Example], batch_size: int = 64
) -> dict[str, float]:
    """Held-out loss (MLM + sentence order), masked-token top-1/top-5 accuracy and that of the best constant
    guess (always the most frequent masked token of these examples)."""
    was_training = model.training
    model.eval()
    device = model.device
    correct = correct5 = total = 0
    loss_sum = 0.0
    batches = 0
    counts: dict[int, int] = {}
    for i in range(0, len(examples), batch_size):
        batch = {k: v.to(device) for k, v in collator(examples[i : i + batch_size]).items()}
        where = batch["labels"] != -100
        out = model(**batch, masked_positions=where)
        labels = batch["labels"][where]
        top5 = out.prediction_logits.topk(min(5, out.prediction_logits.shape[-1]), dim=-1).indices
        correct += int((top5[:, 0] == labels).sum())
        correct5 += int((top5 == labels[:, None]).any(-1).sum())
        total += int(labels.numel())
        loss_sum += float(out.loss)
        batches += 1
        for token, count in zip(*np.unique(labels.cpu().numpy(), return_counts=True), strict=False):
            counts[int(token)] = counts.get(int(token), 0) + int(count)
    model.train(was_training)
    best = max(counts, key=lambda t: counts[t]) if counts else -1
    return {
        "masked_tokens": total,
        "loss": loss_sum / max(1, batches),
        "top1_accuracy": correct / max(1, total),
        "top5_accuracy": correct5 / max(1, total),
        "constant_guess_accuracy": counts.get(best, 0) / max(1, total),
        "constant_guess_token_id": best,
    }


def _eval_collator(tokenizer: Any, args: PretrainArgs) -> PretrainingCollator:
    return PretrainingCollator.for_tokenizer(
        tokenizer, mlm_probability=args.mlm_probability, max_ngram=args.max_ngram, seed=EVAL_SEED
    )


def _epoch(train_docs: list[Any], args: PretrainArgs, epoch: int) -> tuple[list[Example], np.ndarray]:
    """The examples of ``epoch`` and the order they are visited in: a pure function of (seed, epoch)."""
    examples = make_examples(
        train_docs, args.max_seq_length, np.random.default_rng([args.seed, epoch]), args.short_seq_prob
    )
    if len(examples) < args.batch_size:
        raise ValueError(
            f"only {len(examples)} training examples; need at least batch_size={args.batch_size} "
            f"(more text, or a smaller --batch-size)"
        )
    return examples, np.random.default_rng([args.seed, epoch, 1]).permutation(len(examples))


class _EpochBatches(torch.utils.data.Dataset):
    """The batches of one epoch from ``first`` on; batch ``k`` is a pure function of (seed, epoch, its start),
    so batches come out the same whether built here or in worker processes, and after a resume."""

    def __init__(
        self,
        examples: Sequence[Example],
        order: np.ndarray,
        first: int,
        args: PretrainArgs,
        epoch: int,
        collator: PretrainingCollator,
    ) -> None:
        self.examples, self.order, self.first, self.epoch = examples, order, first, epoch
        self.batch_size, self.seed, self.collator = args.batch_size, args.seed, collator

    def __len__(self) -> int:
        return max(0, (len(self.order) - self.first) // self.batch_size)

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        start = self.first + k * self.batch_size
        picked = self.order[start : start + self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, 3, start])
        return self.collator([self.examples[j] for j in picked], rng=rng)


def _batches(dataset: _EpochBatches, workers: int) -> torch.utils.data.DataLoader:
    # its own generator: creating the iterator must not draw from the global RNG that dropout uses
    # (a resumed run restores that RNG and has to continue it exactly)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        prefetch_factor=8 if workers else None,
        generator=torch.Generator().manual_seed(dataset.seed),
    )


def pretrain(args: PretrainArgs) -> dict[str, Any]:
    """Run (or resume) pretraining; return the final metrics.

    Builds an :class:`AlbertForPreTraining` of ``args.model``'s size (or restores it from
    ``OUTPUT/checkpoint/`` with ``args.resume``), trains it on masked LM with n-gram masking plus
    sentence-order prediction until a budget is spent, checkpointing every ``checkpoint_every`` steps, and
    leaves in ``OUTPUT`` a Hugging Face-format model directory that ``from_pretrained`` and
    ``pipeline("fill-mask")`` read, the tokenizer files, ``training.json`` (the arguments, these metrics,
    the loss curve, every held-out evaluation and the train files' SHA-256) and the ``README.md`` model card
    saying the same for the hub.

    Example:
        >>> from albert_model.training import PretrainArgs, pretrain
        >>> metrics = pretrain(PretrainArgs(  # doctest: +SKIP
        ...     tokenizer="my-vocab", train=["corpus.txt"], output="my-pretrained", steps=4, batch_size=4,
        ...     max_seq_length=32, eval_every=0, progress=False,
        ...     model={"embedding_size": 16, "hidden_size": 32, "num_hidden_layers": 1,
        ...            "num_attention_heads": 2, "intermediate_size": 64}))
        >>> metrics["steps"]  # doctest: +SKIP
        4

    Args:
        args: the run's settings, already checked by :class:`PretrainArgs`.

    Returns:
        The final metrics (also in ``training.json``): on the whole held-out set, when there is one,
        ``masked_tokens``, ``loss``, ``top1_accuracy``, ``top5_accuracy``, ``constant_guess_accuracy`` and
        ``constant_guess_token_id`` (the most frequent masked token, the baseline to beat); and always
        ``steps``, ``tokens_seen``, ``epochs``, ``train_tokens``, ``heldout_tokens``, ``heldout_examples``,
        ``final_loss`` (the last loss-curve point), ``wall_seconds`` and ``train_seconds`` (over every run of
        this training, resumed ones included), ``wall_seconds_this_run``, ``precision``, ``machine`` and
        ``torch``.

    Raises:
        FileNotFoundError: a ``--train`` file or the tokenizer is missing, or ``args.resume`` and ``OUTPUT``
            has no checkpoint.
        NotADirectoryError: ``OUTPUT`` (or ``OUTPUT/checkpoint``) exists and is not a directory.
        OSError: ``OUTPUT`` is not writable, or ``OUTPUT/checkpoint`` is a symbolic link.
        ValueError: ``args.model`` is not a valid config, the corpus gives fewer training examples than
            ``batch_size``, a resumed checkpoint is corrupt or was made with other train files, tokenizer,
            model config or data settings (the message names what changed).
        TrainingDivergedError: the loss became NaN or infinite (the message names the step and says to lower
            the learning rate and resume from the last checkpoint).
    """
    started = time.time()
    world, device, facts = begin(args, "albert pretrain")
    try:
        return _pretrain(args, world, device, facts, started)
    finally:
        leave(world)


def _pretrain(args: PretrainArgs, world: World, device: str, facts: dict[str, Any], started: float) -> dict[str, Any]:
    torch.manual_seed(args.seed)
    out = prepare_output(args.output, "albert pretrain")
    budget = {"steps": args.steps, "max_tokens": args.max_tokens, "max_minutes": args.max_minutes}
    if args.resume:  # before the corpus is read: a missing or corrupt checkpoint is named now
        saved = resume_state(out, TrainState.template(tokens=0, budget=budget))
    tokenizer = AlbertTokenizerFast.from_pretrained(args.tokenizer)
    if args.init_from is not None:
        config = init_config(args.init_from, **{k: v for k, v in args.model.items() if k not in SIZE_KEYS})
    else:
        config = AlbertConfig(
            **{
                "max_position_embeddings": 512,
                **args.model,
                "vocab_size": tokenizer.vocab_size,
                "pad_token_id": tokenizer.pad_token_id,
            }
        )
    shards = open_corpus(args.corpus, tokenizer, args.max_seq_length) if args.corpus is not None else None
    settings = {name: getattr(args, name) for name in _RESUME_SETTINGS}
    if shards is not None:
        settings["corpus"] = shards.fingerprint()
    fingerprint = run_fingerprint(args.train, tokenizer, config.to_dict(), **settings)
    if args.resume:
        check_fingerprint(saved["fingerprint"], fingerprint, out / CHECKPOINT_DIR)
    data = _text_data(args, tokenizer) if shards is None else _shard_data(args, shards)
    held = data.held
    model = AlbertForPreTraining(config)
    report = init_from(model, args.init_from, tokenizer) if args.init_from is not None and not args.resume else None
    if report is not None and world.writes:
        print(report.describe(), file=sys.stderr)
    model = model.to(device)
    collator = PretrainingCollator.for_tokenizer(
        tokenizer,
        whole_word_mask=args.whole_word_mask,
        mlm_probability=args.mlm_probability,
        max_ngram=args.max_ngram,
        seed=args.seed,
    )
    optimizer = make_optimizer(model, args.learning_rate, args.weight_decay, args.optimizer)
    precision = PRECISIONS[args.precision]
    state = TrainState(
        model,
        optimizer,
        precision,
        device,
        out,
        fingerprint=fingerprint,
        extra={"tokens": 0, "budget": budget},
        scaler=precision.scaler(torch.device(device).type),
        world=world,
    )
    if args.resume:
        state.resume()
        if {k: state.extra["budget"].get(k) for k in budget} != budget:
            if world.writes:
                print(
                    f"albert pretrain: resuming with budget {budget} (the checkpoint was made for "
                    f"{state.extra['budget']}); the schedule follows the new budget",
                    file=sys.stderr,
                )
            state.extra["budget"] = budget
    if report is not None:
        state.extra["init_from"] = report.to_dict()
    run = _Pretraining(args, tokenizer, data.epoch, held, collator)
    train_loop(state, run)
    with state.precision.autocast(state.device_type):
        metrics: dict[str, Any] = dict(evaluate(model, _eval_collator(tokenizer, args), held)) if held else {}
    metrics.update(
        {
            "steps": state.step,
            "tokens_seen": state.extra["tokens"],
            "epochs": state.epoch,
            "train_tokens": data.train_tokens,
            "heldout_tokens": data.heldout_tokens,
            "heldout_examples": len(held),
            "final_loss": state.history[-1]["loss"] if state.history else None,
            "wall_seconds": state.wall_seconds,
            "train_seconds": state.train_seconds,
            **facts,
            **run_facts(state, started),
        }
    )
    parameters = sum(p.numel() for p in model.parameters())
    files = train_files(state, args.train) if shards is None else data.files
    publish(
        state,
        tokenizer,
        args,
        metrics,
        files,
        lambda record: _card_facts(args, config, record, files, out.name, parameters),
    )
    return metrics


@dataclass
class _Data:
    """The training data as a run reads it, from text or from shards: each epoch's examples and order (a pure
    function of the seed and the epoch), the held-out examples, the token counts and the files for the card."""

    epoch: Callable[[int], tuple[Sequence[Example], np.ndarray]]
    held: Sequence[Example]
    train_tokens: int
    heldout_tokens: int
    files: list[SourceFile]


def _text_data(args: PretrainArgs, tokenizer: Any) -> _Data:
    corpus = load_corpus(tokenizer, args.train, args.heldout_fraction, workers=max(1, args.workers))
    held = make_examples(
        corpus.heldout, args.max_seq_length, np.random.default_rng([args.seed, 0, 2]), args.short_seq_prob
    )
    return _Data(lambda epoch: _epoch(corpus.train, args, epoch), held, corpus.train_tokens, corpus.heldout_tokens, [])


def _shard_data(args: PretrainArgs, shards: PretrainingCorpus) -> _Data:
    train, heldout = shards.split(args.heldout_fraction)
    held = shards.examples(heldout, np.random.default_rng([args.seed, 0, 2]), short_seq_prob=args.short_seq_prob)

    def epoch(number: int) -> tuple[Sequence[Example], np.ndarray]:
        return epoch_examples(
            shards,
            train,
            seed=args.seed,
            epoch=number,
            short_seq_prob=args.short_seq_prob,
            batch_size=args.batch_size,
        )

    inputs = shards.fingerprint()["inputs"]
    files = [SourceFile(str(i["file"]), str(i["sha256"]), int(i["bytes"] or 0), "train") for i in inputs]
    return _Data(epoch, held, shards.token_count(train), shards.token_count(heldout), files)


class _Pretraining(Run):
    """Pretraining as the loop sees it: epochs of sentence-order pairs with n-gram masks, a budget of steps,
    tokens or minutes, held-out evaluations."""

    name = "pretrain"

    def __init__(
        self,
        args: PretrainArgs,
        tokenizer: Any,
        epoch: Callable[[int], tuple[Sequence[Example], np.ndarray]],
        held: Sequence[Example],
        collator: PretrainingCollator,
    ) -> None:
        self.args, self.tokenizer, self.epoch, self.held, self.collator = args, tokenizer, epoch, held, collator

    def progress(self, state: TrainState) -> float:
        return self.args.progress_of(state.step, state.extra["tokens"], state.train_seconds)

    def meter(self, state: TrainState) -> tuple[str, float, float]:
        if self.args.max_tokens:
            return "tok", float(self.args.max_tokens), float(state.extra["tokens"])
        if self.args.steps:
            return "step", float(self.args.steps), float(state.step)
        return "s", 60.0 * float(self.args.max_minutes or 0), float(state.train_seconds)

    def batches(self, state: TrainState) -> torch.utils.data.DataLoader:
        examples, order = self.epoch(state.epoch)
        dataset = _EpochBatches(examples, order, state.position, self.args, state.epoch, self.collator)
        return _batches(dataset, self.args.workers)

    def loss(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor], whole: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        # the model's loss is the mean over the masked tokens plus the mean over the pairs; as shares of the whole
        # batch's loss each mean is weighted by this part's share of those counts (exactly 1.0 for the whole)
        where = batch["labels"] != -100
        inputs = {k: v for k, v in batch.items() if k not in ("labels", "sentence_order_label")}
        out = model(**inputs, masked_positions=where)
        masked = F.cross_entropy(out.prediction_logits.float(), batch["labels"][where])
        order = F.cross_entropy(
            out.sop_logits.view(-1, out.sop_logits.shape[-1]).float(), batch["sentence_order_label"].view(-1)
        )
        masked_share = int(where.sum()) / int((whole["labels"] != -100).sum())
        return masked * masked_share + order * (len(where) / len(whole["labels"]))

    def count(self, state: TrainState, step: Step) -> None:
        state.extra["tokens"] += step.tokens

    def loss_point(self, state: TrainState, loss: float, lr: float, rates: Mapping[str, float]) -> dict[str, Any]:
        return {
            "step": state.step,
            "tokens": state.extra["tokens"],
            "loss": loss,
            "lr": lr,
            "tokens_per_second": rates["tokens_per_second"],
        }

    def closing_point(self, state: TrainState, loss: float) -> dict[str, Any]:
        return self.loss_point(state, loss, 0.0, {"tokens_per_second": 0.0})

    def evaluate(self, state: TrainState) -> str | None:
        sample = self.held[: self.args.eval_examples]
        if not sample:
            return None
        with state.precision.autocast(state.device_type):
            m = evaluate(cast(AlbertForPreTraining, state.model), _eval_collator(self.tokenizer, self.args), sample)
        state.evals.append(
            {
                "step": state.step,
                "tokens": state.extra["tokens"],
                "loss": m["loss"],
                "top1_accuracy": m["top1_accuracy"],
                "top5_accuracy": m["top5_accuracy"],
            }
        )
        return f"step {state.step}: held-out loss {m['loss']:.4f}, masked top-1 {m['top1_accuracy']:.1%}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _card_facts(
    args: PretrainArgs,
    config: AlbertConfig,
    record: dict[str, Any],
    files: list[SourceFile],
    name: str,
    parameters: int,
) -> CardFacts:
    """What the card of a pretrained directory says: the facts of ``training.json`` (``record``)."""
    metrics = record["metrics"]
    tokenizer = origin_of(args.tokenizer)
    held_out = "loss" in metrics
    start = (
        f"ALBERT pretraining continued from {markdown_text(args.init_from)} by `albert pretrain`"
        if args.init_from
        else "ALBERT pretrained from scratch by `albert pretrain`"
    )
    summary = (
        f"{start}: masked LM with n-gram masking "
        f"(n <= {args.max_ngram}, {args.mlm_probability:.0%} of the tokens) plus sentence-order prediction, with "
        f"the tokenizer of {markdown_text(tokenizer.name)}. Embeddings {config.embedding_size}, "
        f"hidden {config.hidden_size}, "
        f"{_count(config.num_hidden_layers, 'layer')} in {_count(config.num_hidden_groups, 'shared group')}, "
        f"{config.num_attention_heads} heads, feed-forward {config.intermediate_size}: {parameters:,} parameters. "
        + (
            f"The metrics are measured on the last {args.heldout_fraction:.0%} of each training file's documents, "
            f"held out from training."
            if held_out
            else "Nothing was held out (`--heldout-fraction 0`): the metrics are the training loss only."
        )
    )
    note = (
        f"Continued from {markdown_text(args.init_from)}: that model's licence terms apply too, and the metadata "
        f"says `other`: set `license` from them, the training data's terms and your own before publishing."
        if args.init_from
        else "Trained from scratch, so no base model's licence carries over to the weights and the metadata says "
        "`other`: set `license` from the training data's terms and your own before publishing"
        + (f" (the tokenizer's card states {markdown_text(tokenizer.license)})." if tokenizer.license else ".")
    )
    evaluated = ["loss", "top1_accuracy", "top5_accuracy", "constant_guess_accuracy", "masked_tokens"]
    return CardFacts(
        title=name,
        pipeline_tag="fill-mask",
        summary=summary,
        license="other",
        license_note=note,
        datasets=dataset_ids(args.train),
        metric_ids=hub_metric_ids(["top1_accuracy"] if held_out else []),
        files=files,
        metrics={
            **{f"heldout_{k}": metrics[k] for k in evaluated if k in metrics},
            "heldout_examples": metrics["heldout_examples"],
            "final_loss": metrics["final_loss"],
        },
        budget={
            "steps": metrics["steps"],
            "tokens_seen": metrics["tokens_seen"],
            "epochs": metrics["epochs"],
            "train_tokens": metrics["train_tokens"],
            **{f"budget_{k}": value for k in ("steps", "max_tokens", "max_minutes") if (value := getattr(args, k))},
            "batch_size": args.batch_size,
            "max_seq_length": args.max_seq_length,
            "learning_rate": args.learning_rate,
            "train_seconds": metrics["train_seconds"],
            "wall_seconds": metrics["wall_seconds"],
        },
        **run_card_facts(args, record, "albert pretrain", {"model": "--model-json"}),
    )


# -- command line, generated from PretrainArgs --------------------------------------------------------
def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The ``albert pretrain`` arguments: one flag per :class:`PretrainArgs` field.

    Args:
        parser: the parser to add the flags to (the ``pretrain`` sub-command's, say); None makes a new one
            named ``albert pretrain`` with this module's docstring as its description.

    Returns:
        The parser, with the flags added. Flags left out parse as None, so that
        :func:`args_from_namespace` keeps the dataclass defaults.
    """
    parser = parser or argparse.ArgumentParser(
        prog="albert pretrain", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )

    def model_json(parser: argparse.ArgumentParser, help_: str) -> None:
        parser.add_argument("--model-json", dest="model", type=json.loads, help=help_)

    return add_dataclass_flags(parser, PretrainArgs, {"model": model_json})


def args_from_namespace(ns: argparse.Namespace) -> PretrainArgs:
    """:class:`PretrainArgs` from parsed flags; flags left out keep the dataclass defaults.

    Args:
        ns: the namespace parsed by a parser from :func:`build_parser`.

    Returns:
        The checked arguments.

    Raises:
        ValueError, TypeError: a value :class:`PretrainArgs` refuses (the message names the flag).
    """
    recipe = getattr(ns, "recipe", None)
    if recipe is None:
        return from_namespace(PretrainArgs, ns)
    if recipe not in RECIPES:
        raise ValueError(f"--recipe must be one of {list(RECIPES)}, got {recipe!r}")
    names = {f.name for f in dataclasses.fields(PretrainArgs)}
    given = {name: value for name in names if name != "recipe" and (value := getattr(ns, name, None)) is not None}
    preset = {k: copy.deepcopy(v) for k, v in RECIPES[recipe].items() if k in names}
    args = PretrainArgs(**{**preset, **given})  # the flags given win over the preset, even when they equal a default
    args.recipe = recipe
    return args


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    metrics = pretrain(args_from_namespace(ns))
    print(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
