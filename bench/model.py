"""Forward latency and peak memory of AlbertModel against transformers (eager and sdpa), same weights.

    python bench/model.py [--shapes 1x16 8x128 4x512] [--repeat 5] [--dtype float32] [--write-readme]

albert-base-v2 shapes (random weights), CPU unless --device cuda. Each (implementation, shape) runs in
its own process so that peak memory (max RSS growth during the forward, or CUDA peak allocation) is
its own. Prints ratios against transformers sdpa; writes bench/results/model.json. Not a test.
"""

from __future__ import annotations

import os
import sys

# bench/tokenize.py is named like the standard library's ``tokenize``: keep bench/ off the import path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORKER = r"""
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import torch
impl, directory, batch, length, repeat, dtype, device = sys.argv[1:8]
batch, length, repeat, dtype = int(batch), int(length), int(repeat), getattr(torch, dtype)
torch.manual_seed(0)
if impl == "albert_model":
    import albert_model
    model = albert_model.AlbertModel.from_pretrained(directory, dtype=dtype, device=device)
else:
    import transformers
    model = transformers.AlbertModel.from_pretrained(directory, attn_implementation=impl, torch_dtype=dtype).to(device)
model.eval()
ids = torch.randint(5, 30000, (batch, length), generator=torch.Generator().manual_seed(0)).to(device)
mask = torch.ones(batch, length, dtype=torch.long, device=device)
mask[0, length // 2:] = 0  # a padded row, as in real batches
def run():
    with torch.inference_mode():
        out = model(input_ids=ids, attention_mask=mask).last_hidden_state
    if device == "cuda":
        torch.cuda.synchronize()
    return out
run()  # warm-up
if device == "cuda":
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(repeat):
    t0 = time.perf_counter(); out = run(); times.append(time.perf_counter() - t0)
peak = (torch.cuda.max_memory_allocated() - base) if device == "cuda" else \
    (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024
torch.save(out.float().cpu()[:, :4, :4], sys.argv[8])
print(json.dumps({"median_s": sorted(times)[len(times) // 2], "peak_bytes": peak}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", nargs="*", default=["1x16", "8x128", "4x512"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    import torch

    import albert_model

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        albert_model.AlbertModel(albert_model.AlbertConfig.base()).save_pretrained(tmp)
        for shape in args.shapes:
            batch, length = (int(x) for x in shape.split("x"))
            row = {"shape": f"b{batch}·L{length}"}
            outs = {}
            for impl in ("albert_model", "sdpa", "eager"):
                out_path = os.path.join(tmp, f"{impl}.pt")
                proc = subprocess.run([sys.executable, "-c", WORKER, impl, tmp, str(batch), str(length),
                                       str(args.repeat), args.dtype, args.device, out_path],
                                      capture_output=True, text=True, cwd=ROOT)
                if proc.returncode:
                    raise SystemExit(f"{impl} {shape} failed:\n{proc.stderr[-2000:]}")
                row[impl] = json.loads(proc.stdout.strip().splitlines()[-1])
                outs[impl] = torch.load(out_path)
            row["max_abs_diff_vs_sdpa"] = float((outs["albert_model"] - outs["sdpa"]).abs().max())
            results.append(row)
            print(json.dumps(row))
    lines = [f"| shape ({args.dtype}, {args.device}) | albert_model ms | transformers sdpa ms | transformers eager ms "
             f"| speed vs sdpa | speed vs eager | peak mem vs sdpa | max abs diff |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        ours, sdpa, eager = r["albert_model"], r["sdpa"], r["eager"]
        mem = (f"{ours['peak_bytes'] / sdpa['peak_bytes']:.2f}x" if sdpa["peak_bytes"] > 0 else "n/a")
        lines.append(f"| {r['shape']} | {ours['median_s'] * 1e3:.1f} | {sdpa['median_s'] * 1e3:.1f} | "
                     f"{eager['median_s'] * 1e3:.1f} | {sdpa['median_s'] / ours['median_s']:.2f}x | "
                     f"{eager['median_s'] / ours['median_s']:.2f}x | {mem} | {r['max_abs_diff_vs_sdpa']:.1e} |")
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.machine()}, {os.cpu_count()} cores"
    lines += ["", f"albert-base-v2 shapes, random weights, median of {args.repeat} after a warm-up, {device}, "
                  f"torch {torch.__version__}. Peak memory: growth of max RSS during the timed forwards "
                  f"(CPU) or peak CUDA allocation; 'n/a' where the reference's growth was zero."]
    table = "\n".join(lines)
    print(table)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"model-{args.device}-{args.dtype}.json").write_text(json.dumps(results, indent=2) + "\n")
    if args.write_readme:
        from bench._readme import write_table

        write_table(f"model-{args.device}", table)


if __name__ == "__main__":
    main()
