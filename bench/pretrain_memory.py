"""Peak memory of pretraining data: ``tokenize-corpus`` shards read memory-mapped (``--corpus DIR``) against
the text read into Python (``--train FILE``, ``load_corpus``), in the same run.

    python -m bench.pretrain_memory [--megabytes 100 [1000]] [--text-megabytes 100] [--batches 200]

For each size, text made by repeating the shared corpora (``../shared/corpora``, blank lines between their
documents) to that many MB is written under ``--workdir`` (``/tmp/albert-pretrain-memory`` by default) and
tokenized once with ``albert tokenize-corpus`` (both kept for the next run). Each case then runs in a fresh
process, which imports torch, loads the tokenizer (``AlbertTokenizerFast``, as ``albert pretrain`` does) and:

- ``shards``: ``open_corpus`` (every shard's offsets checked), ``split`` (5% held out), the held-out examples,
  one epoch's examples and order (``epoch_examples``), then ``--batches`` masked batches (``CorpusBatches``,
  whole-word masking), in the process;
- ``text`` (only for sizes up to ``--text-megabytes``): ``load_corpus`` (5% held out, one tokenizing process:
  ``albert pretrain``'s default), ``make_examples`` for the held-out part and one epoch, then the same batches.

Figures per case: the peak resident set (``VmHWM``, which counts the mapped shard pages the process touched
as well as its own memory), the largest private (anonymous) memory sampled every 5 ms (``RssAnon``: what the
process holds itself, the page cache aside), both also less what the process held after loading the
tokenizer (and torch), and the seconds of each phase. The batch shapes are ``--batch-size`` x ``--max-seq-length``
(32 x 128 by default). Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPORA = sorted((ROOT.parent / "shared" / "corpora").glob("*.txt"))
TOKENIZER = ROOT / "fixtures"  # spiece.model, the suite's tokenizer (30,000 pieces)
ALBERT = Path(sys.executable).parent / "albert"

# argv: case, text file or shard directory, tokenizer dir, batches, batch size, max_seq_length.
# Prints one JSON line. Run from the repository root.
CASE = r"""
import json, sys, threading, time
import numpy as np

def status():
    fields = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) * 1024
    return fields

peak_anon = [0]
done = threading.Event()
def sample():
    while not done.wait(0.005):
        peak_anon[0] = max(peak_anon[0], status()["RssAnon"])
threading.Thread(target=sample, daemon=True).start()

case, source, tokenizer_dir = sys.argv[1:4]
batches, batch_size, length = map(int, sys.argv[4:7])
from albert_tok import AlbertTokenizerFast
from albert_model.training._corpus_data import CorpusBatches, epoch_examples, open_corpus
from albert_model.training._pretraining_data import PretrainingCollator, load_corpus, make_examples
import torch  # the collator's tensors: imported before the baseline, as the training process has it
tok = AlbertTokenizerFast.from_pretrained(tokenizer_dir)
base = status()
seconds = {}
t = time.perf_counter()
def phase(name):
    global t
    now = time.perf_counter()
    seconds[name] = now - t
    t = now
if case == "shards":
    corpus = open_corpus(source, tok, length)
    phase("open")
    train, heldout = corpus.split(0.05)
    held = corpus.examples(heldout, np.random.default_rng([0, 0, 2]), short_seq_prob=0.1)
    phase("held-out examples")
    examples, order = epoch_examples(corpus, train, seed=0, epoch=0, short_seq_prob=0.1, batch_size=batch_size)
    phase("epoch examples")
    extra = {"examples": len(examples), "heldout_examples": len(held), "rows": corpus.rows,
             "index_bytes": examples.table.nbytes + order.nbytes, "tokens": corpus.manifest["tokens"]}
else:
    data = load_corpus(tok, [source], 0.05, workers=1)
    phase("load_corpus")
    held = make_examples(data.heldout, length, np.random.default_rng([0, 0, 2]))
    phase("held-out examples")
    examples = make_examples(data.train, length, np.random.default_rng([0, 0]))
    order = np.random.default_rng([0, 0, 1]).permutation(len(examples))
    phase("epoch examples")
    extra = {"examples": len(examples), "heldout_examples": len(held),
             "tokens": data.train_tokens + data.heldout_tokens}
collator = PretrainingCollator.for_tokenizer(tok, whole_word_mask=True, seed=0)
dataset = CorpusBatches(examples, order, 0, batch_size, 0, 0, collator)
for k in range(min(batches, len(dataset))):
    dataset[k]
phase("batches")
done.set()
end = status()
print(json.dumps({"seconds": seconds, "peak_rss": end["VmHWM"], "peak_anon": max(peak_anon[0], end["RssAnon"]),
                  "rss_file_at_end": end["RssFile"], "after_tokenizer_rss": base["VmRSS"],
                  "after_tokenizer_anon": base["RssAnon"], **extra}))
"""


def make_text(path: Path, megabytes: float) -> None:
    """The shared corpora, a blank line after each, repeated to ``megabytes`` (written once, atomically)."""
    if path.exists() and path.stat().st_size >= megabytes * 1e6:
        return
    if not CORPORA:
        sys.exit(f"no corpora in {ROOT.parent / 'shared' / 'corpora'}")
    block = b"".join(p.read_bytes().rstrip(b"\n") + b"\n\n" for p in CORPORA)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        written = 0
        while written < megabytes * 1e6:
            fh.write(block)
            written += len(block)
    os.replace(tmp, path)


def make_shards(text: Path, out: Path, max_length: int) -> float:
    """``albert tokenize-corpus`` of ``text`` into ``out`` unless a finished run is there; its seconds (0 if kept)."""
    if (out / "manifest.json").exists():
        return 0.0
    t0 = time.perf_counter()
    command = [str(ALBERT), "tokenize-corpus", str(text), "--out", str(out), "--tokenizer", str(TOKENIZER)]
    subprocess.run(
        [*command, "--max-length", str(max_length), "--workers", "2"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def run_case(case: str, source: Path, args: argparse.Namespace) -> dict:
    sizes = [str(args.batches), str(args.batch_size), str(args.max_seq_length)]
    proc = subprocess.run(
        [sys.executable, "-c", CASE, case, str(source), str(TOKENIZER), *sizes],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=args.timeout,
        check=False,
    )
    if proc.returncode:
        sys.exit(f"{case} on {source} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown(report: dict) -> str:
    mb = 1e6
    lines = [
        "# Pretraining data: peak memory, shards (memory-mapped) against text",
        "",
        f"`{report['command']}` on {report['machine']}, {report['date']}. Batches of {report['batch_size']} x "
        f"{report['max_seq_length']}, whole-word masking, {report['batches']} batches; 5% held out.",
        "",
        "| text | path | peak RSS (VmHWM) | of which after the tokenizer | peak private (RssAnon) | "
        "of which after the tokenizer | epoch index | examples | seconds (phases) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["runs"]:
        r = row["result"]
        phases = ", ".join(f"{k} {v:.1f}" for k, v in r["seconds"].items())
        index = f"{r['index_bytes'] / mb:.1f} MB" if "index_bytes" in r else "-"
        lines.append(
            f"| {row['megabytes']:g} MB | {row['case']} | {r['peak_rss'] / mb:.0f} MB | "
            f"{(r['peak_rss'] - r['after_tokenizer_rss']) / mb:.0f} MB | {r['peak_anon'] / mb:.0f} MB | "
            f"{(r['peak_anon'] - r['after_tokenizer_anon']) / mb:.0f} MB | {index} | {r['examples']:,} | {phases} |"
        )
    lines += [
        "",
        "VmHWM counts the file pages a process mapped: the shards' offsets (read once per epoch), the pages "
        "around each example read (the kernel maps up to 16 cached pages per fault) and the epoch index, all page "
        "cache, shared with other processes and ranks and dropped by the kernel under pressure. RssAnon is the "
        "memory the process holds itself. The epoch index (the table of examples and their order, 19 bytes an "
        "example) is in memory-mapped temporary files.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, nargs="+", default=[100.0], help="text sizes (100 1000: 1 GB too)")
    parser.add_argument("--text-megabytes", type=float, default=100.0, help="the --train path runs up to this size")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/albert-pretrain-memory"))
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed to one case")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pretrain_memory.json")
    parser.add_argument("--clean", action="store_true", help="delete the work directory at the end")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    for megabytes in args.megabytes:
        text = args.workdir / f"text-{megabytes:g}MB.txt"
        make_text(text, megabytes)
        shards = args.workdir / f"shards-{megabytes:g}MB"
        tokenize_seconds = make_shards(text, shards, max(args.max_seq_length - 1, 128))
        cases = [("shards", shards)] + ([("text", text)] if megabytes <= args.text_megabytes else [])
        for case, source in cases:
            result = run_case(case, source, args)
            runs.append(
                {
                    "megabytes": megabytes,
                    "text_bytes": text.stat().st_size,
                    "case": case,
                    "tokenize_corpus_seconds": tokenize_seconds if case == "shards" else None,
                    "result": result,
                }
            )
            print(
                f"{megabytes:g} MB {case}: peak RSS {result['peak_rss'] / 1e6:.0f} MB, peak private "
                f"{result['peak_anon'] / 1e6:.0f} MB, {result['seconds']}",
                file=sys.stderr,
            )
    report = {
        "command": "python -m bench.pretrain_memory " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "load_average": list(os.getloadavg()),
        "batches": args.batches,
        "batch_size": args.batch_size,
        "max_seq_length": args.max_seq_length,
        "tokenizer": "fixtures/spiece.model",
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    if args.clean:
        shutil.rmtree(args.workdir)


if __name__ == "__main__":
    main()
