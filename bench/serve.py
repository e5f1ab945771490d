"""``albert serve`` against what users write today, over HTTP on loopback: throughput and p50/p99 latency.

    python -m bench.serve [--model DIR] [--clients 1 8 64] [--seconds 8] [--requests 400] [--rounds 3]
                          [--no-onnx] [--also-threads 1] [--server-cpus 0,1 --client-cpus 2-5]

The baseline is the small app users write around transformers: FastAPI, one ``def`` route calling
``transformers.pipeline("fill-mask")`` per request (FastAPI runs it on its thread pool; torch keeps its
default intra-op threads). Ours is ``python -m albert_model.serving`` (the same as ``albert serve``) on the
same checkpoint, on torch and on ONNX Runtime, with its defaults (token-budget batching, threads chosen per
worker). Every server answers ``POST /fill-mask {"inputs": text, "top_k": 5}`` with one sentence (corpus lines
with one word masked, the same list for every server) on 127.0.0.1. All servers are started and warmed up
first; then each cell (1, 8 and 64 concurrent clients, each sending its next request when the last one is
answered; a cell stops after ``--requests`` answers or ``--seconds``, whichever comes first) runs ``--rounds``
times, the servers taking turns within each round (a different one first each round), so that a drift in the
shared machine's speed reaches them all alike; only the server being loaded has work. A server's row is its
best round (the highest throughput, with that round's latencies), every round is in the JSON. The clients are
asyncio tasks in this process, each on its own keep-alive connection (a minimal HTTP/1.1 client), so they
share the machine with the server, as on one host;
on a bigger machine ``--server-cpus``/``--client-cpus`` pin the servers and the clients to their own cores
(a quiet 2-core server with its clients elsewhere). Rows: ours on torch, on ONNX Runtime (fp32, and int8
weights: ``--int8``), and the baseline; ``--also-threads 1`` adds the torch server with ``--threads 1``.
Writes bench/results/serve.json and bench/results/serve.md (``--write-docs``: the table into docs/serving.md too).
Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

BASELINE = """
import sys
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from transformers import pipeline

pipe = pipeline("fill-mask", model=sys.argv[1])
app = FastAPI()


class Request(BaseModel):
    inputs: str
    top_k: int = 5


@app.post("/fill-mask")
def fill_mask(request: Request):
    return pipe(request.inputs, top_k=request.top_k)


@app.get("/health")
def health():
    return {}


config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
server = uvicorn.Server(config)


async def main():
    import asyncio

    task = asyncio.ensure_future(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    await task


import asyncio

asyncio.run(main())
"""


class Server:
    """A server process, its URL read from its first line."""

    def __init__(self, command: list[str], cpus: set[int] | None = None, timeout: float = 300) -> None:
        self.proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=_env(),
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.proc.stdout or []], daemon=True).start()
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            try:
                line = lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                self.stop()
                raise SystemExit(f"server did not start in {timeout}s: {' '.join(command)}\n{''.join(seen)}") from None
            seen.append(line)
            if "listening on " in line:
                self.url = line.split("listening on ")[1].split()[0]
                return

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, body: bytes) -> int:
    """One keep-alive ``POST /fill-mask`` on an open connection; the status. A minimal HTTP/1.1 client (both
    servers answer with a Content-Length), so the load generator's own cost stays small and the same for all."""
    writer.write(
        b"POST /fill-mask HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _load(url: str, texts: list[str], clients: int, requests: int, seconds: float) -> dict[str, Any]:
    """``clients`` closed-loop clients, one keep-alive connection each, until ``requests`` answers or ``seconds``;
    the latencies of the answers."""
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    bodies = [json.dumps({"inputs": t, "top_k": 5}).encode() for t in texts]
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def one_client() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < deadline:
                n = next(counter)
                if n >= requests:
                    return
                t0 = time.perf_counter()
                status = await _post(reader, writer, host, bodies[n % len(bodies)])
                if status == 200:
                    latencies.append(time.perf_counter() - t0)
                else:
                    failures += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    wall = time.perf_counter() - start
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    return {
        "clients": clients,
        "answers": len(latencies),
        "failures": failures,
        "seconds": wall,
        "throughput": len(latencies) / wall,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }


def _warm(url: str, texts: list[str]) -> None:
    asyncio.run(_load(url, texts, 4, 16, 60))


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.serve", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=None, help="checkpoint directory (default: the shipped model)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--seconds", type=float, default=8.0, help="time limit of one cell")
    parser.add_argument("--requests", type=int, default=400, help="answers that end one cell")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every cell, the servers taking turns")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime server")
    parser.add_argument("--no-baseline", action="store_true", help="skip the transformers app")
    parser.add_argument("--server-cpus", type=_cpus, help="cores the servers run on (0,1 or 0-3)")
    parser.add_argument("--client-cpus", type=_cpus, help="cores the clients (this process) run on")
    parser.add_argument(
        "--also-threads", type=int, nargs="*", default=[], help="more torch rows with these --threads (1)"
    )
    parser.add_argument("--serve-args", default="", help="extra arguments for albert serve (--threads 2)")
    parser.add_argument("--write-docs", action="store_true", help="put the table into docs/serving.md")
    args = parser.parse_args()
    if args.client_cpus:
        os.sched_setaffinity(0, args.client_cpus)

    from albert_model.checkpoints import DEFAULT_MODEL
    from bench.pipeline import sentences

    model = args.model or DEFAULT_MODEL
    texts = sentences(256)
    ours = [sys.executable, "-m", "albert_model.serving", "--model", model, "--port", "0", *args.serve_args.split()]
    servers: dict[str, list[str]] = {"albert serve (torch)": ours}
    for n in args.also_threads:
        servers[f"albert serve (torch, --threads {n})"] = [*ours, "--threads", str(n)]
    if not args.no_onnx:
        servers["albert serve (onnxruntime)"] = [*ours, "--backend", "onnxruntime"]
        servers["albert serve (onnxruntime, int8)"] = [*ours, "--backend", "onnxruntime", "--int8"]
    if not args.no_baseline:
        servers["transformers + FastAPI"] = [sys.executable, "-c", BASELINE, model]
    info: dict[str, Any] = {}
    started: dict[str, Server] = {}
    rounds: dict[str, dict[int, list[dict[str, Any]]]] = {name: {c: [] for c in args.clients} for name in servers}
    try:
        for name, command in servers.items():  # all up at once (idle ones take no CPU), so rounds can alternate
            started[name] = server = Server(command, args.server_cpus)
            if name.startswith("albert"):
                import httpx

                info[name] = httpx.get(server.url + "/info", timeout=30).json()
            _warm(server.url, texts)
        for clients in args.clients:
            for r in range(args.rounds):
                names = list(started)
                names = names[r % len(names) :] + names[: r % len(names)]  # a different server first each round
                for name in names:
                    row = asyncio.run(_load(started[name].url, texts, clients, args.requests, args.seconds))
                    rounds[name][clients].append(row)
                    print(
                        f"round {r + 1} {name:34s} {clients:3d} clients: {row['throughput']:7.1f} req/s  "
                        f"p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms  ({row['answers']} answers, "
                        f"{row['failures']} failures)",
                        flush=True,
                    )
    finally:
        for server in started.values():
            server.stop()
    # each server's best round (highest throughput) per client count, with that round's latencies
    rows = {
        name: [max(cells[c], key=lambda row: row["throughput"]) for c in args.clients] for name, cells in rounds.items()
    }
    table = _table(rows)
    if args.write_docs:
        _write_docs(table)
    for name, facts in info.items():
        table += (
            f"\n\n{name}: {facts['threads']} intra-op threads ({facts['threads_reason']}), batch size "
            f"{facts['batch_size']}, attention {facts['attn_implementation'] or 'the ONNX graph'}, "
            f"max batch tokens {facts['max_batch_tokens']}, max wait {facts['max_wait_ms']} ms"
        ).rstrip()
    print(table)
    result = {
        "command": "python -m bench.serve " + " ".join(sys.argv[1:]),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "server_cpus": sorted(args.server_cpus) if args.server_cpus else "all",
            "client_cpus": sorted(args.client_cpus) if args.client_cpus else "all",
        },
        "model": os.path.basename(os.path.normpath(model)),
        "servers": info,
        "rows": rows,
        "rounds": rounds,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "serve.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "serve.md").write_text(
        f"# albert serve against transformers + FastAPI\n\n`{result['command']}` on a {result['machine']['cpus']}-CPU "
        f"machine ({result['machine']['platform']}; servers on CPUs {result['machine']['server_cpus']}, clients on "
        f"{result['machine']['client_cpus']}), model {result['model']}, POST /fill-mask with one sentence.\n\n"
        f"{table}\n",
        encoding="utf-8",
    )


def _write_docs(table: str) -> None:
    """The table between docs/serving.md's bench:serve markers."""
    page = ROOT / "docs" / "serving.md"
    begin, end = "<!-- bench:serve:begin -->", "<!-- bench:serve:end -->"
    head, rest = page.read_text(encoding="utf-8").split(begin, 1)
    page.write_text(f"{head}{begin}\n{table}\n{end}{rest.split(end, 1)[1]}", encoding="utf-8")


def _cpus(text: str) -> set[int]:
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def _table(rows: dict[str, list[dict[str, Any]]]) -> str:
    baseline = {r["clients"]: r for r in rows.get("transformers + FastAPI", [])}
    lines = [
        "| server | clients | req/s | p50 ms | p99 ms | throughput vs baseline | p99 vs baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, cells in rows.items():
        for row in cells:
            base = baseline.get(row["clients"])
            ratio = (
                f"{row['throughput'] / base['throughput']:.1f}x" if base and name in rows and base is not row else ""
            )
            p99 = f"{base['p99_ms'] / row['p99_ms']:.1f}x lower" if base and base is not row else ""
            lines.append(
                f"| {name} | {row['clients']} | {row['throughput']:.1f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} "
                f"| {ratio} | {p99} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
