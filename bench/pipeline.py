"""fill-mask pipeline speed against transformers' pipeline("fill-mask", batch_size=32), same checkpoint.

    python bench/pipeline.py [--model DIR] [--sentences 300] [--write-readme]

Sentences are lines of the shared corpora (variable length), each with one word replaced by [MASK].
Both pipelines return top-5; the script checks that their top-1 tokens agree. Not a test.
"""

from __future__ import annotations

import os
import sys


import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPORA = sorted((ROOT.parent / "shared" / "corpora").glob("*.txt"))


def sentences(count: int, seed: int = 0) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(seed)
    lines = [line.strip() for p in CORPORA for line in p.read_text(encoding="utf-8").split("\n")]
    lines = [line for line in lines if 4 <= len(line.split()) <= 60 and "<unk>" not in line and "[" not in line]
    out = []
    for i in rng.choice(len(lines), count, replace=False):
        words = lines[i].split()
        words[int(rng.integers(len(words)))] = "[MASK]"
        out.append(" ".join(words))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="checkpoint directory (default: the shipped model)")
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    import torch
    import transformers

    from albert_model.pipelines import DEFAULT_MODEL, pipeline

    model_dir = args.model or DEFAULT_MODEL
    texts = sentences(args.sentences)
    ours = pipeline("fill-mask", model=model_dir, batch_size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = transformers.pipeline("fill-mask", model=model_dir, tokenizer=model_dir, device="cpu")

    def best(fn):
        times, out = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return min(times), out

    ours(texts[:8])  # warm-up
    ref(texts[:8], batch_size=32, top_k=5)
    t_ours, r_ours = best(lambda: ours(texts, top_k=5))
    t_ref, r_ref = best(lambda: ref(texts, batch_size=32, top_k=5))
    agree = sum(a[0]["token"] == b[0]["token"] for a, b in zip(r_ours, r_ref)) / len(texts)
    result = {"sentences": len(texts), "albert_model_s": t_ours, "transformers_s": t_ref, "speedup": t_ref / t_ours,
              "top1_agreement": agree, "transformers": transformers.__version__, "torch": torch.__version__,
              "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    table = "\n".join([
        "| pipeline (fill-mask, top-5, batch 32) | seconds | sentences/s | speed vs transformers |",
        "|---|---:|---:|---:|",
        f"| albert_model.pipeline | {t_ours:.2f} | {len(texts) / t_ours:.0f} | {t_ref / t_ours:.2f}x |",
        f"| transformers {transformers.__version__} pipeline | {t_ref:.2f} | {len(texts) / t_ref:.0f} | 1.00x |",
        "",
        f"{len(texts)} variable-length corpus sentences, one [MASK] each, model {Path(model_dir).name}, best of "
        f"{args.repeat}, {result['machine']}, torch {torch.__version__}; top-1 tokens agree on {agree:.1%}."])
    print(table)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "pipeline.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.write_readme:
        from bench._readme import write_table

        write_table("pipeline", table)


if __name__ == "__main__":
    main()
