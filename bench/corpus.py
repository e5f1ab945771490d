"""tokenize-corpus throughput (MB/s) with 1 and 2 workers against datasets.Dataset.map(batched=True,
num_proc=2) with transformers 5's ALBERT tokenizer, on the shared corpora repeated to >= 20 MB.

    python bench/corpus.py [--megabytes 20] [--write-readme]

Each run is its own process; peak memory is the largest max-RSS among it and its workers. The reference
runs in bench/.venv-tf5 (bench/setup_reference.sh) when present. Not a test.
"""

from __future__ import annotations

import os
import sys

# bench/tokenize.py is named like the standard library's ``tokenize``: keep bench/ off the import path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPORA = sorted((ROOT.parent / "shared" / "corpora").glob("*.txt"))
REF_PYTHON = ROOT / "bench" / ".venv-tf5" / "bin" / "python"

MEASURE = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t0
if proc.returncode:
    sys.stderr.write(proc.stderr[-3000:]); sys.exit(proc.returncode)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"seconds": wall, "peak_bytes": peak}))
"""

REFERENCE = r"""
import json, os, shutil, sys, tempfile, time
t0 = time.perf_counter()
import datasets, transformers
d = tempfile.mkdtemp()
shutil.copy(sys.argv[2], os.path.join(d, "spiece.model"))
json.dump({"tokenizer_class": "AlbertTokenizer"}, open(os.path.join(d, "tokenizer_config.json"), "w"))
tok = transformers.AutoTokenizer.from_pretrained(d)
ds = datasets.load_dataset("text", data_files=sys.argv[1], split="train", cache_dir=tempfile.mkdtemp())
ds = ds.map(lambda b: tok(b["text"], truncation=True, max_length=512), batched=True, num_proc=2,
            remove_columns=["text"])
print(len(ds), transformers.__version__, datasets.__version__)
"""


def measure(command: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f"{' '.join(command[:4])}... failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=20.0)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    if not CORPORA:
        raise SystemExit("../shared/corpora is not present")
    text = "".join(p.read_text(encoding="utf-8") for p in CORPORA)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        with open(corpus, "w", encoding="utf-8") as fh:
            while fh.tell() < args.megabytes * 1e6:
                fh.write(text)
        megabytes = corpus.stat().st_size / 1e6
        spiece_dir = ROOT / "fixtures"
        results = {}
        for workers in (1, 2):
            out = Path(tmp) / f"out{workers}"
            results[f"albert tokenize-corpus --workers {workers}"] = measure(
                [sys.executable, "-m", "albert_model", "tokenize-corpus", str(corpus), "--out", str(out),
                 "--tokenizer", str(spiece_dir), "--workers", str(workers), "--no-progress"])
            shutil.rmtree(out)
        ref_python = str(REF_PYTHON) if REF_PYTHON.exists() else sys.executable
        ref_name = "datasets.map(batched, num_proc=2) + transformers AlbertTokenizer"
        try:
            results[ref_name] = measure([ref_python, "-c", REFERENCE, str(corpus), str(spiece_dir / "spiece.model")])
        except SystemExit as exc:
            print(f"reference unavailable: {str(exc)[-300:]}")
    lines = ["| run | MB/s | seconds | peak memory (MB) |", "|---|---:|---:|---:|"]
    for name, r in results.items():
        r["MB/s"] = megabytes / r["seconds"]
        lines.append(f"| {name} | {r['MB/s']:.2f} | {r['seconds']:.1f} | {r['peak_bytes'] / 1e6:.0f} |")
    lines += ["", f"{megabytes:.1f} MB of the shared corpora repeated; whole-process wall time (start-up included), "
                  f"{platform.machine()}, {os.cpu_count()} cores. The default worker count is min(2, CPUs)."]
    table = "\n".join(lines)
    print(table)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "corpus.json").write_text(json.dumps(results, indent=2) + "\n")
    if args.write_readme:
        from bench._readme import write_table

        write_table("corpus", table)


if __name__ == "__main__":
    main()
