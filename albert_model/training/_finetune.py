"""Fine-tuning any ALBERT head on the files a user has.

    albert finetune --task TASK --train FILE... --output DIR [--model DIR] [--eval FILE...] [--resume]

Tasks: ``text-classification`` (CSV/TSV/JSONL; accuracy and macro-F1, or Pearson/Spearman when the labels
are real numbers), ``token-classification`` (CoNLL; entity-level precision/recall/F1) and
``question-answering`` (SQuAD v1.1/v2.0 JSON; exact match and F1 as the official scripts). Files are read by
:mod:`albert_model.training._finetune_data`, scores computed by :mod:`albert_model.training._metrics`.

The loop is the one transformers' ``Trainer`` runs with the same settings, and its defaults are
``TrainingArguments``' (AdamW, learning rate 5e-5 decaying linearly, no weight decay on biases and LayerNorms,
gradient clipping at 1.0, batch 8, 3 epochs, seed 42): the dropout stream is seeded after the model is built,
each epoch visits the examples in a seeded permutation, the last batch of an epoch may be short. Every
``checkpoint_every`` steps the loop state is written atomically to ``OUTPUT/checkpoint/`` (safetensors, a
``weights_only`` optimizer file and JSON: nothing is unpickled on ``--resume``), so a killed run resumes
exactly. Every ``eval_every`` steps (and at the end) the ``--eval`` files are scored. ``OUTPUT`` ends up a
Hugging Face-format model directory (with the label names in ``config.json``) plus the tokenizer,
``training.json`` (arguments, metrics, loss curve, the data files' SHA-256) and a ``README.md`` model card with
the hub's metadata and those facts (:mod:`albert_model.checkpoints`' ``render_card``):
``albert_model.pipeline(TASK, model=OUTPUT)`` and transformers' ``Auto*`` classes load it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from albert_model._config import AlbertConfig
from albert_model._tasks import TASK_TABLE
from albert_model.checkpoints import (
    DEFAULT_MODEL,
    CardFacts,
    HeadInitializedWarning,
    SourceFile,
    dataset_ids,
    hub_metric_ids,
    markdown_text,
    origin_of,
)
from albert_model.modeling import AlbertPreTrainedModel
from albert_model.training import _finetune_data as D
from albert_model.training._common import MAX_SEED, MAX_STEPS, LoopArgs, check_device, prepare_output
from albert_model.training._distributed import World, leave, world_from_env
from albert_model.training._flags import add_dataclass_flags, check_float, check_int, flag, from_namespace, help_text
from albert_model.training._loop import (
    PRECISIONS,
    Run,
    Step,
    TrainState,
    begin,
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
from albert_model.training._metrics import (
    classification_metrics,
    entity_metrics,
    is_better,
    metric_for_best,
    multiple_choice_metrics,
    regression_metrics,
    reported_metrics,
    squad_metrics,
)
from albert_tok import AlbertTokenizerFast
from albert_tok.api import MODEL_INPUT_NAMES
from albert_tok.io import regular_file
from albert_tok.io.atomic import replace_directory
from albert_tok.rules import pad_batch

__all__ = [
    "TASKS",
    "EvalSet",
    "FinetuneArgs",
    "Prepared",
    "args_from_namespace",
    "build_parser",
    "collate",
    "epoch_order",
    "evaluate",
    "finetune",
    "main",
    "prepare",
    "train",
]

TASKS: dict[str, type[AlbertPreTrainedModel]] = {row.name: row.load_model_class() for row in TASK_TABLE if row.finetune}
"""``--task`` values and the head each one trains: the rows of :data:`albert_model._tasks.TASK_TABLE` marked
``finetune``, under their canonical names only."""

MAX_EPOCHS = 1_000_000
"""The most ``--epochs`` a run may be given (the steps they come to must also be at most
:data:`albert_model.training._common.MAX_STEPS`)."""
TARGETS = ("labels", "start_positions", "end_positions")


@dataclass
class FinetuneArgs(LoopArgs):
    """Everything ``albert finetune`` takes; the command line is generated from these fields (``--text-column``
    for ``text_column``), and each value is checked when the object is made.

    Args:
        task: What to fine-tune: ``"text-classification"``, ``"multiple-choice"``, ``"token-classification"``
            or ``"question-answering"`` (the keys of :data:`TASKS`).
        train: The training files, at least one: CSV, TSV or JSON Lines for text classification, SWAG-style
            CSV/TSV/JSON Lines or RACE-style JSON/JSON Lines for multiple choice, CoNLL for token
            classification, SQuAD v1.1/v2.0 JSON for question answering.
        output: The output directory: the checkpoint while training (``OUTPUT/checkpoint/``), then the
            fine-tuned model, its tokenizer, ``training.json`` and the model card ``README.md``.
        model: The pretrained model directory to start from; the shipped model by default.
        tokenizer: The tokenizer directory; None (the default) reads the tokenizer of ``model``.
        eval: Evaluation files in the format of ``train``, scored every ``eval_every`` steps and at the end;
            none by default.
        text_column: Text classification: the column holding the text (``"text"`` by default).
        text_pair_column: Text classification: the column holding the second text of a pair; None (the
            default) classifies single texts.
        label_column: Text classification: the column holding the label (``"label"`` by default).
        num_labels: The number of labels; None (the default) reads it from the data, and a value given must
            agree with the data.
        problem_type: Text classification: ``"regression"`` or ``"single_label_classification"``; None (the
            default) reads it from the labels (real numbers mean regression), which must all agree.
        max_seq_length: Tokens per sequence, 8 to 512; None means 128, or 384 for question answering.
        doc_stride: Question answering: the tokens that adjacent windows over a long context share (128 by
            default); it must be well below the sequence length.
        steps: The optimizer steps to run; None (the default) runs ``epochs`` passes over the data.
        epochs: The passes over the training data when ``steps`` is None (3.0 by default; fractions allowed).
        batch_size: Examples per optimizer step (8 by default).
        eval_batch_size: Examples per evaluation batch (32 by default).
        learning_rate: The peak learning rate, in (0, 1); 5e-5 by default, decayed linearly to 0.
        weight_decay: AdamW's weight decay, never applied to biases and LayerNorms (0.0 by default).
        warmup_fraction: The share of the steps over which the learning rate rises from 0, in [0, 1) (0.0 by
            default).
        max_grad_norm: The gradient-norm clipping threshold, above 0 (1.0 by default).
        eval_every: Steps between evaluations of the ``eval`` files; 0 (the default) evaluates only at the end.
        log_every: Steps whose losses are averaged into one point of the loss curve (10 by default).
        checkpoint_every: Steps between checkpoints (100 by default); the end of the run always writes one.
        seed: The random seed of the head's initialisation, the data order and dropout (42 by default).
        device: The torch device: ``"auto"`` (the default: cuda when available, else cpu), ``"cpu"``,
            ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
        precision: ``"fp32"`` (the default), ``"bf16"`` or ``"fp16"`` (autocast; fp16 with a gradient scaler
            whose state the checkpoints keep; the weights stay fp32).
        max_answer_length: Question answering: the longest answer, in tokens (30 by default).
        n_best: Question answering: the start and end candidates looked at per window (20 by default).
        resume: True continues from ``OUTPUT/checkpoint/`` exactly where the last checkpoint left off.
        metric_for_best: An evaluation metric of the task (``accuracy``, ``f1``, ``exact``, ``loss``, ...; with or
            without the ``eval_`` prefix): the model of the best evaluation by it (largest, smallest for ``loss``
            and ``mse``; a tie keeps the earlier) is kept in ``OUTPUT/best/`` while training and is the one
            published, with that evaluation's metrics. Needs ``eval`` files. None (the default): the last model.
        progress: True (the default) shows a progress bar on standard error; evaluations are shown either way.
        accumulate: Micro-batches per optimizer step per rank, dividing ``batch_size`` (which stays the global
            batch of a step): the same result in less memory (1 by default).
        optimizer: ``"adamw"`` (the default) or ``"lamb"``; a checkpoint resumes only with its own.
        warmup_steps: Warm-up in optimizer steps, instead of ``warmup_fraction``; None (the default): the fraction.
        threads: Torch CPU threads per process; None (the default): the cores divided among this node's ranks.
        keep_checkpoint: True keeps ``OUTPUT/checkpoint/`` when the run completes; False (the default) removes it.
        gradient_checkpointing: True recomputes activations in the backward pass (less memory).
        compile: True compiles the training forward with ``torch.compile``.
        attn: ``"varlen"`` (the default: padding skipped, faster on padded batches) or ``"sdpa"``: the
            attention implementation while training.

    Raises:
        ValueError: A value is out of its range or not of its type (the message names the flag), ``task`` or
            ``precision`` is not one of the accepted names, ``problem_type`` is given for another task, the
            device is not on this machine, or ``doc_stride`` is too close to the sequence length.
        FileNotFoundError: A ``train`` or ``eval`` file does not exist.
        NotARegularFileError: A ``train`` or ``eval`` path is a directory, a device or a FIFO.
    """

    task: str = field(metadata=help_text(f"one of {', '.join(TASKS)}"))
    train: list[str] = field(metadata=help_text("training files (CSV/TSV/JSONL, CoNLL, or SQuAD JSON by task)"))
    output: str = field(metadata=help_text("output directory (checkpoint and the fine-tuned model)"))
    model: str = field(
        default=DEFAULT_MODEL, metadata=help_text("pretrained model directory (default: the shipped model)")
    )
    tokenizer: str | None = field(default=None, metadata=help_text("tokenizer directory (default: --model)"))
    eval: list[str] = field(default_factory=list, metadata=help_text("evaluation files, same format as --train"))
    text_column: str = field(default="text", metadata=help_text("text-classification: column of the text"))
    text_pair_column: str | None = field(
        default=None, metadata=help_text("text-classification: column of the second text of a pair")
    )
    label_column: str = field(default="label", metadata=help_text("text-classification: column of the label"))
    num_labels: int | None = field(
        default=None, metadata=help_text("number of labels (default: read from the data; must agree with it)")
    )
    problem_type: str | None = field(
        default=None,
        metadata=help_text(
            f"text-classification: what the labels are, {' or '.join(D.PROBLEM_TYPES)} (default: read from the "
            f"labels, which must all agree)"
        ),
    )
    max_seq_length: int | None = field(
        default=None, metadata=help_text("tokens per sequence (default 128, 384 for question answering)")
    )
    doc_stride: int = field(
        default=128, metadata=help_text("question answering: tokens shared by adjacent windows of a long context")
    )
    steps: int | None = field(default=None, metadata=help_text("optimizer steps (default: --epochs of the data)"))
    epochs: float = field(default=3.0, metadata=help_text("passes over the training data when --steps is not given"))
    batch_size: int = field(default=8, metadata=help_text("examples per step"))
    eval_batch_size: int = field(default=32, metadata=help_text("examples per evaluation batch"))
    learning_rate: float = field(default=5e-5, metadata=help_text("peak learning rate"))
    weight_decay: float = field(default=0.0, metadata=help_text("AdamW weight decay (not on biases and LayerNorms)"))
    warmup_fraction: float = field(default=0.0, metadata=help_text("share of the steps spent warming up"))
    max_grad_norm: float = field(default=1.0, metadata=help_text("gradient clipping norm"))
    eval_every: int = field(default=0, metadata=help_text("steps between evaluations (0: only at the end)"))
    log_every: int = field(default=10, metadata=help_text("steps averaged into one loss-curve point"))
    checkpoint_every: int = field(default=100, metadata=help_text("steps between checkpoints"))
    seed: int = field(default=42, metadata=help_text("random seed (head initialisation, data order, dropout)"))
    device: str = field(default="auto", metadata=help_text("torch device: auto (cuda when available), cpu, cuda, ..."))
    precision: str = field(
        default="fp32",
        metadata=help_text("fp32, bf16 or fp16 (autocast; fp16 with a gradient scaler; weights stay fp32)"),
    )
    max_answer_length: int = field(default=30, metadata=help_text("question answering: longest answer in tokens"))
    n_best: int = field(default=20, metadata=help_text("question answering: start and end candidates per window"))
    metric_for_best: str | None = field(
        default=None,
        metadata=help_text("publish the model of the best evaluation by this metric (accuracy, f1, loss, ...)"),
    )
    resume: bool = field(default=False, metadata=help_text("continue from OUTPUT/checkpoint/"))
    progress: bool = field(default=True, metadata=help_text("show a progress bar on standard error"))

    def __post_init__(self) -> None:
        self.check_loop_args()
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {sorted(TASKS)}, got {self.task!r}")
        if self.metric_for_best is not None:
            metric_for_best(self.task, self.metric_for_best)
            if not self.eval:
                raise ValueError(f"--metric-for-best {self.metric_for_best} needs --eval files to evaluate on")
        for name in ("train", "eval"):
            files = getattr(self, name)
            if isinstance(files, str) or not isinstance(files, list) or (name == "train" and not files):
                raise ValueError(
                    f"{name} must be a {'non-empty ' if name == 'train' else ''}list of files, got {files!r}"
                )
            for path in files:
                regular_file(path, f"--{name} file")
        if self.problem_type is not None and (
            self.problem_type not in D.PROBLEM_TYPES or self.task != "text-classification"
        ):
            raise ValueError(
                f"--problem-type must be one of {D.PROBLEM_TYPES} (text-classification only), got "
                f"{self.problem_type!r} for task {self.task!r}"
            )
        check_precision(self.precision)
        for name in ("batch_size", "eval_batch_size", "log_every", "checkpoint_every", "max_answer_length", "n_best"):
            check_int(getattr(self, name), name, 1)
        if self.steps is not None:
            check_int(self.steps, "steps", 1, MAX_STEPS)
        if self.num_labels is not None:
            check_int(self.num_labels, "num_labels", 1)
        check_int(self.eval_every, "eval_every", 0)
        check_int(self.doc_stride, "doc_stride", 0)
        check_int(self.seed, "seed", 0, MAX_SEED)
        if self.max_seq_length is not None:
            check_int(self.max_seq_length, "max_seq_length", 8, 512)
        check_float(self.epochs, "epochs", 0.0, MAX_EPOCHS, low_open=True)
        check_float(self.learning_rate, "learning_rate", 0.0, 1.0, low_open=True, high_open=True)
        check_float(self.warmup_fraction, "warmup_fraction", 0.0, 1.0, high_open=True)
        check_float(self.weight_decay, "weight_decay", 0.0)
        check_float(self.max_grad_norm, "max_grad_norm", 0.0, low_open=True)
        if self.device != "auto":
            self.device = check_device(self.device)
        if self.task == "question-answering" and self.doc_stride >= self.sequence_length - 4:
            raise ValueError(
                f"doc_stride ({self.doc_stride}) must be well below max_seq_length ({self.sequence_length})"
            )

    @property
    def sequence_length(self) -> int:
        """The tokens per sequence this run uses: ``max_seq_length``, or 128 (384 for question answering)."""
        return self.max_seq_length or (384 if self.task == "question-answering" else 128)

    @property
    def torch_device(self) -> str:
        """The device the run trains on: ``device``, with ``"auto"`` resolved to cuda or cpu."""
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device


# -- data -----------------------------------------------------------------------------------------------
@dataclass
class EvalSet:
    """Features of the ``--eval`` files and what scoring needs: the labels (classification), the sentences
    (token classification) or the questions and SQuAD version (question answering).

    Args:
        task: The task, one of :data:`TASKS`.
        features: The encoded features, as the training features are.
        labels: The label set (classification tasks); None for question answering.
        sentences: Token classification: the sentences, whose tags are the gold answers.
        questions: Question answering: the questions, with their answers.
        version: Question answering: the SQuAD version of the files, 1 or 2 (2 by default).
    """

    task: str
    features: list[dict[str, Any]]
    labels: D.LabelSet | None = None
    sentences: list[D.Sentence] = field(default_factory=list)
    questions: list[D.QAExample] = field(default_factory=list)
    version: int = 2


@dataclass
class Prepared:
    """What :func:`train` needs: the tokenizer, the model as initialised, the training features, the
    evaluation set (None without ``--eval``) and the labels.

    Args:
        tokenizer: The tokenizer the features were encoded with.
        model: The model, its task head initialised from the seed.
        features: The training features.
        eval_set: The evaluation set; None without ``--eval`` files.
        labels: The label set; None for question answering.
    """

    tokenizer: Any
    model: Any
    features: list[dict[str, Any]]
    eval_set: EvalSet | None
    labels: D.LabelSet | None


def _check_metric_for_best(name: str, eval_set: EvalSet) -> None:
    """Refuse, before training, a ``--metric-for-best`` this run's evaluation cannot report: accuracy for
    regression labels, Pearson for classes, a SQuAD v2.0 breakdown the evaluation files have no questions for."""
    labels, kind, version, answered, why = eval_set.labels, None, eval_set.version, (True, False), ""
    if eval_set.task == "text-classification" and labels is not None:
        kind = labels.kind
        why = "the labels are real numbers (regression)" if kind == "float" else "the labels are classes"
    elif eval_set.task == "question-answering":
        questions = eval_set.questions or []
        answered = (any(q.answers for q in questions), any(not q.answers for q in questions))
        why = (
            f"the --eval files are SQuAD v2.0 with {'answerable' if answered[0] else 'no answerable'} and "
            f"{'unanswerable' if answered[1] else 'no unanswerable'} questions"
            if version == 2
            else "the --eval files are SQuAD v1.1 (no HasAns_/NoAns_ breakdown)"
        )
    metric_for_best(eval_set.task, name, reported_metrics(eval_set.task, kind, version, answered), why)


def _label_set(
    labelled: list[tuple[str, str, int]],
    paths: list[str],
    args: FinetuneArgs,
    base: dict[int, str] | None,
    **options: Any,
) -> D.LabelSet:
    """:func:`finetune_data.label_set` over ``(label, file, line)`` of every training file: an error names the
    file and line of the label it is about. label_set sees the labels of all files as one list numbered from
    2 on, since it names line 1 of the (first) file for a problem of the data as a whole."""
    try:
        return D.label_set(
            [(label, k) for k, (label, _, _) in enumerate(labelled, 2)], paths[0], args.num_labels, base, **options
        )
    except D.DataError as exc:
        if not 2 <= exc.line < len(labelled) + 2:
            raise
        _, path, line = labelled[exc.line - 2]
        raise D.DataError(path, line, exc.problem, exc.fix) from None


def _read(
    args: FinetuneArgs, tokenizer: Any, paths: list[str], labels: D.LabelSet | None, base: dict[int, str] | None
) -> tuple[list[dict[str, Any]], EvalSet, D.LabelSet | None]:
    """Features of ``paths``; with ``labels=None`` (the training files) the label set is made from them."""
    length = args.sequence_length
    if args.task == "multiple-choice":
        choices = _multiple_choice(args, tokenizer, paths, length)
        return choices, EvalSet(args.task, choices), None
    if args.task == "text-classification":
        examples = [(p, D.read_table(p, args.text_column, args.text_pair_column, args.label_column)) for p in paths]
        if labels is None:
            labelled = [(e.label or "", p, e.line) for p, rows in examples for e in rows]
            labels = _label_set(labelled, paths, args, base, problem_type=args.problem_type)
        ids = [
            v
            for p, rows in examples
            for v in D.label_ids([(e.label or "", e.line) for e in rows], p, labels, args.problem_type)
        ]
        _check_regression_labels(examples, ids, args)
        rows = [e for _, group in examples for e in group]
        features = D.encode_classification(tokenizer, rows, ids, length)
        return features, EvalSet(args.task, features, labels=labels), labels
    if args.task == "token-classification":
        sentences = [(p, D.read_conll(p)) for p in paths]
        if labels is None:
            tags = [(t, p, s.line) for p, group in sentences for s in group for t in s.tags]
            labels = _label_set(tags, paths, args, base, tags=True)
        tag_ids = [t for p, group in sentences for t in D.tag_ids(group, p, labels)]
        flat = [s for _, group in sentences for s in group]
        features = D.encode_token_classification(tokenizer, flat, tag_ids, length)
        return features, EvalSet(args.task, features, labels=labels, sentences=flat), labels
    questions: list[D.QAExample] = []
    features, version = [], 1
    for path in paths:
        read, file_version = D.read_squad(path)
        encoded = D.encode_squad(tokenizer, read, length, args.doc_stride, path)
        for feature in encoded:
            feature["example_index"] += len(questions)
        questions.extend(read)
        features.extend(encoded)
        version = max(version, file_version)
    if args.num_labels not in (None, 2):
        raise ValueError(
            f"question answering predicts a start and an end (num_labels 2); drop --num-labels {args.num_labels}"
        )
    return features, EvalSet(args.task, features, questions=questions, version=version), None


def _multiple_choice(args: FinetuneArgs, tokenizer: Any, paths: list[str], length: int) -> list[dict[str, Any]]:
    """Features of SWAG- or RACE-style files, every question with the first one's number of choices."""
    features: list[dict[str, Any]] = []
    count: int | None = None
    for path in paths:
        examples = D.read_multiple_choice(path, num_choices=count)
        count = count or (len(examples[0].endings) if examples else None)
        features.extend(D.encode_multiple_choice(tokenizer, examples, length))
    if args.num_labels is not None:
        raise ValueError(
            f"multiple choice scores each choice (the number of choices comes from the data); drop --num-labels "
            f"{args.num_labels}"
        )
    return features


def _check_regression_labels(
    examples: list[tuple[str, list[D.TextExample]]], ids: Sequence[Any], args: FinetuneArgs
) -> None:
    """Real-valued labels so large that the loss overflows are a data problem, named before training: the
    squared error of a batch sums up to ``max(batch sizes)`` squares in 32-bit floats."""
    batch = max(args.batch_size, args.eval_batch_size)
    limit = math.sqrt(float(np.finfo(np.float32).max) / batch)
    rows = ((path, example) for path, group in examples for example in group)
    for (path, example), value in zip(rows, ids, strict=False):
        if isinstance(value, float) and not abs(value) <= limit:
            raise D.DataError(
                path,
                example.line,
                f"regression label {value:g} is too large to train on: the loss "
                f"adds up the squares of up to {batch} labels in 32-bit floats, "
                f"which overflow above {limit:.2g}",
                "scale the labels (to standard units, say) and the predictions back",
            )


def prepare(args: FinetuneArgs) -> Prepared:
    """Read and encode the data, then build the model: the pretrained weights with the task head initialised
    from ``args.seed`` (a pure function of the arguments, so a bench can start a reference from it).

    Args:
        args: The run's settings.

    Returns:
        The tokenizer, model, training features, evaluation set and labels.

    Raises:
        DataError: A data file has a problem (a ``ValueError`` naming the file and line).
        ValueError: The tokenizer has more tokens than the model's vocabulary, or ``num_labels`` other than 2
            for question answering.
        FileNotFoundError: The model or tokenizer directory lacks its files.
    """
    tokenizer = AlbertTokenizerFast.from_pretrained(args.tokenizer or args.model)
    config = AlbertConfig.from_pretrained(args.model)
    base = config.id2label if not all(name == f"LABEL_{i}" for i, name in config.id2label.items()) else None
    features, _, labels = _read(args, tokenizer, args.train, None, base)
    eval_set = _read(args, tokenizer, args.eval, labels, base)[1] if args.eval else None
    if args.metric_for_best is not None and eval_set is not None:
        _check_metric_for_best(args.metric_for_best, eval_set)
    overrides = labels.config_overrides() if labels else {"num_labels": 2, "problem_type": None}
    if tokenizer.vocab_size > config.vocab_size:
        raise ValueError(
            f"the tokenizer has {tokenizer.vocab_size} tokens but the model only {config.vocab_size}; "
            f"pass the model's own tokenizer (--tokenizer)"
        )
    torch.manual_seed(args.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HeadInitializedWarning)  # a new head is the point of fine-tuning
        model = TASKS[args.task].from_pretrained(args.model, ignore_mismatched_sizes=True, **overrides)
    report = getattr(model, "load_report", None)
    if report is not None and world_from_env().writes:
        fresh = sorted({*report.newly_initialized, *(name for name, *_ in report.reinitialized)})
        print(
            f"albert finetune: {args.model}: {report.model_class} loaded"
            + (f"; initialised from --seed: {', '.join(fresh[:6])}{', ...' if len(fresh) > 6 else ''}" if fresh else "")
            + (f"; unused: {', '.join(sorted(report.unused)[:6])}" if report.unused else ""),
            file=sys.stderr,
        )
    return Prepared(tokenizer, model, features, eval_set, labels)


def epoch_order(size: int, seed: int, epoch: int) -> np.ndarray:
    """The order epoch ``epoch`` visits ``size`` examples in: a pure function of (seed, epoch).

    Args:
        size: The number of examples.
        seed: The run's seed.
        epoch: The epoch, from 0.

    Returns:
        A permutation of ``range(size)``.
    """
    return np.random.default_rng([seed, epoch]).permutation(size)


def collate(features: Sequence[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    """Model inputs and targets of a batch, padded on the right to the longest feature, as tensors.

    The list-valued fields (the model inputs, and the ``labels`` of token classification) are padded by
    :func:`albert_tok.rules.pad_batch` with its one fill table: ``input_ids`` with ``pad_id``, ``labels``
    with -100, ``token_type_ids`` and ``attention_mask`` with 0. Other keys of the features are left out.

    Args:
        features: Features as :func:`prepare` makes them: ``input_ids`` and the other model inputs as lists of
            ints, and the targets (``labels``, ``start_positions``, ``end_positions``) as numbers or lists.
        pad_id: The tokenizer's pad id.

    Returns:
        ``input_ids``, ``token_type_ids``, ``attention_mask`` and the targets that the features have, in that
        order: padded fields as int64 ``(features, width)`` tensors (``(features, choices, width)`` for
        multiple-choice features, padded by :func:`~albert_model.training._finetune_data.pad_choices`),
        one-number targets as an int64 tensor (float32 when the first feature's is a float, as regression
        labels are).
    """
    if features and features[0]["input_ids"] and isinstance(features[0]["input_ids"][0], list):  # choices
        return {k: torch.from_numpy(v) for k, v in D.pad_choices(features, pad_id).items()}
    names = [key for key in (*MODEL_INPUT_NAMES, *TARGETS) if key in features[0]]
    rows = {key: [f[key] for f in features] for key in names if isinstance(features[0][key], list)}
    padded = pad_batch(rows, pad_id) if rows else {}
    batch = {}
    for key in names:
        if key in padded:
            batch[key] = torch.from_numpy(padded[key])
        else:
            values = [f[key] for f in features]
            batch[key] = torch.tensor(values, dtype=torch.float32 if isinstance(values[0], float) else torch.long)
    return batch


# -- evaluation -----------------------------------------------------------------------------------------
@torch.inference_mode()
def evaluate(
    model: Any,
    eval_set: EvalSet,
    pad_id: int,
    batch_size: int = 32,
    precision: str = "fp32",
    n_best: int = 20,
    max_answer_length: int = 30,
) -> dict[str, Any]:
    """Loss and the task's metrics on ``eval_set`` (works with any model whose outputs have ``loss`` and
    ``logits`` or ``start_logits``/``end_logits``, transformers' included).

    Args:
        model: The model, on the device the batches go to; its training mode is restored afterwards.
        eval_set: The features and what scoring needs.
        pad_id: The tokenizer's pad id (batches are padded by :func:`collate`).
        batch_size: Features per batch (32 by default).
        precision: ``"fp32"`` (the default) or ``"bf16"`` autocast.
        n_best: Question answering: start and end candidates per window (20 by default).
        max_answer_length: Question answering: the longest answer in tokens (30 by default).

    Returns:
        ``loss`` (the mean over the features) and the task's metrics: accuracy and macro-F1 or the regression
        metrics, entity precision/recall/F1 with token accuracy, or the SQuAD scores.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    chosen = PRECISIONS[precision]
    outputs: list[Any] = []
    loss_sum = 0.0
    features = eval_set.features
    for i in range(0, len(features), batch_size):
        chunk = features[i : i + batch_size]
        batch = {k: v.to(device) for k, v in collate(chunk, pad_id).items()}
        with chosen.autocast(device.type):
            out = model(**batch)
        loss_sum += float(out["loss"]) * len(chunk)
        if eval_set.task == "question-answering":
            starts, ends = out["start_logits"].float().cpu().numpy(), out["end_logits"].float().cpu().numpy()
            outputs.extend(
                (s[: len(f["input_ids"])], e[: len(f["input_ids"])])
                for s, e, f in zip(starts, ends, chunk, strict=False)
            )
        else:
            logits = out["logits"].float().cpu().numpy()
            outputs.extend(
                row[: len(f["input_ids"])] if logits.ndim == 3 else row for row, f in zip(logits, chunk, strict=False)
            )
    model.train(was_training)
    metrics: dict[str, Any] = {"loss": loss_sum / max(1, len(features))}
    labels = eval_set.labels
    if eval_set.task == "text-classification" and labels is not None:
        gold = [f["labels"] for f in features]
        if labels.kind == "float":
            metrics.update(regression_metrics([float(o[0]) for o in outputs], gold))
        else:
            metrics.update(classification_metrics([int(np.argmax(o)) for o in outputs], gold))
    elif eval_set.task == "token-classification" and labels is not None:
        predicted = []
        for feature, sentence, logits in zip(features, eval_set.sentences, outputs, strict=False):
            words = ["O"] * len(sentence.tokens)  # words cut off by truncation count as predicted O
            seen: set[int] = set()
            for position, word in enumerate(feature["word_ids"]):
                if word is not None and word not in seen:
                    seen.add(word)
                    words[word] = labels.id2label[int(np.argmax(logits[position]))]
            predicted.append(words)
        metrics.update(entity_metrics(predicted, [s.tags for s in eval_set.sentences]))
    elif eval_set.task == "multiple-choice":
        metrics.update(multiple_choice_metrics(np.stack(outputs), [f["labels"] for f in features]))
    else:
        answers = D.squad_predictions(
            eval_set.questions,
            features,
            [o[0] for o in outputs],
            [o[1] for o in outputs],
            eval_set.version,
            n_best,
            max_answer_length,
        )
        metrics.update(squad_metrics({q.id: q.answers for q in eval_set.questions}, answers, eval_set.version))
    return metrics


# -- the loop -------------------------------------------------------------------------------------------
def _total_steps(args: FinetuneArgs, size: int) -> int:
    if args.steps:
        return args.steps
    batches = math.ceil(size / args.batch_size)
    total = max(1, math.ceil(args.epochs * batches))
    if total > MAX_STEPS:
        raise ValueError(
            f"--epochs {args.epochs} of {batches} batches each is {total} steps, more than "
            f"{MAX_STEPS}; lower --epochs or give --steps"
        )
    return total


_RESUME_SETTINGS = (
    "task",
    "text_column",
    "text_pair_column",
    "label_column",
    "doc_stride",
    "batch_size",
    "seed",
    "optimizer",
)
"""Arguments that decide the data stream: a checkpoint resumes only with the values it was made with (with
``--max-seq-length``, the train files, the tokenizer's vocabulary and the model config, labels included;
:func:`albert_model.training._loop.run_fingerprint`)."""


def _fingerprint(prepared: Prepared, args: FinetuneArgs) -> dict[str, Any]:
    """What a checkpoint must agree with to be resumed."""
    return run_fingerprint(
        args.train,
        prepared.tokenizer,
        prepared.model.config.to_dict(),
        max_seq_length=args.sequence_length,
        **{name: getattr(args, name) for name in _RESUME_SETTINGS},
    )


def _counts(total: int) -> dict[str, Any]:
    """What a fine-tuning run keeps besides the loop state: its step budget and the CPU seconds it used."""
    return {"total_steps": total, "cpu_seconds": 0.0}


def _loss_units(batch: Mapping[str, torch.Tensor]) -> int:
    """What the heads' losses average over in ``batch``: the labels that are not -100 (class ids, tags, choices),
    every element of real-valued labels (regression, multi-label), or the questions (span start and end)."""
    if "labels" in batch:
        labels = batch["labels"]
        return int(labels.numel()) if labels.is_floating_point() else int((labels != -100).sum())
    return len(batch["start_positions"])


class _Finetuning(Run):
    """Fine-tuning as the loop sees it: epochs of the features in a seeded order, a budget of steps, the
    ``--eval`` files scored."""

    point_at_budget_end = True
    all_parameters_used = False  # the pooler has no gradient under token classification and question answering

    def __init__(self, args: FinetuneArgs, prepared: Prepared, total: int) -> None:
        self.args, self.prepared, self.total = args, prepared, total
        self.name = f"finetune {args.task}"
        self.pad_id = prepared.tokenizer.pad_token_id

    def progress(self, state: TrainState) -> float:
        return state.step / self.total

    def meter(self, state: TrainState) -> tuple[str, float, float]:
        return "step", self.total, state.step

    def batches(self, state: TrainState) -> Iterator[dict[str, torch.Tensor]]:
        order = epoch_order(len(self.prepared.features), self.args.seed, state.epoch)
        return self._epoch(state, order)

    def _epoch(self, state: TrainState, order: np.ndarray) -> Iterator[dict[str, torch.Tensor]]:
        features = self.prepared.features
        while state.position < len(features):
            picked = order[state.position : state.position + self.args.batch_size]
            yield collate([features[j] for j in picked], self.pad_id)

    def epoch_finished(self, state: TrainState) -> bool:
        return state.position >= len(self.prepared.features)

    def loss(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor], whole: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        out = model(**batch)
        part = _loss_units(batch)
        if part == 0:  # nothing labelled in this part (the mean would be 0/0): a zero that still reaches DDP
            logits = [v for k, v in out.items() if k != "loss" and isinstance(v, torch.Tensor)]
            return torch.stack([v.float().sum() for v in logits]).sum() * 0.0
        return out["loss"] * (part / _loss_units(whole))

    def count(self, state: TrainState, step: Step) -> None:
        state.extra["cpu_seconds"] = state.extra["cpu_seconds"] + step.cpu_seconds  # CPU time of this process

    def loss_point(self, state: TrainState, loss: float, lr: float, rates: Mapping[str, float]) -> dict[str, Any]:
        return {
            "step": state.step,
            "epoch": state.epoch,
            "loss": loss,
            "lr": lr,
            "train_seconds": state.train_seconds,
            "cpu_seconds": state.extra["cpu_seconds"],
        }

    def evaluate(self, state: TrainState) -> str | None:
        args, eval_set = self.args, self.prepared.eval_set
        if eval_set is None:
            return None
        m = evaluate(
            state.model,
            eval_set,
            self.pad_id,
            args.eval_batch_size,
            args.precision,
            args.n_best,
            args.max_answer_length,
        )
        state.evals.append({"step": state.step, **{k: v for k, v in m.items() if k != "per_type"}})
        shown = ", ".join(f"{k} {v:.4g}" for k, v in m.items() if isinstance(v, float))
        best = args.metric_for_best
        if best is not None:
            value = float(m[best.removeprefix("eval_")])
            if is_better(best, value, state.extra.get("best", {}).get("value")):
                state.extra["best"] = {"step": state.step, "metric": best, "value": value}
                if state.world.writes:
                    _save_best(state)
                shown += f" (best {best} so far)"
        return f"step {state.step}: {shown}"


BEST_DIR = "best"
"""``OUTPUT/best/``: the weights of the best evaluation so far, with ``--metric-for-best``."""


def _save_best(state: TrainState) -> None:
    from safetensors.torch import save

    tied = getattr(state.model, "tied_weights", {})
    weights = {k: v.detach().to("cpu").contiguous() for k, v in state.model.state_dict().items() if k not in tied}
    replace_directory(os.fspath(state.output / BEST_DIR), {"model.safetensors": save(weights, {"format": "pt"})})


def _load_best(state: TrainState) -> None:
    from safetensors.torch import load_file

    path = state.output / BEST_DIR / "model.safetensors"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the best model of --metric-for-best was not kept; restore it or run again"
        )
    state.model.load_state_dict(load_file(path), strict=False)
    tie = getattr(state.model, "tie_weights", None)
    if callable(tie):
        tie()


def train(prepared: Prepared, args: FinetuneArgs) -> dict[str, Any]:
    """Fine-tune ``prepared.model`` (resuming from ``OUTPUT/checkpoint/`` with ``args.resume``), save the model
    directory and return the final metrics.

    Args:
        prepared: What :func:`prepare` made.
        args: The run's settings.

    Returns:
        The final metrics (see :func:`finetune`).

    Raises:
        FileNotFoundError: ``args.resume`` and ``OUTPUT`` has no checkpoint.
        ValueError: ``args.resume`` with a checkpoint made from other data or settings, ``epochs`` that come
            to too many steps, or a training loss that became NaN or infinite.
        NotADirectoryError: ``OUTPUT`` exists and is not a directory.
    """
    started = time.time()
    world, device, facts = begin(args, "albert finetune")
    try:
        return _train(prepared, args, world, device, facts, started)
    finally:
        leave(world)


def _train(
    prepared: Prepared, args: FinetuneArgs, world: World, device: str, facts: dict[str, Any], started: float
) -> dict[str, Any]:
    out = prepare_output(args.output, "albert finetune")
    model, tokenizer, features = prepared.model.to(device), prepared.tokenizer, prepared.features
    optimizer = make_optimizer(model, args.learning_rate, args.weight_decay, args.optimizer)
    total = _total_steps(args, len(features))
    precision = PRECISIONS[args.precision]
    state = TrainState(
        model,
        optimizer,
        precision,
        device,
        out,
        fingerprint=_fingerprint(prepared, args),
        extra=_counts(total),
        scaler=precision.scaler(torch.device(device).type),
        world=world,
    )
    # transformers' Trainer seeds after the model is built: the dropout stream starts from the seed
    torch.manual_seed(args.seed)
    if args.resume:
        state.resume()
        if state.extra["total_steps"] != total:
            if world.writes:
                print(
                    f"albert finetune: resuming with {total} steps (the checkpoint was made for "
                    f"{state.extra['total_steps']}); the schedule follows the new count",
                    file=sys.stderr,
                )
            state.extra["total_steps"] = total
    train_loop(state, _Finetuning(args, prepared, total))
    last = state.evals[-1] if state.evals else {}
    best = state.extra.get("best") if args.metric_for_best else None
    if best is not None:  # the best evaluation's model and metrics are published (transformers' load_best_model)
        _load_best(state)
        last = next(e for e in state.evals if e["step"] == best["step"])
    metrics: dict[str, Any] = {f"eval_{k}": v for k, v in last.items() if k != "step"}  # transformers' naming
    if best is not None:
        metrics["best_step"] = best["step"]
    metrics.update(
        {
            "steps": state.step,
            "epochs": state.step * args.batch_size / len(features),
            "train_examples": len(features),
            "final_loss": state.history[-1]["loss"],
            "train_seconds": state.train_seconds,
            "wall_seconds": state.wall_seconds,
            **facts,
            **run_facts(state, started),
        }
    )
    files = train_files(state, args.train) + [SourceFile.of(path, "eval") for path in args.eval]
    publish(
        state, tokenizer, args, metrics, files, lambda record: _card_facts(args, model.config, record, files, out.name)
    )
    if best is not None and world.writes and not args.keep_checkpoint:
        shutil.rmtree(out / BEST_DIR, ignore_errors=True)
    return metrics


def _card_facts(
    args: FinetuneArgs, config: AlbertConfig, record: dict[str, Any], files: list[SourceFile], name: str
) -> CardFacts:
    """What the card of a fine-tuned directory says: the facts of ``training.json`` (``record``)."""
    metrics = record["metrics"]
    origin = origin_of(args.model)
    regression = config.problem_type == "regression"
    labels = (
        [] if args.task in ("question-answering", "multiple-choice") or regression else list(config.id2label.values())
    )
    summary = (
        f"ALBERT fine-tuned for {args.task} by `albert finetune` from {markdown_text(origin.name)}."
        + (" It predicts one real number (regression)." if regression else "")
        + ("" if args.eval else " No evaluation files were given: the metrics are the training loss only.")
    )
    if origin.license:
        note = (
            f"{markdown_text(origin.license)}, as the card of {markdown_text(origin.name)} (the model this one was "
            f"fine-tuned from) states; "
            f"the training data's terms may add conditions."
        )
    else:
        note = (
            f"The card of {markdown_text(origin.name)} (the model this one was fine-tuned from) states no "
            f"licence, so the metadata says `other`: set `license` from that model's and the training data's "
            f"terms before publishing."
        )
    extra = {k: v for k, v in (("license_name", origin.license_name), ("license_link", origin.license_link)) if v}
    evaluated = [k for k in metrics if k.startswith("eval_")]
    return CardFacts(
        title=name,
        pipeline_tag=args.task,
        summary=summary,
        license=origin.license or "other",
        license_note=note,
        base_model=origin.repo_id,
        datasets=dataset_ids([*args.train, *args.eval]),
        metric_ids=hub_metric_ids(evaluated),
        labels=labels,
        files=files,
        metrics={k: metrics[k] for k in [*evaluated, "final_loss"]},
        budget={
            "steps": metrics["steps"],
            "epochs": metrics["epochs"],
            "train_examples": metrics["train_examples"],
            "batch_size": args.batch_size,
            "max_seq_length": args.sequence_length,
            "learning_rate": args.learning_rate,
            "train_seconds": metrics["train_seconds"],
            "wall_seconds": metrics["wall_seconds"],
        },
        extra_metadata=extra,
        **run_card_facts(args, record, "albert finetune"),
    )


def finetune(args: FinetuneArgs) -> dict[str, Any]:
    """Read the data, fine-tune (or resume) and write ``args.output``; return the final metrics.

    With ``--resume`` the checkpoint is checked before the data is read; the output directory is made and
    checked after it (bad data leaves no directory behind), before the model trains. Batches are padded by
    :func:`collate`.

    Example:
        >>> from albert_model.training import FinetuneArgs, finetune
        >>> metrics = finetune(FinetuneArgs(  # doctest: +SKIP
        ...     task="text-classification", train=["fixtures/eval/mrpc_dev.tsv"], output="my-mrpc",
        ...     text_column="#1 String", text_pair_column="#2 String", label_column="Quality",
        ...     epochs=1, progress=False))
        >>> metrics["steps"]  # doctest: +SKIP
        1

    Args:
        args: The run's settings, already checked by :class:`FinetuneArgs`.

    Returns:
        The final metrics (also in ``training.json``): the last evaluation's scores as ``eval_*`` (with
        ``eval`` files: ``eval_loss`` and the task's metrics), and always ``steps``, ``epochs``,
        ``train_examples``, ``final_loss`` (the last loss-curve point), ``train_seconds`` and ``wall_seconds``
        (over every run of this training, resumed ones included), ``wall_seconds_this_run``, ``precision``,
        ``machine`` and ``torch``.

    Raises:
        FileNotFoundError: ``args.resume`` and ``OUTPUT`` has no checkpoint, or the model or tokenizer
            directory lacks its files.
        DataError: A data file has a problem (a ``ValueError`` whose message is ``FILE:LINE: problem; fix``).
        ValueError: ``args.resume`` with a checkpoint made from other data or settings, a tokenizer larger
            than the model's vocabulary, ``epochs`` that come to more than
            :data:`albert_model.training._common.MAX_STEPS` steps, or a
            training loss that became NaN or infinite.
        NotADirectoryError: ``OUTPUT`` exists and is not a directory.
    """
    if args.resume:
        resume_state(os.path.realpath(args.output), TrainState.template(**_counts(0)))
    return train(prepare(args), args)


# -- command line, generated from FinetuneArgs ----------------------------------------------------------
def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The ``albert finetune`` arguments: one flag per :class:`FinetuneArgs` field.

    Args:
        parser: The parser to add the flags to (a sub-command's); None (the default) makes a new one.

    Returns:
        The parser, with the flags added.
    """
    parser = parser or argparse.ArgumentParser(
        prog="albert finetune", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )

    def task(parser: argparse.ArgumentParser, help_: str) -> None:
        parser.add_argument(flag("task"), choices=sorted(TASKS), required=True, help=help_)

    return add_dataclass_flags(parser, FinetuneArgs, {"task": task}, default_not_shown=("model",))


def args_from_namespace(ns: argparse.Namespace) -> FinetuneArgs:
    """:class:`FinetuneArgs` from parsed flags; flags left out keep the dataclass defaults.

    Args:
        ns: What :func:`build_parser`'s parser returned.

    Returns:
        The checked arguments (see :class:`FinetuneArgs` for the errors a bad value raises).
    """
    return from_namespace(FinetuneArgs, ns)


def main(argv: Sequence[str] | None = None) -> int:
    """``albert finetune``: parse the flags, fine-tune, print the final metrics as JSON.

    Args:
        argv: The arguments after the command name; None reads ``sys.argv``.

    Returns:
        The exit status, 0 (errors raise, and the command line reports them).
    """
    ns = build_parser().parse_args(argv)
    metrics = finetune(args_from_namespace(ns))
    print(json.dumps({k: v for k, v in metrics.items() if k != "per_type"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
