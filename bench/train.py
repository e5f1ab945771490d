"""Pretraining throughput: ``albert pretrain``'s loop against transformers' ``Trainer`` in its ``run_mlm`` set-up, in
the same run, on the same machine; and, where ``torchrun`` and the package's DDP support are there, the cost of a
step on 2 ranks against 1 process.

    python -m bench.train [--steps 30] [--batch-size 8] [--max-seq-length 128] [--model-json JSON] [--repeat 2]
                          [--threads N] [--no-ddp] [--write-readme]

Data: the first ``--text-bytes`` of the shared corpora (``../shared/corpora``: wikitext-2 valid, then the others;
one paragraph per line, a blank line between wikitext's articles, :func:`documents`) are the training text; the next
``--heldout-bytes`` are held out. Both sides read the same file with the same tokenizer (``fixtures/spiece.model``,
30,000 pieces) and build the same model (``AlbertConfig`` from ``--model-json`` with the tokenizer's ``vocab_size``
and ``pad_token_id``, ``max_position_embeddings`` 512), train with AdamW (weight decay 0.01, none on biases and
LayerNorms), the same peak learning rate, linear warm-up over 10% of the budget then linear decay, gradient clipping
at 1.0, batch ``--batch-size`` x ``--max-seq-length``, fp32, the same number of torch threads, no data-loader
workers, no evaluation or checkpoint inside the timed loop.

- **transformers** (``run_mlm.py`` without ``--line_by_line``): every non-empty line tokenized with its special
  tokens, the ids concatenated and cut into blocks of ``--max-seq-length`` (every position a real token),
  ``AlbertForMaskedLM``, ``DataCollatorForLanguageModeling`` (15% of tokens, 80/10/10), ``Trainer`` for
  ``--steps`` steps: ``steps x batch x length`` tokens.
- **ours** (``albert_model.training.pretrain``): ALBERT's objective, as ``albert pretrain`` runs it: sentence-order
  pairs (``AlbertForPreTraining``: masked LM + SOP) with n-gram masking (up to 3), sequences ending at sentence
  boundaries (so some padding), trained on a token budget (``--max-tokens``) equal to the Trainer's tokens, so
  both sides see the same number of real tokens.

The objectives differ (ours adds SOP and masks n-grams), so the fair comparison is: real (non-padding) training
tokens per second of the training loop, and the masked-LM loss of both final models on the same held-out blocks
with the same masks (``DataCollatorForLanguageModeling`` seeded; transformers' ``AlbertForMaskedLM`` loads both
saved models, so one evaluator scores both). Each side runs in its own process (``--repeat 2``: A B B A, the
better rate kept); its peak resident set (``VmHWM``) is read at the end. Seconds are the training loop's (ours:
``train_seconds``; the Trainer: from ``on_train_begin`` to the last ``on_step_end``), model set-up and
tokenization not counted on either side. Not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._readme import write_table

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ALBERT_SHARED", ROOT.parent / "shared"))
CORPORA = [SHARED / "corpora" / n for n in ("wikitext-2-valid.tokens.txt", "botchan.txt", "tinyshakespeare.txt")]
TOKENIZER = ROOT / "fixtures"  # spiece.model, the suite's tokenizer (30,000 pieces)
RESULTS = ROOT / "bench" / "results" / "train.json"
MODEL = {
    "embedding_size": 64,
    "hidden_size": 256,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "intermediate_size": 1024,
    "hidden_act": "gelu_new",
}
"""The default model: small enough for a few minutes on 2 cores (``--model-json`` for bigger)."""
MARK = "BENCH-TRAIN-RESULT "


# -- data ----------------------------------------------------------------------------------------------------
_ARTICLE = re.compile(r"^ = [^=].* = $")


def documents(lines: list[str], wikitext: bool) -> list[str]:
    """Lines as ``albert pretrain`` reads them: a blank line between documents. wikitext puts a blank line
    around every paragraph and heading; there, only an article's title (`` = Title = ``) starts a document, and
    each paragraph is one line of it."""
    if not wikitext:
        return lines
    out: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        if _ARTICLE.match(line) and out:
            out.append("")
        out.append(line)
    return out


def write_text(workdir: Path, text_bytes: int, heldout_bytes: int) -> tuple[Path, Path]:
    """The training and held-out text files: consecutive whole lines of the shared corpora."""
    lines: list[str] = []
    for path in CORPORA:
        lines.extend(documents(path.read_text(encoding="utf-8").splitlines(), path.name.startswith("wikitext")))
        lines.append("")
    parts: list[list[str]] = [[], []]
    size, part = 0, 0
    for line in lines:
        if part == 0 and size >= text_bytes:
            part, size = 1, 0
        if part == 1 and size >= heldout_bytes:
            break
        parts[part].append(line)
        size += len(line.encode()) + 1
    if not parts[1]:
        raise SystemExit(f"the shared corpora hold less than --text-bytes {text_bytes} + --heldout-bytes")
    train, heldout = workdir / "train.txt", workdir / "heldout.txt"
    train.write_text("\n".join(parts[0]) + "\n", encoding="utf-8")
    heldout.write_text("\n".join(parts[1]) + "\n", encoding="utf-8")
    return train, heldout


def mlm_blocks(tokenizer: Any, path: Path, length: int) -> list[dict[str, list[int]]]:
    """run_mlm's ``group_texts``: every non-empty line tokenized with special tokens, concatenated, cut into
    blocks of ``length`` (the remainder dropped)."""
    lines = [s for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]
    enc = tokenizer(lines, return_special_tokens_mask=True)
    keys = ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask")
    joined = {k: [x for row in enc[k] for x in row] for k in keys}
    total = len(joined["input_ids"]) // length * length
    return [{k: joined[k][i : i + length] for k in keys} for i in range(0, total, length)]


def status() -> dict[str, int]:
    """This process's memory figures from /proc (bytes): VmHWM is the peak resident set."""
    fields = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                fields[key] = int(value.split()[0]) * 1024
    return fields


# -- the two sides, each in its own process --------------------------------------------------------------------
def side_ours(spec: dict[str, Any]) -> dict[str, Any]:
    from albert_model.training import PretrainArgs, pretrain

    args = PretrainArgs(
        tokenizer=str(TOKENIZER),
        train=[spec["train"]],
        output=spec["output"],
        max_tokens=spec["tokens"],
        batch_size=spec["batch_size"],
        max_seq_length=spec["max_seq_length"],
        learning_rate=spec["learning_rate"],
        weight_decay=0.01,
        warmup_fraction=0.1,
        max_grad_norm=1.0,
        heldout_fraction=0.01,
        eval_every=0,
        eval_examples=1,
        log_every=1,
        checkpoint_every=10**6,
        seed=spec["seed"],
        progress=False,
        threads=spec["threads"],
        model=dict(spec["model"]),
    )
    metrics = pretrain(args)
    history = json.loads((Path(spec["output"]) / "training.json").read_text(encoding="utf-8"))["history"]
    return {
        "tokens": metrics["tokens_seen"],
        "steps": metrics["steps"],
        "train_seconds": metrics["train_seconds"],
        "tokens_per_second": metrics["tokens_seen"] / metrics["train_seconds"],
        "padding_share": 1 - metrics["tokens_seen"] / (metrics["steps"] * spec["batch_size"] * spec["max_seq_length"]),
        "last_train_loss": history[-1]["loss"],
        "train_loss_is": "masked LM + sentence order",
        "threads": metrics.get("threads"),
        **status(),
    }


def side_trainer(spec: dict[str, Any]) -> dict[str, Any]:
    import torch
    import transformers as T

    from albert_tok import AlbertTokenizerFast

    torch.set_num_threads(spec["threads"])
    T.logging.set_verbosity_error()  # run_mlm's "longer than the maximum length" note: the lines are cut into blocks
    ours = AlbertTokenizerFast.from_pretrained(str(TOKENIZER))
    tokenizer_dir = Path(spec["output"]) / "tokenizer"
    ours.save_pretrained(tokenizer_dir)  # tokenizer.json: transformers reads it without sentencepiece
    tokenizer = T.AlbertTokenizerFast.from_pretrained(str(tokenizer_dir))
    blocks = mlm_blocks(tokenizer, Path(spec["train"]), spec["max_seq_length"])
    config = T.AlbertConfig(
        **{
            "max_position_embeddings": 512,
            **spec["model"],
            "vocab_size": tokenizer.vocab_size,
            "pad_token_id": tokenizer.pad_token_id,
        }
    )
    T.set_seed(spec["seed"])
    model = T.AlbertForMaskedLM(config)
    losses: list[float] = []
    clock: dict[str, float] = {}

    class Clock(T.TrainerCallback):
        def on_train_begin(self, *unused: Any, **kwargs: Any) -> None:
            clock["begin"] = time.perf_counter()

        def on_step_end(self, *unused: Any, **kwargs: Any) -> None:
            clock["end"] = time.perf_counter()

        def on_log(self, _args: Any, _state: Any, _control: Any, logs: Any = None, **kwargs: Any) -> None:
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))

    training_args = T.TrainingArguments(
        output_dir=str(Path(spec["output"]) / "trainer"),
        max_steps=spec["steps"],
        per_device_train_batch_size=spec["batch_size"],
        learning_rate=spec["learning_rate"],
        weight_decay=0.01,
        warmup_steps=round(0.1 * spec["steps"]),
        max_grad_norm=1.0,
        lr_scheduler_type="linear",
        optim="adamw_torch",
        logging_steps=1,
        seed=spec["seed"],
        use_cpu=True,
        save_strategy="no",
        eval_strategy="no",
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    trainer = T.Trainer(
        model=model,
        args=training_args,
        train_dataset=blocks,  # type: ignore[arg-type]
        data_collator=T.DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15),
        callbacks=[Clock()],
    )
    trainer.train()
    model.save_pretrained(spec["output"])
    tokens = spec["steps"] * spec["batch_size"] * spec["max_seq_length"]
    seconds = clock["end"] - clock["begin"]
    return {
        "tokens": tokens,
        "steps": spec["steps"],
        "train_seconds": seconds,
        "tokens_per_second": tokens / seconds,
        "padding_share": 0.0,
        "last_train_loss": losses[-1] if losses else None,
        "train_loss_is": "masked LM",
        "threads": torch.get_num_threads(),
        **status(),
    }


def heldout_mlm_loss(spec: dict[str, Any], directories: dict[str, str]) -> dict[str, float]:
    """The masked-LM loss of each saved model on the same held-out blocks with the same masks, by transformers'
    ``AlbertForMaskedLM`` (our checkpoint's SOP head is left unused)."""
    import torch
    import transformers as T

    torch.set_num_threads(spec["threads"])
    T.logging.set_verbosity_error()
    tokenizer = T.AlbertTokenizerFast.from_pretrained(str(Path(directories["transformers"]) / "tokenizer"))
    blocks = mlm_blocks(tokenizer, Path(spec["heldout"]), spec["max_seq_length"])[: spec["heldout_blocks"]]
    collator = T.DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    torch.manual_seed(1234)
    batches = [collator(blocks[i : i + 16]) for i in range(0, len(blocks), 16)]
    losses = {}
    for side, directory in directories.items():
        model = T.AlbertForMaskedLM.from_pretrained(directory).eval()
        total = count = 0.0
        with torch.inference_mode():
            for batch in batches:
                masked = float((batch["labels"] != -100).sum())
                total += float(model(**batch).loss) * masked
                count += masked
        losses[side] = total / count
    return losses


def run_side(side: str, spec: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """One side in a fresh interpreter (its own peak RSS); the JSON it prints on its last marked line."""
    spec_file = workdir / f"spec-{side}.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bench.train", "--side", side, "--spec", str(spec_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    found = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode or not found:
        raise SystemExit(f"the {side} side failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return dict(json.loads(found[-1][len(MARK) :]))


# -- DDP: 2 ranks against 1 process ---------------------------------------------------------------------------
def ddp_row(spec: dict[str, Any], workdir: Path, steps: int) -> dict[str, Any]:
    """Seconds per step of ``albert pretrain`` on 1 process (``--threads``) and under ``torchrun`` on 2 ranks (the
    package's default threads per rank: the cores divided among the ranks), the same global batch; skipped, with
    the reason, where either is not there."""
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    if not os.path.exists(torchrun):
        return {"skipped": "torchrun is not installed"}
    if importlib.util.find_spec("albert_model.training._distributed") is None:
        return {"skipped": "albert_model.training._distributed is not there yet: the package runs no DDP"}
    flags = [
        "pretrain",
        "--tokenizer", str(TOKENIZER),
        "--train", spec["train"],
        "--steps", str(steps),
        "--batch-size", str(spec["batch_size"]),
        "--max-seq-length", str(spec["max_seq_length"]),
        "--model-json", json.dumps(spec["model"]),
        "--eval-every", "0",
        "--log-every", "1",
        "--checkpoint-every", str(10**6),
        "--heldout-fraction", "0.01",
        "--no-progress",
    ]  # fmt: skip
    row: dict[str, Any] = {"steps": steps}
    for name, launcher in (
        ("1 process", [sys.executable, "-m", "albert_model"]),
        ("2 ranks", [torchrun, "--standalone", "--nproc-per-node", "2", "-m", "albert_model"]),
    ):
        output = workdir / f"ddp-{name.replace(' ', '-')}"
        threads = ["--threads", str(spec["threads"])] if name == "1 process" else []  # ranks: the package's split
        done = subprocess.run(
            [*launcher, *flags, *threads, "--output", str(output)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        if done.returncode:
            return {"skipped": f"{name} failed ({done.returncode}): {done.stderr.strip()[-600:]}"}
        metrics = json.loads((output / "training.json").read_text(encoding="utf-8"))["metrics"]
        row[name] = {
            "seconds_per_step": metrics["train_seconds"] / metrics["steps"],
            "world_size": metrics.get("world_size"),
            "threads_per_rank": metrics.get("threads"),
            "final_loss": metrics.get("final_loss"),
        }
    row["step_cost_ratio"] = row["2 ranks"]["seconds_per_step"] / row["1 process"]["seconds_per_step"]
    return row


# -- the report -------------------------------------------------------------------------------------------------
def table(results: dict[str, Any]) -> str:
    ours, theirs = results["ours"], results["transformers_trainer"]
    mb = 1 << 20
    rows = [
        "| | albert pretrain | transformers Trainer (run_mlm) | ours / Trainer |",
        "|---|---|---|---|",
        f"| real tokens / s | {ours['tokens_per_second']:.0f} | {theirs['tokens_per_second']:.0f} | "
        f"{results['speed_ratio']:.2f}x |",
        f"| tokens, steps | {ours['tokens']}, {ours['steps']} ({ours['padding_share']:.0%} padding) | "
        f"{theirs['tokens']}, {theirs['steps']} | |",
        f"| held-out masked-LM loss | {results['heldout_mlm_loss']['ours']:.3f} | "
        f"{results['heldout_mlm_loss']['transformers']:.3f} | |",
        f"| peak RSS (VmHWM) | {ours['VmHWM'] / mb:.0f} MiB | {theirs['VmHWM'] / mb:.0f} MiB | "
        f"{ours['VmHWM'] / theirs['VmHWM']:.2f}x |",
    ]
    ddp = results["ddp"]
    if "skipped" in ddp:
        rows.append(f"| DDP step cost | skipped: {ddp['skipped']} | | |")
    else:
        rows.append(
            f"| seconds / step: 2 ranks x {ddp['2 ranks']['threads_per_rank']} thread(s), 1 process x "
            f"{ddp['1 process']['threads_per_rank']} (same global batch) | {ddp['2 ranks']['seconds_per_step']:.3f}, "
            f"{ddp['1 process']['seconds_per_step']:.3f} | | {ddp['step_cost_ratio']:.2f}x |"
        )
    s = results["settings"]
    rows.append("")
    rows.append(
        f"{results['machine']}, torch {results['torch']}, transformers {results['transformers']}; "
        f"`{results['command']}`. Model {json.dumps(s['model'])}, batch {s['batch_size']} x {s['max_seq_length']}, "
        f"lr {s['learning_rate']}, {s['threads']} threads a side. Ours trains ALBERT's objective (masked LM with "
        f"n-grams + sentence order, padded sequences) on the Trainer's number of real tokens; the Trainer "
        f"run_mlm's (masked LM, full blocks); one evaluator scores both models' masked-LM loss on the same "
        f"held-out masks (ln 30000 = 10.31 is a uniform guess)."
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=30, help="the Trainer's steps; ours gets the same tokens")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--model-json", type=json.loads, default=MODEL, help="AlbertConfig fields of the model")
    parser.add_argument("--text-bytes", type=int, default=600_000, help="bytes of training text")
    parser.add_argument("--heldout-bytes", type=int, default=60_000, help="bytes of held-out text")
    parser.add_argument("--heldout-blocks", type=int, default=64, help="held-out blocks scored")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads of each side")
    parser.add_argument("--repeat", type=int, default=1, help="2: A B B A, each side's better rate kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ddp-steps", type=int, default=10, help="steps of each DDP run")
    parser.add_argument("--no-ddp", action="store_true", help="skip the 2-rank DDP row")
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--write-readme", action="store_true", help="write the table into docs/benchmarks.md")
    parser.add_argument("--side", choices=["ours", "transformers"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    if ns.side:  # a child: one side, its result on a marked line
        spec = json.loads(Path(ns.spec).read_text(encoding="utf-8"))
        result = side_ours(spec) if ns.side == "ours" else side_trainer(spec)
        print(MARK + json.dumps(result), flush=True)
        return 0
    import torch
    import transformers

    with tempfile.TemporaryDirectory(prefix="albert-bench-train-") as tmp:
        workdir = Path(tmp)
        train, heldout = write_text(workdir, ns.text_bytes, ns.heldout_bytes)
        spec = {
            "train": str(train),
            "heldout": str(heldout),
            "heldout_blocks": ns.heldout_blocks,
            "steps": ns.steps,
            "tokens": ns.steps * ns.batch_size * ns.max_seq_length,
            "batch_size": ns.batch_size,
            "max_seq_length": ns.max_seq_length,
            "learning_rate": ns.learning_rate,
            "model": ns.model_json,
            "threads": ns.threads,
            "seed": ns.seed,
        }
        sides = {"ours": "ours", "transformers": "transformers"}
        order = ["ours", "transformers"] + (["transformers", "ours"] if ns.repeat > 1 else [])
        runs: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
        for i, side in enumerate(order):
            output = workdir / f"{side}-{i}"
            print(f"bench.train: run {i + 1}/{len(order)}: {side}", file=sys.stderr, flush=True)
            runs[side].append(run_side(side, {**spec, "output": str(output)}, workdir))
            runs[side][-1]["directory"] = str(output)
        best = {s: max(r, key=lambda x: x["tokens_per_second"]) for s, r in runs.items()}
        losses = heldout_mlm_loss(spec, {s: runs[s][0]["directory"] for s in sides})
        ddp = {"skipped": "--no-ddp"} if ns.no_ddp else ddp_row(spec, workdir, ns.ddp_steps)
    for r in best.values():
        r.pop("directory", None)
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, cpu",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "command": " ".join(["python -m bench.train", *(argv if argv is not None else sys.argv[1:])]),
        "settings": {k: v for k, v in spec.items() if k not in ("train", "heldout")},
        "ours": best["ours"],
        "transformers_trainer": best["transformers"],
        "all_rates": {s: [r["tokens_per_second"] for r in runs[s]] for s in sides},
        "speed_ratio": best["ours"]["tokens_per_second"] / best["transformers"]["tokens_per_second"],
        "heldout_mlm_loss": losses,
        "ddp": ddp,
    }
    Path(ns.output).parent.mkdir(parents=True, exist_ok=True)
    Path(ns.output).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(table(results))
    if ns.write_readme:
        write_table("train", table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
