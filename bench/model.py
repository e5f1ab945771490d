"""Forward latency and peak memory of AlbertModel against transformers (eager and sdpa), same weights.

    python -m bench.model [--shapes 1x16 8x128 4x512] [--repeat 5] [--dtype float32] [--no-onnx | --onnx-only]
                          [--write-readme]

albert-base-v2 shapes (random weights), CPU unless --device cuda. Each (implementation, shape) runs in
its own process so that peak memory (max RSS growth during the forward, or CUDA peak allocation) is
its own. Prints ratios against transformers sdpa; writes bench/results/model-<device>-<dtype>.json.
On CPU in float32 it also times the ONNX Runtime backend (the same weights exported by
``albert_model.onnx._export``, fp32 and int8, 2 intra-op threads) in a second table (docs/benchmarks.md markers
``bench:model-onnx``), with each graph's max abs diff from transformers sdpa and the fp32 ceiling: the
forward's weight products alone, timed in the same turns. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The workers run with ``python -c`` from the repository root, which makes albert_model and bench importable.
WORKER = r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
import torch
from bench._timing import repeated
impl, directory, batch, length, repeat, dtype, device, _, budget = sys.argv[1:10]
batch, length, repeat, dtype, budget = int(batch), int(length), int(repeat), getattr(torch, dtype), float(budget)
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
times, out = repeated(run, repeat, budget=budget, min_runs=3)  # a loaded machine: enough for a median
peak = (torch.cuda.max_memory_allocated() - base) if device == "cuda" else max(0, status("VmHWM") - rss0)
torch.save(out.float().cpu()[:, :4, :4], sys.argv[8])
print(json.dumps({"median_s": sorted(times)[len(times) // 2], "peak_bytes": peak, "runs": len(times)}))
"""

# The ONNX Runtime comparison runs in one process that takes turns between the implementations, forward by
# forward, and keeps each one's best: on a shared machine, load then hits every implementation alike.
ONNX_WORKER = r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, torch, transformers
import albert_model
from albert_model.onnx._runtime import OnnxAlbertModel
from bench import weight_products
from bench._timing import interleaved_runs
directory, shapes, rounds_small, rounds_large = sys.argv[1], sys.argv[2].split(), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(min(2, torch.get_num_threads()))  # the 2 threads ONNX Runtime gets
models = {
    "sdpa": transformers.AlbertModel.from_pretrained(directory, attn_implementation="sdpa").eval(),
    "albert_model": albert_model.AlbertModel.from_pretrained(directory).eval(),
    "onnxruntime": OnnxAlbertModel.from_onnx(f"{directory}/onnxruntime.onnx"),
    "onnxruntime-int8": OnnxAlbertModel.from_onnx(f"{directory}/onnxruntime-int8.onnx"),
}
config = models["albert_model"].config
E = config.embedding_size
chains = weight_products.chains(config)
out = []
for shape in shapes:
    batch, length = (int(x) for x in shape.split("x"))
    tokens = batch * length
    ids = torch.randint(5, 30000, (batch, length), generator=torch.Generator().manual_seed(0))
    mask = torch.ones(batch, length, dtype=torch.long)
    mask[0, length // 2:] = 0
    x = np.random.default_rng(1).standard_normal((tokens, E), np.float32)
    floors = {f"weight products, {library}": (lambda chain=chain: chain(x)) for library, chain in chains.items()}
    def run(name):
        if name in floors:
            return floors[name]()
        with torch.inference_mode():
            return models[name](input_ids=ids, attention_mask=mask).last_hidden_state
    first = {name: run(name) for name in [*models, *floors]}  # warm-up
    keep = mask.bool()
    diff = {name: float((first[name] - first["sdpa"])[keep].abs().max()) for name in models}
    # a pause before each forward lets the other implementation's idle threads stop spinning
    times, _ = interleaved_runs({name: (lambda name=name: run(name)) for name in [*models, *floors]},
                                rounds_small if batch * length <= 256 else rounds_large, pause=0.2)
    out.append({"shape": f"b{batch}·L{length}", "times": times, "max_abs_diff_vs_sdpa": diff,
                "weight product gflop": weight_products.gflop(config, tokens)})
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.model", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shapes", nargs="*", default=["1x16", "8x128", "4x512"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--budget",
        type=float,
        default=8.0,
        help="seconds of timed forwards per process after which it stops (at least 3 forwards)",
    )
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--device", default="cpu")
    onnx_choice = parser.add_mutually_exclusive_group()
    onnx_choice.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime table")
    onnx_choice.add_argument("--onnx-only", action="store_true", help="only the ONNX Runtime table")
    parser.add_argument(
        "--onnx-rounds",
        type=int,
        default=6,
        help="turns of the ONNX Runtime comparison (5 times as many for shapes of <= 256 tokens)",
    )
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    import torch

    import albert_model

    onnx = not args.no_onnx and args.device == "cpu" and args.dtype == "float32"
    impls = ("albert_model", "sdpa", "eager")
    results = []
    onnx_results: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        albert_model.AlbertModel(albert_model.AlbertConfig.base()).save_pretrained(tmp)
        if onnx:
            from albert_model.onnx._export import export_onnx

            export_onnx(tmp, os.path.join(tmp, "onnxruntime.onnx"))
            export_onnx(tmp, os.path.join(tmp, "onnxruntime-int8.onnx"), quantize="int8")
        for shape in [] if args.onnx_only else args.shapes:
            batch, length = (int(x) for x in shape.split("x"))
            row = {"shape": f"b{batch}·L{length}"}
            outs = {}
            # small shapes take milliseconds and feel the order of runs: run the three twice, keep the best
            rounds = 2 if batch * length <= 256 else 1
            for impl in impls * rounds:
                out_path = os.path.join(tmp, f"{impl}.pt")
                # small shapes take milliseconds: more repeats so that the median is stable
                repeat = args.repeat * (6 if batch * length <= 256 else 1)
                proc = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        WORKER,
                        impl,
                        tmp,
                        str(batch),
                        str(length),
                        str(repeat),
                        args.dtype,
                        args.device,
                        out_path,
                        str(args.budget),
                    ],
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                    check=False,
                )
                if proc.returncode:
                    raise SystemExit(f"{impl} {shape} failed:\n{proc.stderr[-2000:]}")
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                if impl not in row or result["median_s"] < row[impl]["median_s"]:
                    row[impl] = result
                outs[impl] = torch.load(out_path)
            row["max_abs_diff_vs_sdpa"] = float((outs["albert_model"] - outs["sdpa"]).abs().max())
            results.append(row)
            print(json.dumps(row))
        if onnx:
            proc = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    ONNX_WORKER,
                    tmp,
                    " ".join(args.shapes),
                    str(args.onnx_rounds * 5),
                    str(args.onnx_rounds),
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=False,
            )
            if proc.returncode:
                raise SystemExit(f"the ONNX Runtime comparison failed:\n{proc.stderr[-2000:]}")
            onnx_results = json.loads(proc.stdout.strip().splitlines()[-1])
            print(json.dumps(onnx_results))
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.machine()}, {os.cpu_count()} cores"
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    if results:
        _torch_table(args, results, device, out)
    onnx_table = _onnx_table(onnx_results, device) if onnx else None
    if onnx_table:
        print()
        print(onnx_table)
        (out / "model-onnx.json").write_text(json.dumps(onnx_results, indent=2) + "\n")
        if args.write_readme:
            from bench._readme import README, write_table

            if "<!-- bench:model-onnx:begin -->" in README.read_text(encoding="utf-8"):
                write_table("model-onnx", onnx_table)
            else:
                print(f"{README} has no <!-- bench:model-onnx:begin/end --> markers: the ONNX table was not written")


def _torch_table(args: argparse.Namespace, results: list[dict], device: str, out: Path) -> None:
    import torch

    impls = ("albert_model", "sdpa", "eager")
    header = (
        f"| shape ({args.dtype}, {args.device}) | albert_model ms | transformers sdpa ms | transformers eager ms "
        f"| speed vs sdpa | speed vs eager | peak MB (ours / sdpa / eager) | max abs diff |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        ours, sdpa, eager = r["albert_model"], r["sdpa"], r["eager"]
        mem = f"{ours['peak_bytes'] / 1e6:.0f} / {sdpa['peak_bytes'] / 1e6:.0f} / {eager['peak_bytes'] / 1e6:.0f}"
        lines.append(
            f"| {r['shape']} | {ours['median_s'] * 1e3:.1f} | {sdpa['median_s'] * 1e3:.1f} | "
            f"{eager['median_s'] * 1e3:.1f} | {sdpa['median_s'] / ours['median_s']:.2f}x | "
            f"{eager['median_s'] / ours['median_s']:.2f}x | {mem} | {r['max_abs_diff_vs_sdpa']:.1e} |"
        )
    runs = min(r[impl]["runs"] for r in results for impl in impls)
    note = (
        f"albert-base-v2 shapes, random weights, median of {args.repeat} after a warm-up ({args.repeat * 6} for "
        f"shapes of <= 256 tokens, whose processes also run twice, the faster kept; a process stops after "
        f"{args.budget:g} s of forwards, so at least {runs}), {device}, "
        f"torch {torch.__version__}. Peak memory: growth of the peak RSS (VmHWM, reset after the "
        f"warm-up) over the RSS before the timed forwards (CPU; it depends on what the allocator hands back "
        f"to the system, so read it loosely), or peak CUDA allocation."
    )
    lines += ["", note]
    table = "\n".join(lines)
    print(table)
    (out / f"model-{args.device}-{args.dtype}.json").write_text(json.dumps(results, indent=2) + "\n")
    if args.write_readme:
        from bench._readme import write_table

        write_table(f"model-{args.device}", table)


def _weight_products(row: dict) -> tuple[float, str]:
    """The best time of the forward's weight products alone (``ONNX_WORKER``'s chains) and the library that
    ran them fastest."""
    chains = {
        name.split(", ")[1]: min(times) for name, times in row["times"].items() if name.startswith("weight products, ")
    }
    library = min(chains, key=chains.__getitem__)
    return chains[library], library


def _onnx_table(results: list[dict], device: str) -> str:
    import onnxruntime

    header = (
        "| shape (float32, cpu) | transformers sdpa ms | albert_model torch ms | onnxruntime fp32 ms | "
        "onnxruntime int8 ms | fp32 speed vs sdpa | int8 speed vs sdpa | same, medians (fp32 / int8) | "
        "max abs diff fp32 / int8 | fp32 ceiling vs sdpa (weight products alone) |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    names = ("sdpa", "albert_model", "onnxruntime", "onnxruntime-int8")
    for r in results:
        sdpa, ours, fp32, int8 = (min(r["times"][k]) for k in names)
        med = {k: sorted(r["times"][k])[len(r["times"][k]) // 2] for k in names}
        diff = r["max_abs_diff_vs_sdpa"]
        chain, library = _weight_products(r)
        lines.append(
            f"| {r['shape']} | {sdpa * 1e3:.1f} | {ours * 1e3:.1f} | {fp32 * 1e3:.1f} | {int8 * 1e3:.1f} | "
            f"{sdpa / fp32:.2f}x | {sdpa / int8:.2f}x | {med['sdpa'] / med['onnxruntime']:.2f}x / "
            f"{med['sdpa'] / med['onnxruntime-int8']:.2f}x | {diff['onnxruntime']:.1e} / "
            f"{diff['onnxruntime-int8']:.1e} | {sdpa / chain:.2f}x ({chain * 1e3:.1f} ms, {library}) |"
        )
    rounds = ", ".join(f"{r['shape']}: {len(r['times']['sdpa'])}" for r in results)
    note = (
        f"albert-base-v2 shapes, random weights; one process takes turns between the four and the two "
        f"weight-product chains of the last column, forward by forward (rounds: {rounds}), best of each (the "
        f"medians show how each bears a loaded machine); 2 threads each. "
        f"`albert_model.export_onnx` graphs (TorchScript exporter, opset 17; int8: dynamic "
        f"quantization of the encoder's weight products, attention products, embeddings and heads left in "
        f"float32) run by onnxruntime {onnxruntime.__version__} with ORT_ENABLE_ALL, threads not spinning; "
        f"{device}. The int8 diff is how far quantization moves the hidden states."
    )
    rates = "; ".join(
        f"{r['shape']}: "
        + ", ".join(
            f"{name.split(', ')[1]} {r['weight product gflop'] / min(times):.0f}"
            for name, times in r["times"].items()
            if name.startswith("weight products, ")
        )
        + " GFLOP/s"
        for r in results
    )
    ceiling = (
        "fp32 ceiling: sdpa's time over that of the forward's weight products alone, timed in the same turns "
        "as the models (best of each): the embedding map, then for each of the 12 layers, which share one "
        "layer's weights (28 MB in float32, cycled through the caches 12 times), x [768, 2304] (Q, K and V as "
        "one product), its three parts summed, x [768, 768], x [768, 3072], x [3072, 768]; as one ONNX Runtime "
        "graph and as torch matmuls, the faster named. Attention, biases, norms and GELU cost nothing there, "
        "so no fp32 forward that makes these products with these libraries can beat it. Their rates, best "
        f"run: {rates}."
    )
    lines += ["", note, "", ceiling]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
