"""Copy a finished `albert pretrain` output into albert_model/default_model with its model card.

    python -m scripts.export_default_model OUTPUT_DIR --command-file RUN_SH [--sources SOURCES.json]

Weights are stored in float16 (the directory must stay under 30 MB; loading gives float32 unless a dtype is
asked for). The card records the data (scripts/corpus_sources.md and the corpus build's SOURCES.json), the
command, the budget, the tokens seen, the hardware and wall time, both evaluations of bench.mlm_eval
(held-out tails of the training files and out-of-domain Python documentation prose) and the loss curve
(training.json, plotted to loss_curve.png when matplotlib is installed).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "albert_model" / "default_model"
TOKENIZER_FILES = ["spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
MAX_MB = 30.0


def export_weights(src: Path, dst: Path) -> None:
    """config.json + float16 model.safetensors (the config keeps float32 as the dtype a plain load gives)."""
    import torch

    from albert_model import AlbertForPreTraining

    model = AlbertForPreTraining.from_pretrained(src)
    model.to(torch.float16).save_pretrained(dst)
    config = json.loads((dst / "config.json").read_text())
    config.pop("torch_dtype", None)
    config.pop("dtype", None)
    (dst / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def plot(training: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    hist, evals = training["history"], training["evals"]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    ax.plot([h["tokens"] / 1e6 for h in hist], [h["loss"] for h in hist], lw=0.6, alpha=0.6, label="training loss")
    ax.plot([e["tokens"] / 1e6 for e in evals], [e["loss"] for e in evals], "o-", ms=3, label="held-out loss")
    ax.set_xlabel("tokens seen (millions)")
    ax.set_ylabel("MLM + SOP loss")
    ax.grid(alpha=0.3)
    ax.legend()
    ax2 = ax.twinx()
    ax2.plot(
        [e["tokens"] / 1e6 for e in evals],
        [100 * e["top1_accuracy"] for e in evals],
        "s--",
        ms=2,
        color="tab:green",
        label="held-out masked top-1 (%)",
    )
    ax2.set_ylabel("held-out masked top-1 (%)", color="tab:green")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def curve_table(training: dict[str, Any], points: int = 10) -> str:
    evals = training["evals"]
    step = max(1, len(evals) // points)
    picked = evals[::step] + ([evals[-1]] if (len(evals) - 1) % step else [])
    rows = ["| tokens seen | step | held-out loss | held-out masked top-1 |", "|---:|---:|---:|---:|"]
    rows += [f"| {e['tokens'] / 1e6:.1f}M | {e['step']} | {e['loss']:.3f} | {e['top1_accuracy']:.1%} |" for e in picked]
    return "\n".join(rows)


def _parameter_count(config: dict[str, Any]) -> int:
    from albert_model import AlbertConfig, AlbertForPreTraining

    return int(AlbertForPreTraining(AlbertConfig.from_dict(config)).num_parameters())


def card(
    training: dict[str, Any],
    evals: dict[str, Any],
    config: dict[str, Any],
    command: str,
    sources: dict[str, Any],
    size_mb: float,
    has_plot: bool,
    history_note: str = "",
) -> str:
    from bench.mlm_eval import table

    a, m = training["args"], training["metrics"]
    groups = config["num_hidden_groups"]
    sharing = "no sharing (one group per layer)" if groups == config["num_hidden_layers"] else f"{groups} shared groups"
    rows = ["| file | source | licence | MB |", "|---|---|---|---:|"]
    for name, s in sorted(sources.get("files", {}).items(), key=lambda kv: -kv[1]["bytes"]):
        rows.append(f"| `{name}` | {s.get('source', '')} | {s.get('licence', '')} | {s['bytes'] / 1e6:.2f} |")
    hours = m["wall_seconds"] / 3600
    minutes = m.get("train_seconds", m["wall_seconds"]) / 60
    params = _parameter_count(config)
    if a.get("max_minutes"):
        budget = f"{a['max_minutes']} minutes of training (the schedule follows the clock)"
    elif a.get("max_tokens"):
        budget = f"{a['max_tokens'] / 1e6:.0f}M tokens"
    else:
        budget = f"{a['steps']} steps"
    return f"""# albert-small-english (the package's offline default model)

A small ALBERT pretrained from scratch by this package's own `albert pretrain` (masked LM with n-gram
masking, n <= 3, plus sentence-order prediction) on {sources.get("total_mb", 0):.0f} MB of varied English that
anyone can
rebuild from packages installable by name (`bash scripts/build_pretrain_corpus.sh`), with the real albert-base-v2
vocabulary (`spiece.model`, 30000 pieces), so its tokenizer is the real ALBERT tokenizer. It is what `albert
fill-mask` and `pipeline("fill-mask")` use when no model is named. It is a small model ({params / 1e6:.1f}M
parameters) trained for {minutes:.1f} minutes on {m["machine"]}: far weaker than albert-base-v2 (point `--model` at a
real checkpoint directory for real answers), but it knows some English. It has only the pretraining heads:
fine-tune it (`albert finetune`) for a task.

## Architecture

ALBERT with embeddings {config["embedding_size"]}, hidden {config["hidden_size"]}, {config["num_hidden_layers"]} layers
with {sharing}, {config["num_attention_heads"]} heads, feed-forward {config["intermediate_size"]},
`{config["hidden_act"]}`;
{size_mb:.1f} MB on disk (weights stored in float16; `from_pretrained` gives float32 unless asked otherwise).
Why this shape: the shipped directory must stay under 30 MB, so the weights must stay under about 14M parameters
(float16). ALBERT's factorised embeddings (30000 x {config["embedding_size"]} instead of 30000 x
{config["hidden_size"]}) and
layer sharing ({groups} groups for {config["num_hidden_layers"]} layers) buy depth and width within that size;
sharing saves
parameters, not compute, which a GPU has to spare for a model this small.

## Data

{chr(10).join(rows)}

Built by `python -m scripts.build_pretrain_corpus` (standard library, deterministic): one file per source, one
sentence per line, documents separated by blank lines, de-duplicated; Python's documentation and anything
derived from it is kept out (it is the out-of-domain test below). The last {a["heldout_fraction"]:.0%} of each
file's documents is held out. Details and credits: `scripts/corpus_sources.md`. Credit lines: WordNet 3.0
Copyright 2006 by Princeton University; GCIDE (GNU); FOLDOC, editor Denis Howe; WikiText-2 (Merity et al.) from
Wikipedia, CC BY-SA 3.0; The Debian Administrator's Handbook by Raphael Hertzog and Roland Mas; Brown Corpus by
W. N. Francis and H. Kucera, Brown University.

## Recipe and budget

- Command (run from a checkout of this repository; `python -m albert_model` is the `albert` command):

```bash
{command.strip()}
```

- Budget: {budget}; seen: {m["tokens_seen"] / 1e6:.2f}M tokens (non-padding) in {m["steps"]} steps
  ({m["epochs"] + 1} passes over the {m["train_tokens"] / 1e6:.1f}M training tokens, sentence-order pairs re-drawn
  each pass).
- Batch {a["batch_size"]} x up to {a["max_seq_length"]} tokens, AdamW (weight decay {a["weight_decay"]}, none on
  biases and
  LayerNorms), peak learning rate {a["learning_rate"]}, linear warm-up over {a["warmup_fraction"]:.0%} of the
  budget then linear
  decay to 0, gradient clipping {a["max_grad_norm"]}, masking {a["mlm_probability"]:.0%}, seed {a["seed"]}.
- Hardware: {m["machine"]}, torch {m.get("torch", "?")}, precision {m.get("precision", "fp32")}; {minutes:.1f}
  minutes of
  training ({m["tokens_seen"] / max(1.0, m.get("train_seconds", m["wall_seconds"])):,.0f} tokens/s),
  {hours * 60:.1f} minutes of wall time
  with start-up and evaluations.{history_note}
- Final training loss {m["final_loss"]:.3f}; held-out loss {training["evals"][-1]["loss"]:.3f} on the periodic
  {a["eval_examples"]}-sequence sample, {m["loss"]:.3f} on all {m["heldout_examples"]} held-out sequences.

## Evaluation (`python -m bench.mlm_eval`)

{table(evals)}

Targets set for this model: at least 2.5x the constant guess out of domain and 4x in domain (top-1).

## Loss curve

{"![loss curve](loss_curve.png)" if has_plot else ""}

{curve_table(training)}

`training.json` beside this card has every logged point (training loss every {a["log_every"]} steps, held-out loss
and accuracy every {a["eval_every"]} steps).

Licence: the weights are released under Apache-2.0 like the vocabulary. Parts of the training text are GPL-2+
(GCIDE, the Debian documentation), GFDL (FOLDOC) or CC BY-SA 3.0 (WikiText-2), credited above.
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.export_default_model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("output", help="the `albert pretrain --output` directory")
    parser.add_argument(
        "--command-file", required=True, help="the script that ran the training (its text goes in the card)"
    )
    parser.add_argument("--sources", default="/work/corpus/SOURCES.json", help="the corpus build's SOURCES.json")
    parser.add_argument("--target", default=str(TARGET), help="where to write (default: the shipped model's directory)")
    parser.add_argument(
        "--note", default="", help="a sentence for the card's recipe section (e.g. how the run was launched)"
    )
    args = parser.parse_args()
    target = Path(args.target)
    src = Path(args.output)
    training = json.loads((src / "training.json").read_text())
    staging = target.with_name(f".{target.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    export_weights(src, staging)
    for name in TOKENIZER_FILES:
        shutil.copy(src / name, staging / name)
    (staging / "training.json").write_text(json.dumps(training, indent=1) + "\n")
    from bench.mlm_eval import evaluate_model

    evals = evaluate_model(str(staging))
    evals["model"] = "default_model"
    (ROOT / "bench" / "results" / "mlm_eval.json").write_text(json.dumps(evals, indent=2) + "\n")
    has_plot = plot(training, staging / "loss_curve.png")
    raw = json.loads(Path(args.sources).read_text()) if Path(args.sources).is_file() else {}
    sources = {
        "total_mb": raw.get("total", {}).get("bytes", 0) / 1e6,
        "files": {
            s["file"]: {
                "bytes": s["bytes"],
                "licence": s["licence"],
                "source": f"{s['description']} ({s['package']} {s['version']})",
            }
            for s in raw.get("files", [])
        },
    }
    size_mb = sum(p.stat().st_size for p in staging.iterdir()) / 1e6
    text = card(
        training,
        evals,
        json.loads((staging / "config.json").read_text()),
        Path(args.command_file).read_text(),
        sources,
        size_mb,
        has_plot,
        (" " + args.note) if args.note else "",
    )
    (staging / "README.md").write_text(text)
    size_mb = sum(p.stat().st_size for p in staging.iterdir()) / 1e6
    if size_mb > MAX_MB:
        raise SystemExit(f"the exported directory is {size_mb:.1f} MB, over the {MAX_MB} MB limit")
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    print(text)


if __name__ == "__main__":
    main()
