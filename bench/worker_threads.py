"""Why ``albert serve`` keeps one torch thread on its event loop's thread: one sentence at a time through the
fill-mask pipeline (packed weights, varlen, as the server runs it) on a worker thread, beside a main thread
whose torch thread count is 1 or 2, against the same on the main thread itself.

    python -m bench.worker_threads [--sentences 64] [--rounds 4]

Each configuration runs in a fresh interpreter (a thread team, once made, stays for the process): the main
thread sets its thread count and loads the pipeline, then the calls run on the main thread or on a new
thread with its own count. A configuration's figure is its best round, in ms per call. Writes
bench/results/worker_threads.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

CONFIGS = {
    "main thread, 2 threads": (2, "main", 2),
    "worker thread, 1 thread (main 1)": (1, "worker", 1),
    "worker thread, 2 threads (main 2)": (2, "worker", 2),
    "worker thread, 2 threads (main 1)": (1, "worker", 2),
}

WORKER = """
import json, sys, threading, time, warnings
warnings.filterwarnings("ignore")
import torch
main_threads, where, threads = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
count, rounds = int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(main_threads)
from albert_model.checkpoints import DEFAULT_MODEL
from albert_model.pipelines import pipeline
from bench.pipeline import sentences
texts = sentences(count)
pipe = pipeline("fill-mask", model=DEFAULT_MODEL)
pipe.model.set_weight_packing(True)
pipe.model.set_attn_implementation("varlen")
times = []
def work():
    torch.set_num_threads(threads)
    for text in texts[:8]:
        pipe([text])
    for _ in range(rounds):
        start = time.perf_counter()
        for text in texts:
            pipe([text], top_k=5)
        times.append((time.perf_counter() - start) / len(texts) * 1000)
if where == "main":
    work()
else:
    t = threading.Thread(target=work)
    t.start()
    t.join()
print(json.dumps(times))
"""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_threads", description=__doc__)
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    rows = {}
    for name, (main_threads, where, threads) in CONFIGS.items():
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                WORKER,
                str(main_threads),
                where,
                str(threads),
                str(args.sentences),
                str(args.rounds),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
            check=True,
        )
        times = json.loads(out.stdout.strip().splitlines()[-1])
        rows[name] = {"best_ms": min(times), "rounds_ms": times}
        print(f"{name:36s} {min(times):6.2f} ms per call (rounds: {', '.join(f'{t:.2f}' for t in times)})", flush=True)
    RESULTS.mkdir(exist_ok=True)
    result = {
        "command": "python -m bench.worker_threads " + " ".join(sys.argv[1:]),
        "machine": {"platform": platform.platform()},
        "rows": rows,
    }
    (RESULTS / "worker_threads.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
