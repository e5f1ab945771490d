"""Masked-token accuracy of a pretrained checkpoint, in domain and out of domain, against the best constant guess.

    python -m bench.mlm_eval [--model DIR] [--train-files FILE...] [--write-readme]

Two held-out sets:

* in domain: the tail of each training file that ``albert pretrain`` keeps out of training (``heldout_fraction`` of
  its documents). The training files are read from the model directory's ``training.json`` (written by
  ``albert pretrain``) unless ``--train-files`` names them; rebuild them with ``scripts/build_pretrain_corpus.sh``.
* out of domain: the prose paragraphs of Python's standard-library documentation (``pydoc_data.topics``, which the
  corpus script keeps out of the training text): indented blocks (code, grammar), headings and short or
  symbol-heavy paragraphs are dropped, each topic is one document.

Masking is the pretraining collator's (15%, n-gram spans, 80/10/10) with a fixed seed. The constant guess always
predicts the most frequent masked token of the set (an upper bound for any constant). Not a test.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from bench._readme import write_table

ROOT = Path(__file__).resolve().parent.parent


def pydoc_documents(min_words: int = 8) -> list[list[str]]:
    """Prose paragraphs of ``pydoc_data.topics``, one document per topic, one paragraph per line."""
    from pydoc_data.topics import topics

    docs = []
    for name in sorted(topics):
        lines = []
        for para in re.split(r"\n\s*\n", topics[name]):
            rows = para.strip("\n").splitlines()
            if not rows or rows[0].startswith((" ", "\t")):  # code, grammar rules, indented examples
                continue
            if re.fullmatch(r"[*=\-~^#+]{3,}", rows[-1].strip()):  # a heading and its underline
                continue
            text = " ".join(para.split())
            if len(text.split()) < min_words or sum(c.isalpha() or c == " " for c in text) < 0.85 * len(text):
                continue
            lines.append(text)
        if lines:
            docs.append(lines)
    return docs


def _accuracy(model: Any, tokenizer: Any, docs: list[list[Any]], max_seq_length: int, seed: int) -> dict[str, Any]:
    import numpy as np

    from albert_model.training._pretrain import EVAL_SEED, evaluate
    from albert_model.training._pretraining_data import PretrainingCollator, make_examples

    examples = make_examples(docs, max_seq_length, np.random.default_rng([seed, 0, 2]))
    m = evaluate(model, PretrainingCollator.for_tokenizer(tokenizer, seed=EVAL_SEED), examples)
    m["constant_guess_token"] = tokenizer.convert_ids_to_tokens(m["constant_guess_token_id"])
    m["ratio_to_constant_guess"] = m["top1_accuracy"] / max(1e-9, m["constant_guess_accuracy"])
    m["sequences"] = len(examples)
    return m


def training_files(model_dir: str) -> tuple[list[str], dict[str, Any]]:
    path = Path(model_dir) / "training.json"
    if not path.is_file():
        raise SystemExit(f"{model_dir} has no training.json: pass --train-files (the files it was trained on)")
    args = json.loads(path.read_text())["args"]
    return list(args["train"]), args


def evaluate_model(
    model_dir: str,
    train_files: list[str] | None = None,
    heldout_fraction: float | None = None,
    max_seq_length: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    from albert_model import AlbertForPreTraining
    from albert_model.training._pretraining_data import load_corpus, tokenize_documents
    from albert_tok import AlbertTokenizerFast

    args: dict[str, Any] = {}
    if train_files is None:
        train_files, args = training_files(model_dir)
    missing = [f for f in train_files if not Path(f).is_file()]
    if missing:
        raise SystemExit(
            f"training files not found: {missing[:3]}...; rebuild them with scripts/build_pretrain_corpus.sh "
            f"or pass --train-files"
        )
    heldout_fraction = args.get("heldout_fraction", 0.05) if heldout_fraction is None else heldout_fraction
    max_seq_length = args.get("max_seq_length", 128) if max_seq_length is None else max_seq_length
    seed = args.get("seed", seed)
    tokenizer = AlbertTokenizerFast.from_pretrained(model_dir)
    model = AlbertForPreTraining.from_pretrained(model_dir)
    held = load_corpus(tokenizer, train_files, heldout_fraction).heldout
    ood = tokenize_documents(tokenizer, pydoc_documents())
    return {
        "model": str(model_dir),
        "train_files": [Path(f).name for f in train_files],
        "heldout_fraction": heldout_fraction,
        "max_seq_length": max_seq_length,
        "seed": seed,
        "in_domain": _accuracy(model, tokenizer, held, max_seq_length, seed),
        "out_of_domain": _accuracy(model, tokenizer, ood, max_seq_length, seed),
    }


def table(r: dict[str, Any]) -> str:
    rows = [
        "| held-out set | masked tokens | top-1 | top-5 | best constant guess (top-1) | top-1 vs constant guess |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, label in (
        ("in_domain", "in domain: tails of the training files"),
        ("out_of_domain", "out of domain: Python docs prose (`pydoc_data.topics`)"),
    ):
        m = r[key]
        rows.append(
            f"| {label} | {m['masked_tokens']} | {m['top1_accuracy']:.1%} | {m['top5_accuracy']:.1%} | "
            f"{m['constant_guess_accuracy']:.1%} (always `{m['constant_guess_token']}`) | "
            f"{m['ratio_to_constant_guess']:.2f}x |"
        )
    rows += [
        "",
        (
            f"Model {Path(r['model']).name}; in domain: the last {r['heldout_fraction']:.0%} of the documents of "
            f"{', '.join(r['train_files'])} ({r['in_domain']['sequences']} sequences); out of domain: "
            f"{r['out_of_domain']['sequences']} sequences of the standard-library documentation's prose, never "
            f"trained on. Sequences of up to {r['max_seq_length']} tokens, 15% n-gram masking, seed 12345."
        ),
    ]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mlm_eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    parser.add_argument("--train-files", nargs="+", default=None)
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "results" / "mlm_eval.json"))
    parser.add_argument("--from-json", default=None, help="render the table of an earlier run's JSON (no evaluation)")
    args = parser.parse_args()
    if args.from_json:
        r = json.loads(Path(args.from_json).read_text())
    else:
        from albert_model.checkpoints._shipped import DEFAULT_MODEL

        r = evaluate_model(args.model or DEFAULT_MODEL, args.train_files)
        Path(args.json_out).parent.mkdir(exist_ok=True)
        Path(args.json_out).write_text(json.dumps(r, indent=2) + "\n")
    text = table(r)
    print(text)
    if args.write_readme:
        write_table("mlm_eval", text)


if __name__ == "__main__":
    main()
