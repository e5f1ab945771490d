"""tokenize-corpus reliability: kill -9 and resume byte for byte, stale inputs never mixed in, offsets
validated on read, long lines in bounded memory with exact ids, chunking that never changes the output."""

from __future__ import annotations

import fcntl
import io
import json
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from albert_tok import AlbertTokenizer, AlbertTokenizerFast
from albert_tok.data import CorpusError, ShardedCorpus, tokenize_corpus
from albert_tok.data._corpus import LOCK
from albert_tok.data._encode import CHARS_PER_TOKEN, decode_lines, encode_chunk, shorten_long_lines
from albert_tok.data._sources import open_inputs, plan_shards

from . import strategies
from .conftest import ROOT, SPIECE

WORDS = [
    "Hello",
    "world.",
    "ALBERT's",
    "1,000",
    "(canonical)",
    "ids",
    "café",
    "ﬁ",
    "中文",
    "😀",
    "a",
    "[MASK]",
    "x666",
    "bbb",
    "``quoted''",
    "–",
    "£3",
    "the",
    "Paris",
    "naïve",
]


@pytest.fixture(scope="module")
def slow():
    return AlbertTokenizer(SPIECE)


@pytest.fixture(scope="module")
def fast():
    return AlbertTokenizerFast(SPIECE)


def make_lines(n: int, seed: int = 0, prefix: str = "") -> list[str]:
    rng = random.Random(seed)
    return [prefix + " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12))) for _ in range(n)]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def rows(out_dir) -> list[list[int]]:
    corpus = ShardedCorpus(out_dir)
    return [corpus[i]["input_ids"].tolist() for i in range(len(corpus))]


def snapshot(out_dir: Path) -> dict[str, bytes]:
    """Every file of a corpus directory but the lock, by name."""
    return {p.name: p.read_bytes() for p in sorted(out_dir.iterdir()) if p.name != LOCK}


def record_times(out_dir: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in out_dir.glob("shard-*.json")}


# -- kill -9 at random points, then resume: byte for byte a clean run ---------------------------------------
# The run stops before the N-th file-system step of its main thread (a write, fsync, rename or unlink: the
# points between which a kill leaves different files behind), says "stopped" on standard output and waits
# there, reading standard input (a pipe the test never writes to), until the test kills it: the kill lands
# at a point the test chose, however slow the machine. Each worker says "ready PID" once it is set up.
KILLABLE = textwrap.dedent("""
    import os, sys, threading
    import albert_tok.data._corpus as C
    from albert_tok import AlbertTokenizer

    source, out, spiece, workers, stop_at = sys.argv[1:6]
    main, steps, say = os.getpid(), [0], os.write

    def step(real):
        def hooked(*args, **kwargs):
            if os.getpid() == main and threading.current_thread() is threading.main_thread():
                steps[0] += 1
                if steps[0] == int(stop_at):
                    say(1, b"stopped\\n")
                    os.read(0, 1)
            return real(*args, **kwargs)
        return hooked

    for name in ("write", "fsync", "replace", "rename", "unlink"):
        setattr(os, name, step(getattr(os, name)))
    real_init = C.init_worker

    def init_worker(*args):
        real_init(*args)
        say(1, f"ready {os.getpid()}\\n".encode())

    C.init_worker = init_worker
    C.tokenize_corpus([source], out, AlbertTokenizer(spiece), workers=int(workers), shard_lines=60,
                      chunk_bytes=700, progress=False)
""")
WAIT = 120  # seconds a run may take to reach its stop; far more than it needs


def start_killable(source: Path, out: Path, workers: int, stop_at: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", KILLABLE, str(source), str(out), str(SPIECE), str(workers), str(stop_at)],
        cwd=ROOT,
        start_new_session=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def read_until_stopped(proc: subprocess.Popen, workers: int = 0) -> tuple[bool, list[int]]:
    """Read the run's lines until it has stopped and ``workers`` workers are ready (True), or until it ended
    without stopping (False); also the ready workers' pids. Bounded: one line per read, ``WAIT`` seconds."""
    deadline = time.monotonic() + WAIT
    stopped, ready = False, []
    while not (stopped and len(ready) >= workers):
        left = deadline - time.monotonic()
        assert left > 0 and select.select([proc.stdout], [], [], left)[0], (
            f"the run neither stopped nor ended within {WAIT} s"
        )
        line = proc.stdout.readline().decode()
        if not line:  # end of output: the run is over
            assert proc.wait() == 0, proc.stderr.read().decode()[-2000:]
            return False, ready
        if line == "stopped\n":
            stopped = True
        else:
            assert line.startswith("ready "), line
            ready.append(int(line.split()[1]))
    return True, ready


def finish(proc: subprocess.Popen) -> None:
    """Kill what is left of the run's session and close its pipes."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        stream.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_anywhere_then_resume_is_byte_identical_to_a_clean_run(slow, tmp_path, workers):
    source = write_lines(tmp_path / "in.txt", make_lines(1500, seed=workers))
    clean, resumed = tmp_path / "clean", tmp_path / "resumed"
    tokenize_corpus([str(source)], str(clean), slow, workers=1, shard_lines=60, chunk_bytes=700, progress=False)
    rng = random.Random(1234 + workers)
    partial = 0
    for _ in range(4):
        stop_at = rng.randint(1, 60)  # about 12 steps a shard: somewhere in the next five shards
        proc = start_killable(source, resumed, workers, stop_at)
        try:
            stopped, _ = read_until_stopped(proc)
            if stopped:
                os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes, as `kill -9` of the job
                assert proc.wait() == -signal.SIGKILL
        finally:
            finish(proc)
        if not (resumed / "manifest.json").exists():
            partial += 1
            with pytest.raises(CorpusError, match=r"no manifest.json"):
                ShardedCorpus(resumed)  # an interrupted run is never read as a corpus
    assert partial, "no kill landed inside a run: the test proved nothing"
    tokenize_corpus([str(source)], str(resumed), slow, workers=workers, shard_lines=60, chunk_bytes=700, progress=False)
    assert snapshot(resumed) == snapshot(clean)


def _session(sid: int) -> list[int]:
    """Processes still alive in session ``sid``."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _wait_for_exit(pid: int, timeout: float) -> bool:
    """Whether process ``pid`` (not a child of ours) ends within ``timeout`` seconds: waits on a pidfd."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True  # already gone
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


@pytest.mark.skipif(
    not Path("/proc/self/stat").exists() or not hasattr(os, "pidfd_open"), reason="reads /proc, waits on pidfds"
)
def test_workers_of_a_killed_run_exit_and_free_the_directory(slow, tmp_path):
    source = write_lines(tmp_path / "in.txt", make_lines(1500))
    out = tmp_path / "out"
    proc = start_killable(source, out, 2, stop_at=20)  # inside shard 1 or 2, of 25
    try:
        stopped, workers = read_until_stopped(proc, workers=2)
        assert stopped and len(workers) == 2
        assert set(workers) <= set(_session(proc.pid))
        proc.kill()  # the parent only: its workers are orphaned
        proc.wait()
        with open(out / LOCK) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free at once: the workers closed their copy
        assert all(_wait_for_exit(pid, timeout=10) for pid in workers)  # and they exit by themselves
        assert _session(proc.pid) == []
    finally:
        finish(proc)


def test_files_left_by_a_killed_run_are_removed(slow, tmp_path):
    source = write_lines(tmp_path / "in.txt", make_lines(50))
    out = tmp_path / "out"
    out.mkdir()
    for name in (".shard-00000.ids.npy.atomic-tmp", ".manifest.json.atomic-tmp"):
        (out / name).write_bytes(b"half")
    (out / "notes.txt").write_text("mine")
    (out / ".tmp-x1y2").write_text("also mine: not a name this package writes")
    tokenize_corpus([str(source)], str(out), slow, shard_lines=20, progress=False)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == sorted([LOCK, ".tmp-x1y2"])
    assert (out / "notes.txt").read_text() == "mine"
    assert rows(out) == slow(make_lines(50), truncation=True)["input_ids"]


def test_a_second_run_into_the_same_directory_is_refused(slow, tmp_path):
    source = write_lines(tmp_path / "in.txt", make_lines(10))
    out = tmp_path / "out"
    out.mkdir()
    with open(out / LOCK, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(CorpusError, match="being written by another tokenize-corpus run"):
            tokenize_corpus([str(source)], str(out), slow, progress=False)
    tokenize_corpus([str(source)], str(out), slow, progress=False)  # free again


# -- stale inputs: shards are kept only for the same bytes ------------------------------------------------------
def test_grown_file_keeps_unchanged_shards_and_redoes_the_rest(slow, tmp_path):
    lines = make_lines(4000)
    source = write_lines(tmp_path / "in.txt", lines[:2500])
    out = tmp_path / "out"
    tokenize_corpus([str(source)], str(out), slow, shard_lines=1000, progress=False)
    before = record_times(out)
    write_lines(source, lines)
    manifest = tokenize_corpus([str(source)], str(out), slow, shard_lines=1000, progress=False)
    assert manifest["rows"] == 4000 and manifest["shard_rows"] == [1000] * 4
    assert rows(out) == slow(lines, truncation=True)["input_ids"]  # was: 3,500 rows, row 2500 = line 3000
    after = record_times(out)
    assert [after[n] == before[n] for n in sorted(before)] == [True, True, False]  # the partial shard is redone


def test_another_file_into_the_same_directory_replaces_every_shard(slow, tmp_path):
    first = write_lines(tmp_path / "first.txt", make_lines(300, seed=1))
    second = write_lines(tmp_path / "second.txt", make_lines(120, seed=2, prefix="other "))
    out = tmp_path / "out"
    tokenize_corpus([str(first)], str(out), slow, shard_lines=50, progress=False)
    manifest = tokenize_corpus([str(second)], str(out), slow, shard_lines=50, progress=False)
    assert [i["path"] for i in manifest["inputs"]] == [str(second)]
    assert rows(out) == slow(make_lines(120, seed=2, prefix="other "), truncation=True)["input_ids"]
    assert sorted(p.name for p in out.glob("shard-*.json")) == [f"shard-0000{i}.json" for i in range(3)]
    assert not list(out.glob("shard-0000[3-9].*"))  # the longer input's extra shards are gone


def test_one_edited_line_redoes_only_its_shard(slow, tmp_path):
    lines = make_lines(500)
    source = write_lines(tmp_path / "in.txt", lines)
    out = tmp_path / "out"
    tokenize_corpus([str(source)], str(out), slow, shard_lines=100, progress=False)
    before = record_times(out)
    lines[250] = "an edited line"
    write_lines(source, lines)
    tokenize_corpus([str(source)], str(out), slow, shard_lines=100, progress=False)
    after = record_times(out)
    assert [n for n in sorted(before) if after[n] != before[n]] == ["shard-00002.json"]
    assert rows(out) == slow(lines, truncation=True)["input_ids"]


def test_a_line_break_moved_between_files_is_a_change(slow, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    out = tmp_path / "out"
    a.write_bytes(b"one\ntwo")  # rows: one, two, three
    b.write_bytes(b"three\n")
    tokenize_corpus([str(a), str(b)], str(out), slow, progress=False)
    a.write_bytes(b"one\n")  # the same bytes in a row, but rows: one, twothree
    b.write_bytes(b"twothree\n")
    tokenize_corpus([str(a), str(b)], str(out), slow, progress=False)
    assert rows(out) == slow(["one", "twothree"], truncation=True)["input_ids"]


def test_standard_input_is_verified_by_content(slow, tmp_path, monkeypatch):
    out = tmp_path / "out"

    def run(lines):
        data = "".join(line + "\n" for line in lines).encode()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        return tokenize_corpus(["-"], str(out), slow, shard_lines=40, workers=1, progress=False)

    lines = make_lines(100)
    manifest = run(lines)
    assert manifest["inputs"][0]["path"] == "-" and manifest["inputs"][0]["mtime_ns"] is None
    before = record_times(out)
    run(lines)
    assert record_times(out) == before  # the same bytes: every shard kept
    changed = lines[:60] + make_lines(30, seed=9, prefix="new ")
    run(changed)
    after = record_times(out)
    assert (
        after["shard-00000.json"] == before["shard-00000.json"]
        and after["shard-00001.json"] != before["shard-00001.json"]
    )
    assert rows(out) == slow(changed, truncation=True)["input_ids"]


def test_an_interrupted_rerun_leaves_no_manifest_to_mix_from(slow, tmp_path, monkeypatch):
    import albert_tok.data._corpus as C

    first = write_lines(tmp_path / "first.txt", make_lines(200, seed=1))
    second = write_lines(tmp_path / "second.txt", make_lines(200, seed=2))
    out = tmp_path / "out"
    tokenize_corpus([str(first)], str(out), slow, shard_lines=50, progress=False)
    real = C.write_shard

    def die_after_one(*args):
        real(*args)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(C, "write_shard", die_after_one)
    with pytest.raises(KeyboardInterrupt):
        tokenize_corpus([str(second)], str(out), slow, shard_lines=50, progress=False)
    with pytest.raises(CorpusError, match=r"no manifest.json"):
        ShardedCorpus(out)  # shard 0 is new, shards 1-3 old: nothing may read that as one corpus
    monkeypatch.setattr(C, "write_shard", real)
    tokenize_corpus([str(second)], str(out), slow, shard_lines=50, progress=False)
    assert rows(out) == slow(make_lines(200, seed=2), truncation=True)["input_ids"]


@pytest.mark.parametrize("damage", ["bad json", "missing ids", "short offsets"])
def test_a_damaged_shard_is_redone(slow, tmp_path, damage):
    lines = make_lines(100)
    source = write_lines(tmp_path / "in.txt", lines)
    out = tmp_path / "out"
    tokenize_corpus([str(source)], str(out), slow, shard_lines=40, progress=False)
    if damage == "bad json":
        (out / "shard-00001.json").write_text("{not json")
    elif damage == "missing ids":
        (out / "shard-00001.ids.npy").unlink()
    else:
        np.save(out / "shard-00001.offsets.npy", np.array([0, 1], dtype=np.int64))
    tokenize_corpus([str(source)], str(out), slow, shard_lines=40, progress=False)
    assert rows(out) == slow(lines, truncation=True)["input_ids"]


def test_another_tokenizer_is_refused_naming_the_difference(slow, tmp_path):
    source = write_lines(tmp_path / "in.txt", make_lines(20))
    tokenize_corpus([str(source)], str(tmp_path / "out"), slow, progress=False)
    accents = AlbertTokenizer(SPIECE, keep_accents=True)
    with pytest.raises(CorpusError, match=r"another tokenizer \(shard-00000.json: tokenizer_sha256"):
        tokenize_corpus([str(source)], str(tmp_path / "out"), accents, progress=False)
    assert len(ShardedCorpus(tmp_path / "out")) == 20  # a refused run changes nothing


# -- ShardedCorpus checks what it maps ---------------------------------------------------------------------
@pytest.fixture()
def built(slow, tmp_path):
    source = write_lines(tmp_path / "in.txt", make_lines(30))
    out = tmp_path / "out"
    tokenize_corpus([str(source)], str(out), slow, shard_lines=10, progress=False)
    return out


@pytest.mark.parametrize(
    "offsets, match",
    [
        (lambda o: o + 1, "offsets must run from 0"),
        (lambda o: o[:-1], "offsets must run from 0 to the"),
        (lambda o: np.concatenate([o[:3], o[2:3] - 1, o[4:]]), "offsets decrease at row 2"),
        (lambda o: o.astype(np.float64), "offsets must be a non-empty 1-D integer array"),
        (lambda o: o.reshape(1, -1), "offsets must be a non-empty 1-D integer array"),
        (lambda o: o[:0], "offsets must be a non-empty 1-D integer array"),
    ],
)
def test_offsets_are_validated_on_open(built, offsets, match):
    path = built / "shard-00001.offsets.npy"
    np.save(path, offsets(np.load(path)))
    with pytest.raises(CorpusError, match=match) as info:
        ShardedCorpus(built)
    assert "shard-00001" in str(info.value)


def test_row_counts_and_files_are_validated_on_open(built):
    manifest = json.loads((built / "manifest.json").read_text())
    manifest["shard_rows"][2] += 1
    (built / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorpusError, match=r"shard-00002.*10 rows where 11 were expected"):
        ShardedCorpus(built)
    manifest["shard_rows"][2] -= 1
    (built / "manifest.json").write_text(json.dumps(manifest))
    ids = built / "shard-00000.ids.npy"
    ids.write_bytes(b"garbage")
    with pytest.raises(CorpusError, match=r"shard-00000.ids.npy: not a readable .npy array"):
        ShardedCorpus(built)
    ids.unlink()
    with pytest.raises(CorpusError, match=r"shard-00000.ids.npy is missing"):
        ShardedCorpus(built)
    (built / "manifest.json").write_text("[1, 2]")
    with pytest.raises(CorpusError, match=r"manifest.json: expected a JSON object"):
        ShardedCorpus(built)
    (built / "manifest.json").write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(CorpusError, match="format 99 is not one this version reads"):
        ShardedCorpus(built)


def test_type_starts_are_validated_on_open(slow, tmp_path):
    source = write_lines(tmp_path / "in.txt", make_lines(20))
    out = tmp_path / "out"
    tokenize_corpus([str(source)], str(out), slow, shard_lines=10, pair_sentences=True, progress=False)
    path = out / "shard-00000.type_starts.npy"
    np.save(path, np.load(path) + 1000)
    with pytest.raises(CorpusError, match=r"shard-00000.*type start lies outside its row"):
        ShardedCorpus(out)
    np.save(path, np.load(path)[:-1])
    with pytest.raises(CorpusError, match="type starts must be one integer per row"):
        ShardedCorpus(out)


# -- long lines: bounded memory, exact ids -------------------------------------------------------------------
long_lines = st.lists(
    st.lists(st.one_of(st.sampled_from(WORDS), strategies.text), min_size=0, max_size=90).map(" ".join),
    min_size=1,
    max_size=6,
)


@settings(max_examples=40, deadline=None)
@given(lines=long_lines, max_length=st.integers(3, 12), pairs=st.booleans())
def test_cut_long_lines_give_the_ids_of_the_whole_lines(slow, fast, lines, max_length, pairs):
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    for tok in (slow, fast):
        got = encode_chunk(tok, [("x", 0, data)], max_length, pairs, "strict", np.int32)
        rows_ = np.split(got.ids, np.cumsum(got.lengths)[:-1]) if len(got.lengths) else []
        if pairs:
            seconds = lines[1::2] + ([""] if len(lines) % 2 else [])
            expected = tok(lines[0::2], seconds, truncation=True, max_length=max_length)
            assert got.type_starts.tolist() == [t.index(1) if 1 in t else len(t) for t in expected["token_type_ids"]]
        else:
            expected = tok(lines, truncation=True, max_length=max_length)
        assert [r.tolist() for r in rows_] == expected["input_ids"]


def test_a_cut_is_taken_only_when_it_keeps_enough_tokens(slow):
    limit = 8 * CHARS_PER_TOKEN
    words = " ".join(["word"] * 100)
    spaces = "a" + " " * (limit + 10) + "b c d e f g h i j k l"  # the cut would keep one token
    no_space = "x" * (limit + 50)
    assert shorten_long_lines(slow, [words, spaces, no_space, "short"], 8) == [
        words[: words.index(" ", limit)],
        spaces,
        no_space,
        "short",
    ]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_one_huge_line_takes_little_memory(tmp_path):
    """A 5 MB line took 696 MB (tokenized whole); now it is cut before tokenizing."""
    rng = random.Random(0)
    line = " ".join(rng.choice(WORDS[:12]) for _ in range(900_000))
    source = tmp_path / "long.txt"
    source.write_text(line + "\nshort\n", encoding="utf-8")
    # VmHWM, not ru_maxrss: the latter keeps the high-water mark of the (large) pytest process forked before exec
    script = (
        "import sys; from albert_tok import AlbertTokenizer; from albert_tok.data import tokenize_corpus\n"
        "m = tokenize_corpus([sys.argv[1]], sys.argv[2], AlbertTokenizer(sys.argv[3]), workers=1, progress=False)\n"
        "peak = [line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0]\n"
        "print(m['rows'], m['tokens'], int(peak) // 1024)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(source), str(tmp_path / "out"), str(SPIECE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    n_rows, tokens, peak_mb = map(int, proc.stdout.split())
    assert (n_rows, tokens) == (2, 512 + 3) and peak_mb < 250


def test_no_warning_escapes_the_workers(slow, tmp_path):
    source = write_lines(tmp_path / "in.txt", [" ".join(["word"] * 400)] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tokenize_corpus([str(source)], str(tmp_path / "out"), slow, max_length=16, progress=False)


# -- chunks and shards: how the work is cut never changes the output -------------------------------------------
files = st.lists(
    st.lists(st.sampled_from(["", "a", "b c", "é", "中", "x\r", "\r", "word " * 5]), max_size=12).map(
        lambda ls: "\n".join(ls).encode()
    )
    | st.binary(max_size=0)
    | st.just(b"tail without newline"),
    min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contents=files, shard_lines=st.integers(1, 6), chunk_bytes=st.integers(1, 40), pairs=st.booleans())
def test_shard_plan_covers_every_line_once_on_line_ends(contents, shard_lines, chunk_bytes, pairs):
    shard_lines += shard_lines % 2 if pairs else 0
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, data in enumerate(contents):
            paths.append(os.path.join(tmp, f"{i}.txt"))
            Path(paths[-1]).write_bytes(data)
        expected = [
            line.rstrip("\r")
            for data in contents
            if data
            for line in data.decode().split("\n")[: -1 if data.endswith(b"\n") else None]
        ]
        inputs = open_inputs(paths)
        try:
            shards = list(plan_shards(inputs, shard_lines, chunk_bytes, pairs))
            seen = []
            for shard in shards:
                for chunk in shard.chunks:
                    parts = [
                        (inputs[s.source].path, s.start, inputs[s.source].read(s.start, s.end, s.crc))
                        for s in chunk.segments
                    ]
                    lines = decode_lines(parts, "strict")
                    assert len(lines) == chunk.lines
                    seen += lines
                chunk_lines = [c.lines for c in shard.chunks]
                assert sum(chunk_lines) == shard.lines
                if pairs:
                    assert all(n % 2 == 0 for n in chunk_lines[:-1])
            assert seen == expected
            assert [s.lines for s in shards[:-1]] == [shard_lines] * (len(shards) - 1)
            assert [s.index for s in shards] == list(range(len(shards)))
        finally:
            for inp in inputs:
                inp.close()


@pytest.mark.parametrize(
    "chunk_bytes, workers, start", [(1, 1, None), (37, 1, None), (37, 2, "fork"), (37, 2, "spawn"), (1 << 20, 1, None)]
)
def test_chunking_and_workers_never_change_a_byte(slow, tmp_path, monkeypatch, chunk_bytes, workers, start):
    import albert_tok.data._corpus as C

    if start is not None:
        monkeypatch.setattr(C, "_start_method", lambda: start)
    lines = make_lines(90)
    source = write_lines(tmp_path / "in.txt", lines)
    tokenize_corpus([str(source)], str(tmp_path / "ref"), slow, shard_lines=32, progress=False)
    tokenize_corpus(
        [str(source)],
        str(tmp_path / "out"),
        slow,
        shard_lines=32,
        chunk_bytes=chunk_bytes,
        workers=workers,
        progress=False,
    )
    assert snapshot(tmp_path / "out") == snapshot(tmp_path / "ref")
