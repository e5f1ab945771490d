"""tokenize-corpus throughput against tokenizing the same lines in-process, in the same run.

    python -m bench.corpus [--megabytes 17.5] [--corpus FILE ...] [--write-readme]

Rows (each its own process, so start-up, imports and worker spawning count for ``albert tokenize-corpus``):

- ``albert tokenize-corpus --workers 1`` and ``--workers 2`` (the default here is min(2, CPUs)): the whole
  command, wall time from start to exit;
- albert_tok ``AlbertTokenizer`` in-process: the tokenizer loaded first, then only the calls timed
  (``truncation=True, max_length=512``, no attention mask or token types, batches of 10,000 lines);
- transformers 5 ``AlbertTokenizer`` in-process, timed the same way (bench/.venv-tf5, made by
  bench/setup_reference.sh);
- ``datasets.map(batched=True, num_proc=2)`` with transformers 5's tokenizer, whole process.

Ratios are against the two in-process rows. Peak memory is the largest max-RSS among the process and
its children (workers). The text is the shared corpora repeated to ``--megabytes``; ``--corpus`` takes
other files (repeated the same way). Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPORA = sorted((ROOT.parent / "shared" / "corpora").glob("*.txt"))
REF_PYTHON = ROOT / "bench" / ".venv-tf5" / "bin" / "python"
ALBERT = Path(sys.executable).parent / "albert"

# The snippets run with ``-c`` from the repository root (bench/.venv-tf5's interpreter too, which has no albert
# installed), which makes bench._timing importable.
MEASURE = r"""
import json, resource, subprocess, sys
from bench._timing import timed
wall, proc = timed(lambda: subprocess.run(sys.argv[1:], capture_output=True, text=True))
if proc.returncode:
    sys.stderr.write(proc.stderr[-3000:]); sys.exit(proc.returncode)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
out = proc.stdout.strip().splitlines()
extra = json.loads(out[-1]) if out and out[-1].startswith("{") else {}
print(json.dumps({"seconds": wall, "peak_bytes": peak, **extra}))
"""

# argv: corpus, spiece.model. Prints {"tokenize_seconds": ..., "version": ...}: the calls only.
IN_PROCESS = r"""
import json, os, shutil, sys, tempfile
from bench._timing import timed
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
if lines and lines[-1] == "":
    lines.pop()  # the rows tokenize-corpus makes: one per line
if sys.argv[3] == "albert_tok":
    from albert_tok import AlbertTokenizer
    tok, version = AlbertTokenizer(sys.argv[2]), "albert_tok"
else:
    import transformers
    d = tempfile.mkdtemp()
    shutil.copy(sys.argv[2], os.path.join(d, "spiece.model"))
    json.dump({"tokenizer_class": "AlbertTokenizer"}, open(os.path.join(d, "tokenizer_config.json"), "w"))
    tok, version = transformers.AutoTokenizer.from_pretrained(d), "transformers " + transformers.__version__
def tokenize():
    tokens = 0
    for i in range(0, len(lines), 10_000):
        enc = tok(lines[i:i + 10_000], truncation=True, max_length=512, return_attention_mask=False,
                  return_token_type_ids=False)
        tokens += sum(map(len, enc["input_ids"]))
    return tokens
seconds, tokens = timed(tokenize)
print(json.dumps({"tokenize_seconds": seconds, "version": version, "tokens": tokens}))
"""

DATASETS = r"""
import json, os, shutil, sys, tempfile
import datasets, transformers
d = tempfile.mkdtemp()
shutil.copy(sys.argv[2], os.path.join(d, "spiece.model"))
json.dump({"tokenizer_class": "AlbertTokenizer"}, open(os.path.join(d, "tokenizer_config.json"), "w"))
tok = transformers.AutoTokenizer.from_pretrained(d)
ds = datasets.load_dataset("text", data_files=sys.argv[1], split="train", cache_dir=tempfile.mkdtemp())
ds = ds.map(lambda b: tok(b["text"], truncation=True, max_length=512), batched=True, num_proc=2,
            remove_columns=["text"])
print(json.dumps({"rows": len(ds), "version": "datasets " + datasets.__version__}))
"""


def measure(command: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if proc.returncode:
        raise SystemExit(f"{' '.join(command[:4])}... failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.corpus", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=float, default=17.5)
    parser.add_argument("--corpus", nargs="*", type=Path, default=CORPORA)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    if not args.corpus:
        raise SystemExit("no corpus: pass --corpus FILE (../shared/corpora is not present)")
    if not REF_PYTHON.exists():
        raise SystemExit("bench/.venv-tf5 is missing: run bench/setup_reference.sh first")
    text = "".join(p.read_text(encoding="utf-8") for p in args.corpus)
    load_before = os.getloadavg()[0]
    spiece = ROOT / "fixtures" / "spiece.model"
    entry = "import sys; from albert_model.cli import main; sys.exit(main())"
    albert = [str(ALBERT)] if ALBERT.exists() else [sys.executable, "-c", entry]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        with open(corpus, "w", encoding="utf-8") as fh:
            while fh.tell() < args.megabytes * 1e6:
                fh.write(text)
        megabytes = corpus.stat().st_size / 1e6
        for workers in (1, 2):
            out = Path(tmp) / f"out{workers}"
            results[f"albert tokenize-corpus --workers {workers}"] = measure(
                [
                    *albert,
                    "tokenize-corpus",
                    str(corpus),
                    "--out",
                    str(out),
                    "--tokenizer",
                    str(spiece.parent),
                    "--workers",
                    str(workers),
                    "--no-progress",
                ]
            )
            shutil.rmtree(out)
        slow = measure([sys.executable, "-c", IN_PROCESS, str(corpus), str(spiece), "albert_tok"])
        tf5 = measure([str(REF_PYTHON), "-c", IN_PROCESS, str(corpus), str(spiece), "transformers"])
        for name, r in (
            ("albert_tok AlbertTokenizer, in-process", slow),
            (f"{tf5['version']} AlbertTokenizer, in-process", tf5),
        ):
            results[name] = {**r, "process_seconds": r["seconds"], "seconds": r["tokenize_seconds"]}
        ref = measure([str(REF_PYTHON), "-c", DATASETS, str(corpus), str(spiece)])
        results[f"{ref['version']} map(batched, num_proc=2) + {tf5['version']}"] = ref
    base_slow, base_tf5 = slow["tokenize_seconds"], tf5["tokenize_seconds"]
    header = (
        "| run | MB/s | seconds | peak memory (MB) | speed vs albert_tok in-process "
        "| speed vs transformers 5 in-process |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        r["MB/s"] = megabytes / r["seconds"]
        r["vs_albert_tok_in_process"] = base_slow / r["seconds"]
        r["vs_transformers5_in_process"] = base_tf5 / r["seconds"]
        lines.append(
            f"| {name} | {r['MB/s']:.2f} | {r['seconds']:.1f} | {r['peak_bytes'] / 1e6:.0f} | "
            f"{r['vs_albert_tok_in_process']:.2f}x | {r['vs_transformers5_in_process']:.2f}x |"
        )
    sources = ", ".join(p.name for p in args.corpus)
    note = (
        f"{megabytes:.1f} MB ({sources}, repeated), {slow['tokens']} tokens; tokenize-corpus and datasets rows: "
        f"whole-process wall time (start-up included); in-process rows: tokenizer calls only (truncation to "
        f"512, no mask, batches of 10,000 lines). {platform.machine()}, {os.cpu_count()} cores; the default "
        f"worker count is min(2, CPUs); load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
        f"(other work on the machine takes CPU from the worker processes)."
    )
    lines += ["", note]
    table = "\n".join(lines)
    print(table)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    summary = {
        "megabytes": megabytes,
        "corpus": sources,
        "load_average": [load_before, os.getloadavg()[0]],
        "runs": results,
    }
    (out_dir / "corpus.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.write_readme:
        from bench._readme import write_table

        write_table("corpus", table)


if __name__ == "__main__":
    main()
