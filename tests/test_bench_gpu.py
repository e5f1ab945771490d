"""bench/gpu.py: its dry run end to end (so that the GPU script cannot rot unseen), and its watchdog with fake
workers that hang, crash or die at start-up."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import _readme, gpu

from .conftest import ROOT, SHARED

# A stand-in for the worker: the same event protocol, with a way to misbehave in task "a".
FAKE_WORKER = r"""
import json, sys, time
rows, mode, tasks = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def emit(**event):
    with open(rows, "a") as fh:
        fh.write(json.dumps(event) + "\n")
if mode == "hang-start":
    time.sleep(120)
if mode == "die-early":
    print("ImportError: pretend torch is missing", file=sys.stderr)
    sys.exit(1)
for task in tasks:
    emit(event="start", task=task["name"])
    if task["name"] == "a" and mode == "hang":
        time.sleep(120)
    if task["name"] == "a" and mode == "crash":
        print("pretend segmentation fault", file=sys.stderr, flush=True)
        sys.exit(3)
    emit(event="row", task=task["name"], value=1.5)
    emit(event="end", task=task["name"], seconds=0.0)
"""


def fake_spawner(tmp_path: Path, mode: str):
    calls: list[tuple[list[str], subprocess.Popen]] = []

    def spawn(tasks):
        n = len(calls)
        rows, log = tmp_path / f"rows{n}.jsonl", tmp_path / f"log{n}.txt"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", FAKE_WORKER, str(rows), mode, json.dumps(tasks)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        calls.append(([t["name"] for t in tasks], proc))
        return gpu.Worker(proc, rows, log)

    return spawn, calls


def two_tasks(cap_a: float = 1.0) -> list[dict]:
    return [{"name": "a", "cap": cap_a, "need": 0.0}, {"name": "b", "cap": 30.0, "need": 0.0}]


def supervised(tmp_path: Path, mode: str, deadline_in: float, tasks: list[dict]):
    recorder = gpu.Recorder(tmp_path / "out.json", {"benchmark": "test"}, time.time())
    spawn, calls = fake_spawner(tmp_path, mode)
    t0 = time.time()
    gpu.supervise(tasks, time.time() + deadline_in, spawn, recorder)
    sections = recorder.doc["sections"]
    assert json.loads((tmp_path / "out.json").read_text())["sections"] == sections  # written as it went
    return sections, [names for names, _ in calls], [proc for _, proc in calls], time.time() - t0


def test_a_hung_task_is_killed_at_its_cap_and_a_new_worker_runs_the_rest(tmp_path):
    sections, calls, procs, elapsed = supervised(tmp_path, "hang", 60, two_tasks(cap_a=1.0))
    assert sections["a"]["status"] == "timeout" and "cap of 1 s" in sections["a"]["reason"]
    assert sections["b"]["status"] == "ok" and sections["b"]["rows"] == [{"value": 1.5}]
    assert calls == [["a", "b"], ["b"]]
    assert all(p.poll() is not None for p in procs)  # the hung worker is gone
    assert elapsed < 30


def test_the_global_budget_kills_the_running_task_and_skips_the_rest(tmp_path):
    sections, calls, procs, elapsed = supervised(tmp_path, "hang", 1.5, two_tasks(cap_a=100.0))
    assert sections["a"]["status"] == "timeout" and "budget" in sections["a"]["reason"]
    assert sections["b"]["status"] == "skipped" and "budget" in sections["b"]["reason"]
    assert calls == [["a", "b"]] and procs[0].poll() is not None
    assert elapsed < 30


def test_a_crash_costs_only_its_task_and_keeps_the_worker_log(tmp_path):
    sections, calls, _, _ = supervised(tmp_path, "crash", 60, two_tasks())
    assert sections["a"]["status"] == "crashed" and "status 3" in sections["a"]["reason"]
    assert "pretend segmentation fault" in sections["a"]["log_tail"]
    assert sections["b"]["status"] == "ok"
    assert calls == [["a", "b"], ["b"]]


def test_a_worker_that_dies_before_any_task_fails_them_all_once(tmp_path):
    sections, calls, _, _ = supervised(tmp_path, "die-early", 60, two_tasks())
    assert [sections[n]["status"] for n in "ab"] == ["failed", "failed"]
    assert "ImportError: pretend torch is missing" in sections["a"]["log_tail"]
    assert calls == [["a", "b"]]  # not retried: it would die again


def test_a_worker_that_never_begins_a_task_is_killed_and_fails_them_all(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu, "STARTUP_CAP", 1.0)
    sections, calls, procs, elapsed = supervised(tmp_path, "hang-start", 60, two_tasks())
    assert [sections[n]["status"] for n in "ab"] == ["failed", "failed"]
    assert "no task began within 1 s" in sections["a"]["reason"]
    assert calls == [["a", "b"]] and procs[0].poll() is not None and elapsed < 30


def test_the_worker_records_a_failing_task_and_runs_the_next(tmp_path, monkeypatch):
    def boom(ctx, out, dtype, deadline):
        raise ValueError(f"bad {dtype}")

    def fine(ctx, out, dtype, deadline):
        out.row({"dtype": dtype, "deadline_ok": deadline <= time.time() + 30})

    monkeypatch.setattr(gpu, "TASKS", {"boom": boom, "fine": fine})
    rows = tmp_path / "rows.jsonl"
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "device": "cpu",
                "dry_run": True,
                "deadline": time.time() + 60,
                "rows": str(rows),
                "tasks": [
                    {"name": "boom:float16", "cap": 30.0, "need": 0.0},
                    {"name": "fine:bfloat16", "cap": 30.0, "need": 0.0},
                    {"name": "fine:float32", "cap": 30.0, "need": 3600.0},
                ],
            }
        )
    )
    assert gpu.worker(str(spec)) == 0
    events = [json.loads(line) for line in rows.read_text().splitlines()]
    assert events[0]["event"] == "env" and events[0]["device_name"]
    kinds = [(e["event"], e["task"]) for e in events[1:]]
    assert kinds == [
        ("start", "boom:float16"),
        ("error", "boom:float16"),
        ("end", "boom:float16"),
        ("start", "fine:bfloat16"),
        ("row", "fine:bfloat16"),
        ("end", "fine:bfloat16"),
        ("skip", "fine:float32"),
    ]
    assert events[2]["error"].startswith("ValueError: bad float16")
    assert events[5]["dtype"] == "bfloat16" and events[5]["deadline_ok"]


@pytest.mark.parametrize("deadline_in, need", [(-1.0, 0.0), (5.0, 10.0)])
def test_tasks_the_budget_cannot_fit_are_skipped_without_a_worker(tmp_path, deadline_in, need):
    tasks = [{**t, "need": need} for t in two_tasks()]
    sections, calls, _, _ = supervised(tmp_path, "ok", deadline_in, tasks)
    assert [sections[n]["status"] for n in "ab"] == ["skipped", "skipped"] and calls == []


def test_event_reader_waits_for_the_end_of_a_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    reader = gpu.EventReader(path)
    assert reader.read() == []  # not created yet
    path.write_bytes(b'{"event": "start", "task": "a"}\n{"event": "ro')
    assert reader.read() == [{"event": "start", "task": "a"}]
    with open(path, "ab") as fh:
        fh.write(b'w", "task": "a"}\n')
    assert reader.read() == [{"event": "row", "task": "a"}]


@given(count=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_built_in_sentences_have_one_mask_each_and_depend_only_on_the_seed(count, seed):
    texts, source = gpu.masked_sentences(count, seed, None)
    assert len(texts) == count and source.startswith("built-in")
    assert all(t.split().count("[MASK]") == 1 and t.count("[") == 1 for t in texts)
    assert gpu.masked_sentences(count, seed, None) == (texts, source)


@pytest.mark.skipif(not (SHARED / "corpora").is_dir(), reason="../shared/corpora is not present")
def test_corpus_sentences_have_one_mask_each():
    texts, source = gpu.masked_sentences(50, 0, str(SHARED / "corpora"))
    assert source.startswith("corpora:") and len(set(texts)) == 50
    assert all(t.split().count("[MASK]") == 1 and t.count("[") == 1 for t in texts)


def test_render_states_what_a_partial_run_lacks():
    doc = {
        "device": "cuda",
        "sections": {
            "parity": {"status": "timeout", "reason": "killed after its cap of 120 s", "rows": []},
            "throughput:bfloat16": {
                "status": "ok",
                "rows": [
                    {
                        "shape": "b8·L512",
                        "albert_model": {"ms": 2.0, "sequences_per_s": 4000.0, "peak_mb": 300.0},
                        "transformers": {"ms": 3.0, "sequences_per_s": 2667.0, "peak_mb": 350.0},
                        "speedup_vs_transformers": 1.5,
                    }
                ],
            },
            "compile:bfloat16": {"status": "ok", "rows": [{"shape": "b8·L512", "skipped": "time guard"}]},
            "pipeline:float16": {"status": "skipped", "reason": "the global budget ran out", "rows": []},
        },
    }
    table = gpu.render(doc)
    assert "| parity timeout: killed after its cap of 120 s |" in table
    assert "| b8·L512 (bfloat16) | 2.00 | skipped | 3.00 | 4000 / 2667 | 1.50x / — | 300 / — / 350 |" in table
    assert "| float16: skipped: the global budget ran out |" in table
    assert "Not complete: parity (timeout" in table


def test_write_readme_needs_the_markers(tmp_path, monkeypatch, capsys):
    readme = tmp_path / "README.md"
    monkeypatch.setattr(_readme, "README", readme)
    readme.write_text("# x\n", encoding="utf-8")
    assert gpu.write_readme("| t |") is False
    assert readme.read_text(encoding="utf-8") == "# x\n" and "markers" in capsys.readouterr().out
    readme.write_text("a\n<!-- bench:gpu:begin -->\nold\n<!-- bench:gpu:end -->\nb\n", encoding="utf-8")
    assert gpu.write_readme("| t |") is True
    assert readme.read_text(encoding="utf-8") == "a\n<!-- bench:gpu:begin -->\n| t |\n<!-- bench:gpu:end -->\nb\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["--dry-run", "--write-readme"],
        ["--device", "gpu"],
        ["--device", "cuda:x"],
        ["--budget-seconds", "0"],
        ["--from-json", "/nonexistent.json"],
    ],
)
def test_bad_arguments_are_refused(argv):
    with pytest.raises(SystemExit) as exc:
        gpu.parse_args(argv)
    assert exc.value.code == 2


def test_dry_run_measures_every_section_and_parity_passes(tmp_path):
    out = tmp_path / "gpu.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.gpu", "--dry-run", "--out", str(out)],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["finished"] and doc["dry_run"] and doc["device"] == "cpu"
    assert {"device_name", "torch", "transformers"} <= set(doc["env"]) and "task" not in doc["env"]
    sections = doc["sections"]
    assert list(sections) == [t["name"] for t in gpu.plan(True, True)]
    assert {name: s["status"] for name, s in sections.items()} == {name: "ok" for name in sections}, {
        name: s.get("errors") or s.get("reason") for name, s in sections.items()
    }

    parity = sections["parity"]
    assert parity["passed"] and [r["class"] for r in parity["rows"]] == list(gpu.CLASSES)
    fields = {r["class"]: set(r["fields"]) for r in parity["rows"]}
    assert {"last_hidden_state", "pooler_output", "eager:hidden_states", "eager:attentions"} <= fields["AlbertModel"]
    assert {"loss", "prediction_logits", "sop_logits"} <= fields["AlbertForPreTraining"]
    assert {"loss", "start_logits", "end_logits"} <= fields["AlbertForQuestionAnswering"]
    assert all(r["pass"] and r["max_abs_diff"] <= gpu.TOLERANCE for r in parity["rows"])

    agreement = {r["dtype"]: r for r in sections["dtype_agreement"]["rows"]}
    assert set(agreement) == {"bfloat16", "float16"}
    assert all(0.0 <= r["top1_agreement_with_float32"] <= 1.0 and r["masks"] > 0 for r in agreement.values())

    rows = sections["throughput:bfloat16"]["rows"]
    assert [r["shape"] for r in rows] == ["b2·L16", "b2·L32", "var4·L4-32"]
    for r in rows:
        for impl in ("albert_model", "transformers"):
            assert r[impl]["ms"] > 0 and r[impl]["sequences_per_s"] > 0 and r[impl]["peak_mb"] is None  # CPU
        assert r["max_abs_diff_vs_transformers"] < 0.05  # bf16, same weights
    compiled = sections["compile:bfloat16"]["rows"]
    assert [r["shape"] for r in compiled] == [r["shape"] for r in rows]
    assert all(r["compile_s"] > 0 and r["albert_model_compiled"]["ms"] > 0 for r in compiled)
    varlen = sections["varlen:bfloat16"]["rows"]
    assert [r["shape"] for r in varlen] == [r["shape"] for r in rows]
    for r in varlen:
        assert not r["flash_varlen_kernel"] and r["tokens"] < r["positions"]  # CPU: the padded-attention fallback
        assert all(r[impl]["ms"] > 0 for impl in ("padded", "varlen", "transformers"))
        assert r["max_abs_diff_varlen_vs_padded"] < 0.05  # bf16
    assert "no varlen kernel" in doc["table"]
    (pipe,) = sections["pipeline:bfloat16"]["rows"]
    assert pipe["sentences"] == 8 and pipe["albert_model_s"] > 0 and pipe["top1_agreement"] >= 0.75

    assert doc["table"] in proc.stdout and "| AlbertForMultipleChoice | 0.0e+00 | yes |" in doc["table"]
    assert "Not complete" not in doc["table"]
    rendered = subprocess.run(
        [sys.executable, "-m", "bench.gpu", "--from-json", str(out)],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert rendered.returncode == 0 and doc["table"] in rendered.stdout
