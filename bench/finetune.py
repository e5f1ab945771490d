"""Fine-tune the shipped model briefly with ``albert finetune``'s loop and with transformers' ``Trainer``, and compare.

    python -m bench.finetune [--steps 20] [--device cpu] [--write-readme]

Two tasks on the shared evaluation files: text classification on ``../shared/eval/mrpc_dev.tsv`` (MRPC sentence
pairs) and question answering on ``../shared/eval/squad_sample.json`` (SQuAD v2-style, six unanswerable
questions). Both sides start from the same weights (the shipped model, its task head initialised by
:func:`albert_model.training._finetune.prepare`), train on the same features in the same order (the reference Trainer is
given our loop's batches; everything else is transformers': its ``AlbertFor*`` class, its collator, its
optimizer, scheduler and seeding), with the same seed and dropout as configured. Reported per task: every step's
loss on both sides and the largest difference (fp32: expected within 1e-4), training steps per second on both
sides and their ratio (one over the median step time, step 1 excluded; each side runs twice, in A B B A order,
and keeps its better rate, so load from other processes moves the ratio less; the second runs must reproduce
the first runs' losses exactly), and the metrics of both fine-tuned models, computed by the same code
(:func:`albert_model.training._finetune.evaluate`).
The shared files are tiny (6 and 14 examples) and are both the training and the evaluation data: the metrics
show that the two implementations learn the same, not what the model can do. Not a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from bench._readme import write_table

ROOT = Path(__file__).resolve().parent.parent

SHARED = Path(os.environ.get("ALBERT_SHARED", ROOT.parent / "shared"))
RESULTS = ROOT / "bench" / "results" / "finetune.json"
TOLERANCE = 1e-4
RUNS: dict[str, dict[str, Any]] = {
    "text-classification": {
        "train": SHARED / "eval" / "mrpc_dev.tsv",
        "text_column": "#1 String",
        "text_pair_column": "#2 String",
        "label_column": "Quality",
        "batch_size": 4,
        "learning_rate": 1e-4,
        "headline": ("accuracy", "macro_f1"),
    },
    "question-answering": {
        "train": SHARED / "eval" / "squad_sample.json",
        "max_seq_length": 256,
        "doc_stride": 64,
        "batch_size": 8,
        "learning_rate": 2e-4,
        "headline": ("exact", "f1"),
    },
}
HEAD_CLASSES = {
    "text-classification": "AlbertForSequenceClassification",
    "question-answering": "AlbertForQuestionAnswering",
}
MODEL_KEYS = ("input_ids", "token_type_ids", "attention_mask", "labels", "start_positions", "end_positions")


class EpochBatches:
    """A batch sampler that yields exactly the batches of ``albert finetune``: epoch ``e`` visits the examples
    in ``epoch_order(n, seed, e)``, cut into consecutive batches (the last one may be short)."""

    def __init__(self, size: int, batch_size: int, seed: int) -> None:
        self.size, self.batch_size, self.seed, self.epoch = size, batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(self.size / self.batch_size)

    def __iter__(self) -> Any:
        from albert_model.training._finetune import epoch_order

        order = epoch_order(self.size, self.seed, self.epoch).tolist()
        self.epoch += 1
        for i in range(0, self.size, self.batch_size):
            yield order[i : i + self.batch_size]


def _rate(step_ends: list[float]) -> float:
    """Steps per second from the times steps ended: one over the median step (the first one, which pays for
    warm-up, has no start time here), so a burst of load from other processes moves it little."""
    import numpy as np

    return float(1.0 / np.median(np.diff(step_ends)))


def run_ours(args: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Fine-tune with our loop; return the prepared setup (its initial weights copied first) and the results."""
    from albert_model.training._finetune import prepare, train

    prepared = prepare(args)
    initial = {k: v.detach().clone() for k, v in prepared.model.state_dict().items()}
    metrics = train(prepared, args)
    history = json.loads((Path(args.output) / "training.json").read_text())["history"]
    return (
        prepared,
        initial,
        {
            "losses": [h["loss"] for h in history],
            "metrics": metrics,
            "steps_per_second": _rate([h["train_seconds"] for h in history]),
            "steps_per_cpu_second": _rate([h["cpu_seconds"] for h in history]),
        },
    )


def run_trainer(task: str, prepared: Any, initial: dict[str, Any], args: Any, workdir: str) -> dict[str, Any]:
    """The same fine-tuning with transformers' Trainer and transformers' own class."""
    import torch
    import transformers as T

    from albert_model.training._finetune import evaluate

    overrides = prepared.labels.config_overrides() if prepared.labels else {"num_labels": 2}
    config = T.AlbertConfig.from_pretrained(args.model, **overrides)
    model = getattr(T, HEAD_CLASSES[task])(config)
    model.load_state_dict(initial, strict=True)
    tokenizer = T.AlbertTokenizerFast.from_pretrained(args.model)
    features = [{k: f[k] for k in MODEL_KEYS if k in f} for f in prepared.features]
    losses: list[float] = []
    step_ends: list[float] = []
    cpu_ends: list[float] = []

    class Clock(T.TrainerCallback):
        def on_step_end(self, *unused: Any, **kwargs: Any) -> None:
            step_ends.append(time.monotonic())
            cpu_ends.append(time.process_time())

    class OurBatches(T.Trainer):
        def get_train_dataloader(self) -> Any:
            loader: Any = torch.utils.data.DataLoader(
                cast(Any, features),
                batch_sampler=EpochBatches(len(features), args.batch_size, args.seed),
                collate_fn=self.data_collator,
                generator=torch.Generator().manual_seed(args.seed),
            )
            return self.accelerator.prepare(loader)

        def compute_loss(
            self,
            model: Any,
            inputs: Any,
            return_outputs: bool = False,  # type: ignore[override]
            **kwargs: Any,
        ) -> Any:
            result = super().compute_loss(model, inputs, return_outputs=return_outputs, **kwargs)
            losses.append(float((result[0] if return_outputs else result).detach()))
            return result

    warmup = round(args.warmup_fraction * args.steps)  # run() makes it a whole number of steps, as Trainer counts
    training_args = T.TrainingArguments(
        output_dir=workdir,
        max_steps=args.steps,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        warmup_steps=warmup,
        max_grad_norm=args.max_grad_norm,
        lr_scheduler_type="linear",
        optim="adamw_torch",
        logging_steps=1,
        seed=args.seed,
        use_cpu=args.torch_device == "cpu",
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
    )
    trainer = OurBatches(
        model=model,
        args=training_args,
        train_dataset=features,
        data_collator=T.DataCollatorWithPadding(tokenizer),
        callbacks=[Clock()],
    )
    trainer.train()
    metrics = evaluate(
        trainer.model,
        prepared.eval_set,
        prepared.tokenizer.pad_token_id,
        args.eval_batch_size,
        args.precision,
        args.n_best,
        args.max_answer_length,
    )
    return {
        "losses": losses,
        "metrics": {f"eval_{k}": v for k, v in metrics.items() if k != "per_type"},
        "steps_per_second": _rate(step_ends),
        "steps_per_cpu_second": _rate(cpu_ends),
    }


def same_token_ids(prepared: Any, args: Any) -> bool:
    """Whether transformers' tokenizers give the ids our features hold: its slow (SentencePiece) tokenizer for
    the classification pairs and for each question + whole context; its fast tokenizer for the strided windows
    (transformers' slow tokenizers do not cut a pair into several windows)."""
    import transformers as T

    from albert_model.training import _finetune_data as D

    slow = T.AlbertTokenizer.from_pretrained(args.model)
    if args.task == "text-classification":
        rows = D.read_table(args.train[0], args.text_column, args.text_pair_column, args.label_column)
        ids = slow(
            [r.text for r in rows], [r.text_pair for r in rows], truncation=True, max_length=args.sequence_length
        )["input_ids"]
        return bool(ids == [f["input_ids"] for f in prepared.features])
    questions, _ = D.read_squad(args.train[0])
    pairs = ([q.question.lstrip() for q in questions], [q.context for q in questions])
    windows = T.AlbertTokenizerFast.from_pretrained(args.model)(
        *pairs,
        truncation="only_second",
        max_length=args.sequence_length,
        stride=args.doc_stride,
        return_overflowing_tokens=True,
    )["input_ids"]
    whole = slow(*pairs)["input_ids"] == prepared.tokenizer(*pairs)["input_ids"]
    return bool(whole and windows == [f["input_ids"] for f in prepared.features])


def run(task: str, steps: int, device: str, seed: int, workdir: str) -> dict[str, Any]:
    from albert_model.checkpoints._shipped import DEFAULT_MODEL
    from albert_model.training._finetune import FinetuneArgs

    spec = dict(RUNS[task])
    headline = spec.pop("headline")
    train_file = str(spec.pop("train"))
    args = FinetuneArgs(
        task=task,
        train=[train_file],
        eval=[train_file],
        output=os.path.join(workdir, task),
        model=DEFAULT_MODEL,
        steps=steps,
        warmup_fraction=round(0.1 * steps) / steps,
        log_every=1,
        checkpoint_every=steps,
        seed=seed,
        device=device,
        progress=False,
        **spec,
    )
    # A B B A: each side runs twice, in mirrored order, and keeps its better rate, so a burst of load from
    # other processes during one run does not decide the ratio; the second runs also check reproducibility.
    prepared, initial, ours = run_ours(args)
    theirs = run_trainer(task, prepared, initial, args, os.path.join(workdir, task + "-trainer"))
    theirs_again = run_trainer(task, prepared, initial, args, os.path.join(workdir, task + "-trainer-2"))
    ours_again = run_ours(dataclasses.replace(args, output=os.path.join(workdir, task + "-2")))[2]
    reproducible = ours_again["losses"] == ours["losses"] and theirs_again["losses"] == theirs["losses"]
    for side, again in ((ours, ours_again), (theirs, theirs_again)):
        for rate in ("steps_per_second", "steps_per_cpu_second"):
            side[rate] = max(side[rate], again[rate])
    difference = max(abs(a - b) for a, b in zip(ours["losses"], theirs["losses"], strict=False))
    return {
        "data": os.path.relpath(train_file, ROOT.parent),
        "examples": ours["metrics"]["train_examples"],
        "features": len(prepared.features),
        "steps": steps,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "headline": list(headline),
        "token_ids_equal_transformers": same_token_ids(prepared, args),
        "ours": {
            "steps_per_second": ours["steps_per_second"],
            "steps_per_cpu_second": ours["steps_per_cpu_second"],
            "losses": ours["losses"],
            "metrics": {k: v for k, v in ours["metrics"].items() if k.startswith("eval_")},
        },
        "transformers_trainer": theirs,
        "max_loss_difference": difference,
        f"losses_equal_within_{TOLERANCE:g}": difference <= TOLERANCE
        and len(ours["losses"]) == steps
        and len(theirs["losses"]) == steps,
        "second_runs_reproduce_the_losses": reproducible,
        "speed_ratio": ours["steps_per_second"] / theirs["steps_per_second"],
        "cpu_speed_ratio": ours["steps_per_cpu_second"] / theirs["steps_per_cpu_second"],
    }


def table(results: dict[str, Any]) -> str:
    header = (
        "| task (data, steps) | albert finetune | transformers Trainer | max \\|Δ loss\\| per step | "
        "steps/s: ours / Trainer | per CPU-second: ours / Trainer |"
    )
    rows = [header, "|---|---|---|---|---|---|"]
    for task, r in results["tasks"].items():

        def shown(side: dict[str, Any], r: dict[str, Any] = r) -> str:
            return ", ".join(f"{k} {side['metrics']['eval_' + k]:.3g}" for k in r["headline"])

        ours, theirs = r["ours"], r["transformers_trainer"]
        rows.append(
            f"| {task} ({Path(r['data']).name}, {r['steps']} steps) | {shown(ours)} | {shown(theirs)} | "
            f"{r['max_loss_difference']:.1e} | {ours['steps_per_second']:.2f} / "
            f"{theirs['steps_per_second']:.2f} ({r['speed_ratio']:.2f}x) | "
            f"{ours['steps_per_cpu_second']:.2f} / {theirs['steps_per_cpu_second']:.2f} "
            f"({r['cpu_speed_ratio']:.2f}x) |"
        )
    rows.append("")
    rows.append(
        f"{results['machine']}, torch {results['torch']}, transformers {results['transformers']}; "
        f"`{results['command']}`. Same initial weights, batches, seed and dropout on both sides; metrics "
        f"on the training files themselves (6 and 14 examples): they show the two learn the same. Rates are "
        f"one over the median step; on a machine shared with other work the wall-clock rate moves with their "
        f"load, the rate per CPU-second of this process much less."
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.finetune", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--tasks", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument(
        "--write-readme", action="store_true", help="write the table between its markers in docs/benchmarks.md"
    )
    ns = parser.parse_args(argv)
    import torch
    import transformers

    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    with tempfile.TemporaryDirectory() as workdir:
        tasks = {task: run(task, ns.steps, ns.device, ns.seed, workdir) for task in ns.tasks}
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {ns.device}"
    if ns.device.startswith("cuda"):
        machine += f" ({torch.cuda.get_device_name()})"
    results = {
        "machine": machine,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "model": "albert_model/default_model",
        "command": " ".join(["python -m bench.finetune", *(argv if argv is not None else sys.argv[1:])]),
        "tasks": tasks,
    }
    Path(ns.output).parent.mkdir(parents=True, exist_ok=True)
    Path(ns.output).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(table(results))
    if ns.write_readme:
        write_table("finetune", table(results))
    failed = [
        t
        for t, r in tasks.items()
        if not (r[f"losses_equal_within_{TOLERANCE:g}"] and r["second_runs_reproduce_the_losses"])
    ]
    if failed:
        print(f"loss curves differ by more than {TOLERANCE}, or a second run differs, on {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
