"""Forward latency and peak memory of AlbertModel against transformers (eager and sdpa), same weights.

    python bench/model.py [--shapes 1x16 8x128 4x512] [--repeat 5] [--dtype float32] [--write-readme]

albert-base-v2 shapes (random weights), CPU unless --device cuda. Each (implementation, shape) runs in
its own process so that peak memory (max RSS growth during the forward, or CUDA peak allocation) is
its own. Prints ratios against transformers sdpa; writes bench/results/model.json. Not a test.
"""

from __future__ import annotations

import os
import sys


import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORKER = r"""
import json, sys, time, warnings
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
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
run()  # warm-up
if device == "cuda":
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
else:
    with open("/proc/self/clear_refs", "w") as fh:  # resets the peak RSS (VmHWM) to the current RSS
        fh.write("5")
    rss0 = status("VmRSS")
times = []
for _ in range(repeat):
    t0 = time.perf_counter(); out = run(); times.append(time.perf_counter() - t0)
peak = (torch.cuda.max_memory_allocated() - base) if device == "cuda" else max(0, status("VmHWM") - rss0)
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
            # small shapes take milliseconds and feel the order of runs: run the three twice, keep the best
            rounds = 2 if batch * length <= 256 else 1
            for impl in ("albert_model", "sdpa", "eager") * rounds:
                out_path = os.path.join(tmp, f"{impl}.pt")
                # small shapes take milliseconds: more repeats so that the median is stable
                repeat = args.repeat * (6 if batch * length <= 256 else 1)
                proc = subprocess.run([sys.executable, "-c", WORKER, impl, tmp, str(batch), str(length),
                                       str(repeat), args.dtype, args.device, out_path],
                                      capture_output=True, text=True, cwd=ROOT)
                if proc.returncode:
                    raise SystemExit(f"{impl} {shape} failed:\n{proc.stderr[-2000:]}")
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                if impl not in row or result["median_s"] < row[impl]["median_s"]:
                    row[impl] = result
                outs[impl] = torch.load(out_path)
            row["max_abs_diff_vs_sdpa"] = float((outs["albert_model"] - outs["sdpa"]).abs().max())
            results.append(row)
            print(json.dumps(row))
    lines = [f"| shape ({args.dtype}, {args.device}) | albert_model ms | transformers sdpa ms | transformers eager ms "
             f"| speed vs sdpa | speed vs eager | peak MB (ours / sdpa / eager) | max abs diff |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        ours, sdpa, eager = r["albert_model"], r["sdpa"], r["eager"]
        mem = f"{ours['peak_bytes'] / 1e6:.0f} / {sdpa['peak_bytes'] / 1e6:.0f} / {eager['peak_bytes'] / 1e6:.0f}"
        lines.append(f"| {r['shape']} | {ours['median_s'] * 1e3:.1f} | {sdpa['median_s'] * 1e3:.1f} | "
                     f"{eager['median_s'] * 1e3:.1f} | {sdpa['median_s'] / ours['median_s']:.2f}x | "
                     f"{eager['median_s'] / ours['median_s']:.2f}x | {mem} | {r['max_abs_diff_vs_sdpa']:.1e} |")
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.machine()}, {os.cpu_count()} cores"
    lines += ["", f"albert-base-v2 shapes, random weights, median of {args.repeat} after a warm-up ({args.repeat * 6} for "
                  f"shapes of <= 256 tokens, whose three processes also run twice, the faster kept), {device}, "
                  f"torch {torch.__version__}. Peak memory: growth of the peak RSS (VmHWM, reset after the "
                  f"warm-up) over the RSS before the timed forwards (CPU; it depends on what the allocator hands back "
                  f"to the system, so read it loosely), or peak CUDA allocation."]
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
