"""Held-out masked-token accuracy of a pretrained checkpoint against the best constant guess.

    python bench/mlm_eval.py [--model DIR] [--write-readme]

The held-out text is the tail of each shared corpus that `albert pretrain` keeps out of training
(``heldout_fraction`` of the documents; the tail lines of a one-document file). Masking is the
pretraining collator's (15%, n-gram spans, 80/10/10) with a fixed seed. The constant guess always
predicts the most frequent masked token of the held-out set (an upper bound for any constant). Not a test.
"""

from __future__ import annotations

import os
import sys

# bench/tokenize.py is named like the standard library's ``tokenize``: keep bench/ off the import path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPORA = sorted((ROOT.parent / "shared" / "corpora").glob("*.txt"))


def evaluate(model_dir: str, corpora: list[str], heldout_fraction: float = 0.05, seed: int = 0,
             max_seq_length: int = 64) -> dict:
    import numpy as np

    from albert_model import AlbertForPreTraining
    from albert_model.pretrain import masked_token_accuracy
    from albert_model.pretraining_data import PretrainingCollator, load_corpus, make_examples
    from albert_tok import AlbertTokenizerFast

    tokenizer = AlbertTokenizerFast.from_pretrained(model_dir)
    held = make_examples(load_corpus(tokenizer, corpora, heldout_fraction).heldout, max_seq_length,
                         np.random.default_rng([seed, 0, 2]))
    model = AlbertForPreTraining.from_pretrained(model_dir, strict=False)
    collator = PretrainingCollator.for_tokenizer(tokenizer, seed=12345)
    metrics = masked_token_accuracy(model, collator, held)
    metrics["constant_guess_token"] = tokenizer.convert_ids_to_tokens(metrics["constant_guess_token_id"])
    metrics["ratio_to_constant_guess"] = metrics["top1_accuracy"] / max(1e-9, metrics["constant_guess_accuracy"])
    metrics["heldout_examples"] = len(held)
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--max-seq-length", type=int, default=64, help="as in training (the default model: 64)")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    from albert_model.pipelines import DEFAULT_MODEL

    model_dir = args.model or DEFAULT_MODEL
    m = evaluate(model_dir, [str(p) for p in CORPORA], max_seq_length=args.max_seq_length)
    table = "\n".join([
        "| held-out masked tokens | model top-1 | best constant guess | ratio |", "|---:|---:|---:|---:|",
        f"| {m['masked_tokens']} | {m['top1_accuracy']:.1%} | {m['constant_guess_accuracy']:.1%} "
        f"(always `{m['constant_guess_token']}`) | {m['ratio_to_constant_guess']:.2f}x |",
        "", f"Model {Path(model_dir).name}; held-out tails of {', '.join(p.name for p in CORPORA)} "
            f"({m['heldout_examples']} sequences of up to {args.max_seq_length} tokens), 15% n-gram masking, seed 12345."])
    print(table)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "mlm_eval.json").write_text(json.dumps(m, indent=2) + "\n")
    if args.write_readme:
        from bench._readme import write_table

        write_table("mlm_eval", table)


if __name__ == "__main__":
    main()
