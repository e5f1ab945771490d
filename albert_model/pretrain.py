"""ALBERT pretraining: masked LM with n-gram masking plus sentence-order prediction.

    albert pretrain --tokenizer DIR --train FILE... --output DIR [--steps N] [--resume]

Text files are read line by line (a blank line ends a document), tokenized in batches, packed into
segments of up to ``max_seq_length`` tokens and split into ``A``/``B`` at a sentence boundary; half of the
pairs are swapped (sentence-order label 1). Batches come from :class:`albert_tok.collate.PretrainingCollator`.
Training uses AdamW with linear warm-up and decay and gradient clipping, writes a resumable checkpoint
(model, optimiser, schedule, step, random states) atomically, and at the end a Hugging Face-format model
directory with the tokenizer files and a model card. The last ``heldout_fraction`` of each file is held
out for :func:`masked_token_accuracy`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from albert_tok import AlbertTokenizerFast
from albert_tok.collate import PretrainingCollator

from .config import AlbertConfig
from .heads import AlbertForPreTraining

__all__ = ["PretrainArgs", "read_documents", "make_examples", "pretrain", "masked_token_accuracy", "main"]

Example = tuple[list[int], list[int], int]


@dataclass
class PretrainArgs:
    tokenizer: str
    train: list[str]
    output: str
    steps: int = 1000
    batch_size: int = 32
    max_seq_length: int = 128
    learning_rate: float = 4e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    max_grad_norm: float = 1.0
    mlm_probability: float = 0.15
    max_ngram: int = 3
    heldout_fraction: float = 0.05
    checkpoint_every: int = 200
    seed: int = 0
    device: str = "cpu"
    resume: bool = False
    progress: bool = True
    model: dict[str, Any] = field(default_factory=lambda: dict(
        embedding_size=128, hidden_size=256, num_hidden_layers=6, num_attention_heads=4,
        intermediate_size=1024, hidden_act="gelu_new", classifier_dropout_prob=0.1))


def read_documents(path: str) -> list[list[str]]:
    """Documents of a text file: runs of non-blank lines."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"training file {path!r} does not exist")
    docs: list[list[str]] = [[]]
    with open(path, encoding="utf-8", errors="strict") as fh:
        for line in fh:
            line = line.strip()
            if line:
                docs[-1].append(line)
            elif docs[-1]:
                docs.append([])
    return [d for d in docs if d]


def make_examples(docs: Sequence[Sequence[list[int]]], max_seq_length: int,
                  rng: np.random.Generator) -> list[Example]:
    """Pack tokenized sentences into ``(A, B, swapped)`` pairs of at most ``max_seq_length - 3`` tokens."""
    budget = max_seq_length - 3
    examples: list[Example] = []
    for doc in docs:
        chunk: list[list[int]] = []
        size = 0
        for sentence in doc:
            sentence = sentence[:budget]
            if size + len(sentence) > budget and chunk:
                examples.append(_split(chunk, rng))
                chunk, size = [], 0
            if sentence:
                chunk.append(sentence)
                size += len(sentence)
        if chunk and size >= 2:
            examples.append(_split(chunk, rng))
    return [e for e in examples if e[0] and e[1]]


def _split(chunk: list[list[int]], rng: np.random.Generator) -> Example:
    if len(chunk) >= 2:
        cut = int(rng.integers(1, len(chunk)))
        a = [t for s in chunk[:cut] for t in s]
        b = [t for s in chunk[cut:] for t in s]
    else:
        tokens = chunk[0]
        cut = max(1, len(tokens) // 2)
        a, b = tokens[:cut], tokens[cut:]
    swapped = int(rng.random() < 0.5)
    return (b, a, 1) if swapped else (a, b, 0)


def load_corpus(tokenizer: AlbertTokenizerFast, paths: Iterable[str], heldout_fraction: float,
                max_seq_length: int, seed: int) -> tuple[list[Example], list[Example]]:
    """Training and held-out examples: the last ``heldout_fraction`` of each file's documents (or of its
    lines, for a single-document file) is held out."""
    rng = np.random.default_rng(seed)
    train_docs: list[list[list[int]]] = []
    held_docs: list[list[list[int]]] = []
    for path in paths:
        docs = read_documents(path)
        if len(docs) == 1:  # one long document: hold out its tail
            lines = docs[0]
            cut = int(len(lines) * (1 - heldout_fraction))
            docs = [lines[:cut], lines[cut:]]
            n_train = 1
        else:
            n_train = int(len(docs) * (1 - heldout_fraction))
        flat = [line for d in docs for line in d]
        ids = tokenizer(flat, add_special_tokens=False, return_attention_mask=False,
                        return_token_type_ids=False)["input_ids"]
        pos = 0
        for i, doc in enumerate(docs):
            tokenized = ids[pos:pos + len(doc)]
            pos += len(doc)
            (train_docs if i < n_train else held_docs).append(tokenized)
    return make_examples(train_docs, max_seq_length, rng), make_examples(held_docs, max_seq_length, rng)


def _schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def _batches(examples: list[Example], batch_size: int, rng: np.random.Generator) -> Iterable[list[Example]]:
    while True:
        order = rng.permutation(len(examples))
        for i in range(0, len(order) - batch_size + 1, batch_size):
            yield [examples[j] for j in order[i:i + batch_size]]


@torch.inference_mode()
def masked_token_accuracy(model: AlbertForPreTraining, collator: PretrainingCollator, examples: list[Example],
                          batch_size: int = 64) -> dict[str, float]:
    """Top-1 accuracy on masked tokens of ``examples``, and that of the best constant guess (always the
    most frequent masked token of these examples)."""
    model.eval()
    device = model.device
    correct = total = 0
    counts: dict[int, int] = {}
    for i in range(0, len(examples), batch_size):
        batch = collator(examples[i:i + batch_size])
        where = batch["labels"] != -100
        out = model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device),
                    token_type_ids=batch["token_type_ids"].to(device), masked_positions=where.to(device))
        labels = batch["labels"][where]
        correct += int((out.prediction_logits.argmax(-1).cpu() == labels).sum())
        total += int(labels.numel())
        for token, count in zip(*np.unique(labels.numpy(), return_counts=True)):
            counts[int(token)] = counts.get(int(token), 0) + int(count)
    best = max(counts.values()) if counts else 0
    return {"masked_tokens": total, "top1_accuracy": correct / max(1, total),
            "constant_guess_accuracy": best / max(1, total),
            "constant_guess_token_id": max(counts, key=counts.get) if counts else -1}


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def pretrain(args: PretrainArgs) -> dict[str, Any]:
    """Run (or resume) pretraining; return the final metrics."""
    torch.manual_seed(args.seed)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = AlbertTokenizerFast.from_pretrained(args.tokenizer)
    started = time.time()
    train, held = load_corpus(tokenizer, args.train, args.heldout_fraction, args.max_seq_length, args.seed)
    if len(train) < args.batch_size:
        raise ValueError(f"only {len(train)} training examples; need at least batch_size={args.batch_size}")
    config = AlbertConfig(vocab_size=tokenizer.vocab_size, pad_token_id=tokenizer.pad_token_id,
                          max_position_embeddings=512, **args.model)
    model = AlbertForPreTraining(config).to(args.device)
    collator = PretrainingCollator.for_tokenizer(tokenizer, mlm_probability=args.mlm_probability,
                                                 max_ngram=args.max_ngram, seed=args.seed)
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n or "norm" in n]
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n or "norm" in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.learning_rate)
    warmup = int(args.steps * args.warmup_fraction)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _schedule(s, args.steps, warmup))
    rng = np.random.default_rng(args.seed)
    step = 0
    ckpt_path = out / "checkpoint.pt"
    history: list[dict[str, float]] = []
    if args.resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=args.device, weights_only=False)
        model.load_state_dict(state["model"])
        model.tie_weights()
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
        rng = state["rng"]
        collator._rng = state["collator_rng"]
        torch.set_rng_state(state["torch_rng"])
        history = state["history"]
    batches = _batches(train, args.batch_size, rng)
    bar = None
    if args.progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=args.steps, initial=step, desc="pretrain", unit="step")
        except ImportError:  # progress is optional
            bar = None
    model.train()
    while step < args.steps:
        batch = collator(next(batches))
        where = batch["labels"] != -100
        out_ = model(input_ids=batch["input_ids"].to(args.device),
                     attention_mask=batch["attention_mask"].to(args.device),
                     token_type_ids=batch["token_type_ids"].to(args.device),
                     labels=batch["labels"].to(args.device),
                     sentence_order_label=batch["sentence_order_label"].to(args.device),
                     masked_positions=where.to(args.device))
        optimizer.zero_grad(set_to_none=True)
        out_.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
        optimizer.step()
        scheduler.step()
        step += 1
        history.append({"step": step, "loss": float(out_.loss.detach())})
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{history[-1]['loss']:.3f}")
        if step % args.checkpoint_every == 0 or step == args.steps:
            _save_checkpoint(ckpt_path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                         "scheduler": scheduler.state_dict(), "step": step, "rng": rng,
                                         "collator_rng": collator._rng, "torch_rng": torch.get_rng_state(),
                                         "history": history, "args": dataclasses.asdict(args)})
    if bar is not None:
        bar.close()
    eval_collator = PretrainingCollator.for_tokenizer(tokenizer, mlm_probability=args.mlm_probability,
                                                      max_ngram=args.max_ngram, seed=12345)
    metrics = masked_token_accuracy(model, eval_collator, held) if held else {}
    metrics.update({"steps": step, "train_examples": len(train), "heldout_examples": len(held),
                    "final_loss": history[-1]["loss"] if history else None,
                    "wall_seconds_this_run": time.time() - started,
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores, {args.device}"})
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "training.json").write_text(json.dumps({"args": dataclasses.asdict(args), "metrics": metrics,
                                                   "loss_every_50": history[::50]}, indent=1) + "\n")
    return metrics


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="albert pretrain", description=__doc__,
                                               formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", required=True, help="tokenizer directory (spiece.model or tokenizer.json)")
    parser.add_argument("--train", nargs="+", required=True, help="UTF-8 text files, one sentence per line")
    parser.add_argument("--output", required=True, help="output directory (checkpoint and final model)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=4e-4)
    parser.add_argument("--warmup-fraction", type=float, default=0.1)
    parser.add_argument("--checkpoint-every", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoint.pt")
    parser.add_argument("--model-json", help="JSON object of AlbertConfig fields for the model size")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def args_from_namespace(ns: argparse.Namespace) -> PretrainArgs:
    extra: dict[str, Any] = {}
    if ns.model_json:
        extra["model"] = json.loads(ns.model_json)
    return PretrainArgs(tokenizer=ns.tokenizer, train=ns.train, output=ns.output, steps=ns.steps,
                        batch_size=ns.batch_size, max_seq_length=ns.max_seq_length,
                        learning_rate=ns.learning_rate, warmup_fraction=ns.warmup_fraction, checkpoint_every=ns.checkpoint_every, seed=ns.seed,
                        device=ns.device, resume=ns.resume, progress=not ns.no_progress, **extra)


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    metrics = pretrain(args_from_namespace(ns))
    print(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
