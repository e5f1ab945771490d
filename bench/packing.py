"""CPU inference on packed weights (``model.set_weight_packing(True)``, what ``albert serve`` runs) against the
same model on ``F.linear`` and against transformers' ``AlbertForMaskedLM``, same weights, same ids.

    python -m bench.packing [--base] [--threads 1] [--sentences 64] [--repeat 5] [--write-readme]

Cells: one sentence per call (the served request: the fill-mask forward of one sentence, logits at its mask
only where the model can, all positions for transformers), and batches of 32 sentences padded to the longest.
The three implementations take turns in each round and the best round counts (the machine is shared). Also
printed: the largest difference of the packed model's logits from ``F.linear``'s, relative to the logits'
largest magnitude. ``--base``: an albert-base-v2-shaped model with random weights instead of the shipped
model. Writes bench/results/packing.json (packing-base.json); ``--write-readme`` puts the table into
docs/benchmarks.md. Not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path
from typing import Any

from bench._timing import fastest, interleaved_runs

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.packing", description=__doc__)
    parser.add_argument("--base", action="store_true", help="an albert-base-v2-shaped model, random weights")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the server's default: 1)")
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write-readme", action="store_true", help="put the table into docs/benchmarks.md")
    args = parser.parse_args()

    import torch
    import transformers

    from albert_model import AlbertConfig, AlbertForMaskedLM
    from albert_model.checkpoints import DEFAULT_MODEL
    from albert_tok import AlbertTokenizer
    from bench.pipeline import sentences

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = DEFAULT_MODEL
        if args.base:
            model_dir = str(Path(tmp) / "albert-base-v2-shape")
            torch.manual_seed(0)
            AlbertForMaskedLM(AlbertConfig.base()).save_pretrained(model_dir)
        ours = AlbertForMaskedLM.from_pretrained(model_dir).eval()
        packed = AlbertForMaskedLM.from_pretrained(model_dir).eval()
        packed.set_weight_packing(True)
        theirs = transformers.AlbertForMaskedLM.from_pretrained(model_dir).eval()
    tokenizer = AlbertTokenizer.from_pretrained(DEFAULT_MODEL)
    texts = sentences(args.sentences)
    singles = [tokenizer(t, return_tensors="pt") for t in texts]
    batches = [tokenizer(texts[i : i + 32], padding=True, return_tensors="pt") for i in range(0, len(texts), 32)]

    def at_masks(model: Any, encoded: Any) -> Any:
        where = encoded["input_ids"] == tokenizer.mask_token_id
        return model(**encoded, masked_positions=where).logits

    def run(fn: Any, inputs: list[Any]) -> Any:
        def go() -> list[Any]:
            with torch.inference_mode():
                return [fn(x) for x in inputs]

        return go

    cells: dict[str, Any] = {}
    for cell, inputs in (("one sentence per call", singles), ("batches of 32", batches)):
        runs, outputs = interleaved_runs(
            {
                "packed": run(lambda x: at_masks(packed, x), inputs),
                "F.linear": run(lambda x: at_masks(ours, x), inputs),
                "transformers": run(lambda x: theirs(**x).logits, inputs),
            },
            repeat=args.repeat,
            order_seed=0,
        )
        best = fastest(runs)
        drift = max(
            float((a - b).abs().max() / b.abs().max())
            for a, b in zip(outputs["packed"], outputs["F.linear"], strict=True)
        )
        cells[cell] = {
            "calls": len(inputs),
            "ms_per_call": {name: 1000 * seconds / len(inputs) for name, seconds in best.items()},
            "packed_vs_f_linear": best["F.linear"] / best["packed"],
            "packed_vs_transformers": best["transformers"] / best["packed"],
            "f_linear_vs_transformers": best["transformers"] / best["F.linear"],
            "max_relative_logit_difference": drift,
        }
        print(
            f"{cell:22s} packed {cells[cell]['ms_per_call']['packed']:7.2f} ms/call   "
            f"{cells[cell]['packed_vs_f_linear']:.2f}x F.linear   "
            f"{cells[cell]['packed_vs_transformers']:.2f}x transformers "
            f"(F.linear {cells[cell]['f_linear_vs_transformers']:.2f}x)   max logit difference {drift:.1e}",
            flush=True,
        )
    result = {
        "command": "python -m bench.packing" + (" --base" if args.base else "") + f" --threads {args.threads}",
        "machine": {"platform": platform.platform(), "processor": _processor()},
        "model": "albert-base-v2 shape (random weights)" if args.base else Path(model_dir).name,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "threads": args.threads,
        "cells": cells,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("packing-base.json" if args.base else "packing.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    if args.write_readme:
        from bench._readme import write_table

        write_table("packing-base" if args.base else "packing", _table(result))


def _table(result: dict[str, Any]) -> str:
    rows = [
        "| call | packed ms | F.linear ms | transformers ms | packed vs F.linear / vs transformers "
        "| max logit difference (relative) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for cell, r in result["cells"].items():
        ms = r["ms_per_call"]
        rows.append(
            f"| {cell} | {ms['packed']:.2f} | {ms['F.linear']:.2f} | {ms['transformers']:.2f} "
            f"| {r['packed_vs_f_linear']:.2f}x / {r['packed_vs_transformers']:.2f}x "
            f"| {r['max_relative_logit_difference']:.1e} |"
        )
    rows.append(
        f"\n{result['model']}, float32, {result['threads']} thread(s) on {result['machine']['processor']}, "
        f"torch {result['torch']}, transformers {result['transformers']}; fastest of interleaved rounds; "
        f"`{result['command']}`."
    )
    return "\n".join(rows)


def _processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
