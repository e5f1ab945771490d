"""Variable-length batches: AlbertModel padded against ``attn_implementation="varlen"`` (real tokens packed) and
transformers' sdpa, same weights, same run.

    python -m bench.varlen [--batches 16x8-128 8x16-512] [--repeat 3] [--device cpu] [--dtype float32]
                           [--write-readme]

albert-base-v2 shapes with random weights (seed 0), saved once and loaded by both libraries. Each batch
draws its lengths uniformly between the two bounds (seed 0) and is padded on the right to its longest row.
The three implementations take turns ``--repeat`` times; the fastest run of each is kept. Prints the table
(docs/benchmarks.md markers ``bench:varlen``) and writes bench/results/varlen-<device>.json. On the CPU the packed path
computes no projection, feed-forward or LayerNorm for padding and pads the batch again for attention alone;
on CUDA in float16/bfloat16 attention runs FlashAttention's varlen kernel (bench/gpu.py measures that).
Not a test.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from bench._timing import interleaved_best

ROOT = Path(__file__).resolve().parent.parent


def batch(spec: str, vocab: int, seed: int) -> tuple[Any, Any]:
    """``"16x8-128"``: 16 rows of 8..128 tokens, right-padded; (input_ids, attention_mask)."""
    import torch

    rows, bounds = spec.split("x")
    lo, hi = (int(v) for v in bounds.split("-"))
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(lo, hi + 1, (int(rows),), generator=g)
    mask = (torch.arange(int(lengths.max()))[None, :] < lengths[:, None]).long()
    return torch.randint(5, vocab, mask.shape, generator=g) * mask, mask


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.varlen", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", nargs="*", default=["16x8-128", "8x16-512"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()

    import torch
    import transformers

    from albert_model import AlbertConfig, AlbertModel

    warnings.filterwarnings("ignore")
    dtype = getattr(torch, args.dtype)
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        AlbertModel(AlbertConfig.base()).save_pretrained(tmp)
        ours = AlbertModel.from_pretrained(tmp, dtype=dtype, device=args.device).eval()
        ref = (
            transformers.AlbertModel.from_pretrained(tmp, attn_implementation="sdpa", dtype=dtype)
            .to(args.device)
            .eval()
        )

    def forward(impl: str, ids: Any, mask: Any) -> Any:
        if impl == "transformers":
            return ref(input_ids=ids, attention_mask=mask).last_hidden_state
        ours.set_attn_implementation("sdpa" if impl == "padded" else "varlen")
        return ours(input_ids=ids, attention_mask=mask).last_hidden_state

    def sync() -> None:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    rows = []
    for i, spec in enumerate(args.batches):
        ids, mask = (t.to(args.device) for t in batch(spec, ours.config.vocab_size, seed=i))
        keep = mask.bool()
        with torch.inference_mode():
            best, outputs = interleaved_best(
                {impl: functools.partial(forward, impl, ids, mask) for impl in ("padded", "varlen", "transformers")},
                args.repeat,
                sync=sync,
            )
        rows.append(
            {
                "batch": spec,
                "rows": len(ids),
                "padded_length": ids.shape[1],
                "tokens": int(keep.sum()),
                "seconds": best,
                "varlen_speedup_vs_padded": best["padded"] / best["varlen"],
                "varlen_speedup_vs_transformers": best["transformers"] / best["varlen"],
                "max_abs_diff_varlen_vs_padded": float((outputs["varlen"] - outputs["padded"])[keep].abs().max()),
                "max_abs_diff_varlen_vs_transformers": float(
                    (outputs["varlen"] - outputs["transformers"])[keep].abs().max()
                ),
            }
        )

    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores"
        if args.device == "cpu"
        else torch.cuda.get_device_name(args.device)
    )
    table = [
        (
            "| batch (rows x lengths) | real tokens / positions | padded ms | varlen ms | transformers sdpa ms | "
            "varlen speed vs padded / vs transformers | max abs diff vs padded / vs transformers |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s = r["seconds"]
        table.append(
            f"| {r['batch']} | {r['tokens']} / {r['rows'] * r['padded_length']} | {s['padded'] * 1e3:.0f} | "
            f"{s['varlen'] * 1e3:.0f} | {s['transformers'] * 1e3:.0f} | "
            f"{r['varlen_speedup_vs_padded']:.2f}x / {r['varlen_speedup_vs_transformers']:.2f}x | "
            f"{r['max_abs_diff_varlen_vs_padded']:.1e} / {r['max_abs_diff_varlen_vs_transformers']:.1e} |"
        )
    table += [
        "",
        (
            f"albert-base-v2 shapes, random weights, {args.dtype} on {args.device} ({machine}), torch "
            f"{torch.__version__}, transformers {transformers.__version__}; fastest of {args.repeat} "
            f"interleaved runs; `python -m bench.varlen`."
        ),
    ]
    text = "\n".join(table)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"varlen-{args.device.split(':')[0]}.json").write_text(
        json.dumps(
            {
                "command": "python -m bench.varlen " + " ".join(sys.argv[1:]),
                "device": args.device,
                "machine": machine,
                "dtype": args.dtype,
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    if args.write_readme:
        from bench._readme import write_table

        write_table("varlen", text)


if __name__ == "__main__":
    main()
