"""Tokenizer throughput on the shared corpora: our slow and fast batch paths against raw SentencePiece,
raw Rust tokenizers and transformers 5's ALBERT tokenizer, on the same padded call.

    python bench/tokenizer_speed.py [--corpus FILE ...] [--repeat 3] [--write-readme]

transformers 5 runs in bench/.venv-tf5 (made by bench/setup_reference.sh) when present, else the
transformers installed here, labelled with its version. Prints a table, writes bench/results/tokenize.json.
Not a test: figures are ratios measured in one run on one machine.
"""

from __future__ import annotations

import os
import sys


import argparse
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from albert_tok import AlbertTokenizer, AlbertTokenizerFast  # noqa: E402

SPIECE = ROOT / "fixtures" / "spiece.model"
DEFAULT_CORPORA = sorted((ROOT.parent / "shared" / "corpora").glob("*.txt"))
REF_PYTHON = ROOT / "bench" / ".venv-tf5" / "bin" / "python"

REFERENCE_SNIPPET = r"""
import json, os, shutil, sys, tempfile, time
import numpy as np
import transformers
lines = json.load(open(sys.argv[1], encoding="utf-8"))
# A directory with spiece.model only, so transformers converts it with its own converter.
d = tempfile.mkdtemp()
shutil.copy(sys.argv[2], os.path.join(d, "spiece.model"))
with open(os.path.join(d, "tokenizer_config.json"), "w") as fh:
    json.dump({"tokenizer_class": "AlbertTokenizer"}, fh)
tok = transformers.AutoTokenizer.from_pretrained(d)
best = float("inf")
for _ in range(int(sys.argv[4])):
    t0 = time.perf_counter()
    enc = tok(lines, padding=True, return_tensors="np")
    best = min(best, time.perf_counter() - t0)
np.save(sys.argv[3], enc["input_ids"])
print(json.dumps({"seconds": best, "version": transformers.__version__, "class": type(tok).__name__}))
"""


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run_reference(lines: list[str], repeat: int) -> tuple[dict, np.ndarray] | None:
    python = str(REF_PYTHON) if REF_PYTHON.exists() else sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        src, ids = os.path.join(tmp, "lines.json"), os.path.join(tmp, "ids.npy")
        with open(src, "w", encoding="utf-8") as fh:
            json.dump(lines, fh)
        proc = subprocess.run([python, "-c", REFERENCE_SNIPPET, src, str(SPIECE), ids, str(repeat)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"transformers reference unavailable: {proc.stderr.strip().splitlines()[-1:]}")
            return None
        return json.loads(proc.stdout.strip().splitlines()[-1]), np.load(ids)


def rows_equal(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of rows with identical ids (padding stripped)."""
    same = 0
    for ra, rb in zip(a, b):
        same += ra[ra != 0].tolist() == rb[rb != 0].tolist()
    return same / len(a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="*", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    if not args.corpus:
        raise SystemExit("no corpus: pass --corpus FILE (../shared/corpora is not present)")
    lines = [line for path in args.corpus for line in path.read_text(encoding="utf-8").split("\n")]
    lines = [line for line in lines if line.strip()]
    megabytes = sum(len(line.encode("utf-8")) for line in lines) / 1e6

    slow, fast = AlbertTokenizer(SPIECE), AlbertTokenizerFast(SPIECE)
    call = dict(padding=True, truncation=True, max_length=512, return_tensors="np")
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(SPIECE))
    rust = fast.backend_tokenizer
    paths = {
        "albert_tok slow (batch, padded np)": lambda: slow(lines, **call)["input_ids"],
        "albert_tok fast (batch, padded np)": lambda: fast(lines, **call)["input_ids"],
        "raw sentencepiece encode(list)": lambda: sp.encode(lines, num_threads=-1),
        "raw tokenizers encode_batch_fast": lambda: rust.encode_batch_fast(lines, add_special_tokens=True),
    }
    results: dict[str, dict] = {}
    outputs: dict[str, object] = {}
    for name, fn in paths.items():
        seconds, outputs[name] = best_of(fn, args.repeat)
        results[name] = {"seconds": seconds}
    slow_ids = outputs["albert_tok slow (batch, padded np)"]
    fast_ids = outputs["albert_tok fast (batch, padded np)"]
    agree = {"slow == fast": float((slow_ids == fast_ids).all(axis=1).mean())}

    ref = run_reference(lines, args.repeat)
    ref_name = None
    if ref is not None:
        info, ref_ids = ref
        ref_name = f"transformers {info['version']} {info['class']} (padded np)"
        results[ref_name] = {"seconds": info["seconds"]}
        agree[f"transformers {info['version']} == canonical"] = rows_equal(slow_ids, ref_ids)

    for name, r in results.items():
        r["MB/s"] = megabytes / r["seconds"]
        r["lines/s"] = len(lines) / r["seconds"]
        if ref_name:
            r["x transformers"] = results[ref_name]["seconds"] / r["seconds"]
    header = f"| path | MB/s | lines/s | speed vs {ref_name.split(' (')[0] if ref_name else 'transformers'} |"
    table = [header, "|---|---:|---:|---:|"]
    for name, r in results.items():
        ratio = f"{r['x transformers']:.2f}x" if ref_name else "n/a"
        table.append(f"| {name} | {r['MB/s']:.2f} | {r['lines/s']:.0f} | {ratio} |")
    table.append("")
    table.append(f"{len(lines)} non-empty lines, {megabytes:.2f} MB ({', '.join(p.name for p in args.corpus)}); "
                 f"best of {args.repeat}; {platform.machine()}, {os.cpu_count()} cores; ids agreement: "
                 + ", ".join(f"{k}: {v:.1%}" for k, v in agree.items()) + ".")
    text = "\n".join(table)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "tokenize.json").write_text(json.dumps({"results": results, "agreement": agree, "lines": len(lines),
                                                   "megabytes": megabytes}, indent=2) + "\n")
    if args.write_readme:
        from bench._readme import write_table

        write_table("tokenize", text)


if __name__ == "__main__":
    main()
