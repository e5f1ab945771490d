"""Tokenizer throughput on the shared corpora: our slow and fast batch paths against raw SentencePiece,
raw Rust tokenizers and transformers 5's ALBERT tokenizer, on the same padded call.

    python -m bench.tokenizer_speed [--corpus FILE ...] [--repeat 15] [--share-runs 5] [--write-readme]
    python -m bench.tokenizer_speed --small-calls-only

Three tables. The first is every corpus together: MB/s, lines/s and speed against transformers 5 (run in
bench/.venv-tf5, made by bench/setup_reference.sh, when present, else the transformers installed here,
labelled with its version). The second is small calls (:func:`small_calls`): one text per call (``tok(text)``,
with ``return_tensors="np"`` and ``"pt"``, ``tok.encode(text)``) and batches of 8 and 32, for both classes, with
the ratios issue 27 sets goals for: the faster class against transformers 5 and against raw SentencePiece's
``encode`` of the same text, the other class against the faster (``--small-calls-only`` prints it alone). The
third gives, per kind of text (wikitext lines; short prose lines: tinyshakespeare and botchan), the share of the
raw library each path reaches:

* slow: ``AlbertTokenizer(lines, padding=True, truncation=True, max_length=512, return_tensors="np")``
  against ``SentencePieceProcessor.encode(lower-cased lines, num_threads=-1)`` (the tokenizer's own
  ``num_threads``), which does no ALBERT preprocessing, special tokens, added-token split or padding;
* the slow share's bound: raw SentencePiece on the lines over raw SentencePiece on the items the slow tokenizer
  gives it (:func:`sentencepiece_items`: each line, or each part around an added token, preprocessed), the share
  the slow path would reach if nothing but SentencePiece cost time;
* the garbage collector: both tokenizers pause it for the length of a call (albert_tok/api/_gc_pause.py); the
  slow share is also given with that pause made a no-op (the call as it was before), and against raw
  SentencePiece called inside the same pause;
* page faults: the minor page faults and system time of each slow call and raw SentencePiece call
  (:class:`FaultClock`): the first write to each fresh 4 KiB page of the padded arrays costs a fault;
* fast: ``AlbertTokenizerFast`` with the same call (without offsets it encodes with SentencePiece, as the slow
  class does, where it has the ``spiece.model``) against raw ``tokenizers.Tokenizer.encode_batch`` running
  transformers 4's own converted ``tokenizer.json`` (the Rust tokenizer a transformers user gets).

Every path runs ``--repeat`` times, taking turns with the raw library it is compared with, and the fastest run
of each is kept: the machine is shared, and the minimum is the figure least disturbed by other work. The shares
are also given as the median over rounds of the ratio within a round (:func:`paired_share`), which a burst of
other work during a few rounds does not move. The share measurement runs ``--share-runs`` times (5), and the
range of each share over those runs is printed under the table. Writes bench/results/tokenize.json.
Not a test: figures are ratios measured in one run on one machine.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from albert_tok import AlbertTokenizer, AlbertTokenizerFast
from albert_tok.api import _base as base
from albert_tok.api._gc_pause import gc_paused
from albert_tok.engines import _sentencepiece as engine_module
from bench._timing import fastest, interleaved_best, interleaved_runs

ROOT = Path(__file__).resolve().parent.parent

SPIECE = ROOT / "fixtures" / "spiece.model"
CORPORA = ROOT.parent / "shared" / "corpora"
DEFAULT_CORPORA = sorted(CORPORA.glob("*.txt"))
GROUPS = {
    "wikitext lines": ("wikitext-2-valid.tokens.txt",),
    "short prose lines": ("tinyshakespeare.txt", "botchan.txt"),
}
REF_PYTHON = ROOT / "bench" / ".venv-tf5" / "bin" / "python"
CALL: dict[str, Any] = {"padding": True, "truncation": True, "max_length": 512, "return_tensors": "np"}
# Every comparison here takes turns in an order shuffled each round with this seed (bench._timing.interleaved_runs).
SHUFFLED = 0
# Seconds slept before each run of the pair that holds raw Rust tokenizers, so that its idle threads stop spinning.
RUST_PAUSE = 0.2
# The share table's columns: header, the key of :func:`shares`' result, and the key of its paired median (or None).
SHARE_COLUMNS = [
    ("slow share of raw SentencePiece (paired median)", "slow share of raw sentencepiece", "slow share, paired median"),
    ("its bound (SentencePiece items)", "slow share bound", None),
    ("slow share, collector left on", "slow share, collector left on", None),
    (
        "slow share of raw SentencePiece with the collector paused",
        "slow share of raw sentencepiece with the collector paused",
        None,
    ),
    ("fast share of raw tokenizers (paired median)", "fast share of raw tokenizers", "fast share, paired median"),
]

# Runs in bench/.venv-tf5 (which has no albert installed) from the repository root, which makes bench._timing
# importable there.
REFERENCE_SNIPPET = r"""
import json, os, shutil, sys, tempfile
import numpy as np
import transformers
from bench._timing import repeated
lines = json.load(open(sys.argv[1], encoding="utf-8"))
# A directory with spiece.model only, so transformers converts it with its own converter.
d = tempfile.mkdtemp()
shutil.copy(sys.argv[2], os.path.join(d, "spiece.model"))
with open(os.path.join(d, "tokenizer_config.json"), "w") as fh:
    json.dump({"tokenizer_class": "AlbertTokenizer"}, fh)
tok = transformers.AutoTokenizer.from_pretrained(d)
times, enc = repeated(lambda: tok(lines, padding=True, return_tensors="np"), int(sys.argv[4]))
best = min(times)
np.save(sys.argv[3], enc["input_ids"])
small = {}
spec = json.load(open(sys.argv[5], encoding="utf-8"))
try:
    import torch  # noqa: F401  # return_tensors="pt" needs it; bench/setup_reference.sh installs it
    kinds = spec["kinds"]
except ImportError:
    kinds = [k for k in spec["kinds"] if k != "pt"]
one = spec["one text"]
calls = {
    "call": lambda t: tok(t),
    "np": lambda t: tok(t, return_tensors="np"),
    "pt": lambda t: tok(t, return_tensors="pt"),
    "encode": lambda t: tok.encode(t),
}
for kind in kinds:
    call = calls[kind]
    def loop(call=call):
        for t in one:
            call(t)
    small[kind] = min(repeated(loop, int(sys.argv[8]))[0]) / len(one)
for name, texts in spec["batches"].items():
    def loop(texts=texts):
        for _ in range(int(sys.argv[7])):
            tok(texts, padding=True, return_tensors="np")
    small[name] = min(repeated(loop, int(sys.argv[6]))[0]) / int(sys.argv[7])
print(json.dumps({"seconds": best, "version": transformers.__version__, "class": type(tok).__name__,
                  "small calls": small}))
"""


def paired_share(runs: dict[str, list[float]], raw: str, ours: str) -> float:
    """The median over rounds of the raw path's seconds over ours in the same round: a burst of other work on
    the machine slows both runs of a round, or shows in a few rounds only, where it can move a ratio of two
    minimums taken minutes apart."""
    return float(np.median([r / o for r, o in zip(runs[raw], runs[ours], strict=False)]))


def run_reference(lines: list[str], repeat: int, small: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray] | None:
    """transformers 5's tokenizer on ``lines`` (fastest of ``repeat`` padded calls) and on the small calls
    (:func:`small_call_inputs`; seconds per call, the one-text calls under :data:`ONE_TEXT_CALLS`' keys), in its
    own environment; None where it can't run. ``"pt"`` is left out where that environment has no torch."""
    python = str(REF_PYTHON) if REF_PYTHON.exists() else sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        src, ids, small_src = (os.path.join(tmp, name) for name in ("lines.json", "ids.npy", "small.json"))
        for path, value in ((src, lines), (small_src, small)):
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(value, fh)
        proc = subprocess.run(
            [
                python,
                "-c",
                REFERENCE_SNIPPET,
                src,
                str(SPIECE),
                ids,
                str(repeat),
                small_src,
                str(SMALL_CALL_ROUNDS),
                str(SMALL_CALL_LOOPS),
                str(ONE_TEXT_ROUNDS),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        if proc.returncode != 0:
            print(f"transformers reference unavailable: {proc.stderr.strip().splitlines()[-1:]}")
            return None
        return json.loads(proc.stdout.strip().splitlines()[-1]), np.load(ids)


# Small calls: what one text, or one pipeline-sized batch, costs per call (start-up costs of a call show here, not
# in the corpus tables).
# The calls on one text (a str), by the key the transformers 5 snippet knows them by.
ONE_TEXT_CALLS: dict[str, tuple[str, Callable[[Any, str], Any]]] = {
    "call": ("tok(text)", lambda tok, text: tok(text)),
    "np": ('tok(text, return_tensors="np")', lambda tok, text: tok(text, return_tensors="np")),
    "pt": ('tok(text, return_tensors="pt")', lambda tok, text: tok(text, return_tensors="pt")),
    "encode": ("tok.encode(text)", lambda tok, text: tok.encode(text)),
}
ONE_TEXT_SAMPLE = 128  # sentences each one-text loop goes through, one call each
SMALL_CALL_SIZES = {"8 texts (padded np)": 8, "32 texts (padded np)": 32}
SMALL_CALL_LOOPS = 200  # calls per loop on a batch
SMALL_CALL_ROUNDS = 7  # loops of each path on a batch, taking turns; the fastest is kept
ONE_TEXT_ROUNDS = 31  # loops of each one-text path (a loop is a millisecond or two: many, so that some run undisturbed)
# What issue 27 asks of one text per call: the faster class >= this many times transformers 5's speed, within
# this many times raw SentencePiece's time, and the other class within this many times the faster one's.
GOAL_VS_TRANSFORMERS, GOAL_VS_RAW, GOAL_OTHER_CLASS = 3.0, 4.0, 1.5


def small_call_inputs(lines: list[str]) -> dict[str, Any]:
    """The texts of the small calls, the same for every path: :data:`ONE_TEXT_SAMPLE` corpus lines of 40-200
    characters (a sentence or two) for the one-text calls, and for each of :data:`SMALL_CALL_SIZES` that many."""
    pool = [line for line in lines if 40 <= len(line) <= 200]
    rng = random.Random(0)
    return {
        "one text": rng.sample(pool, ONE_TEXT_SAMPLE),
        "batches": {name: rng.sample(pool, size) for name, size in SMALL_CALL_SIZES.items()},
        "kinds": list(ONE_TEXT_CALLS),
    }


def _loop(fn: Callable[[], Any], times: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(times):
            fn()

    return run


def small_calls(
    slow: AlbertTokenizer, fast: AlbertTokenizerFast, inputs: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """Seconds per call of both tokenizers and of raw SentencePiece (one text: ``encode(str)`` on the text
    lower-cased; a batch: ``encode(list, num_threads)``, lower-cased), the fastest loop of each path, all paths of a
    row taking turns. One text: :data:`ONE_TEXT_ROUNDS` loops, each one call on each of the sample sentences; every
    one-text call of both classes takes turns with the one raw SentencePiece loop, so that their ratios to it are
    measured within the same rounds. A batch: :data:`SMALL_CALL_ROUNDS` loops of :data:`SMALL_CALL_LOOPS` calls."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(SPIECE))
    out: dict[str, dict[str, float]] = {}
    one: list[str] = inputs["one text"]
    lowered_one = [t.lower() for t in one]

    def over_sample(call: Callable[[str], Any], texts: list[str]) -> Callable[[], None]:
        def run() -> None:
            for text in texts:
                call(text)

        return run

    paths: dict[str, Callable[[], Any]] = {"raw sentencepiece": over_sample(sp.encode, lowered_one)}
    for kind, (_, call) in ONE_TEXT_CALLS.items():
        for name, tok in (("slow", slow), ("fast", fast)):
            paths[f"{name} {kind}"] = over_sample(lambda text, tok=tok, call=call: call(tok, text), one)
    runs, _ = interleaved_runs(paths, ONE_TEXT_ROUNDS, order_seed=SHUFFLED)
    best = {path: seconds / len(one) for path, seconds in fastest(runs).items()}
    for kind in ONE_TEXT_CALLS:
        out[kind] = {
            "slow": best[f"slow {kind}"],
            "fast": best[f"fast {kind}"],
            "raw sentencepiece": best["raw sentencepiece"],
        }
    for name, texts in inputs["batches"].items():
        lowered = [t.lower() for t in texts]
        batch_paths = {
            "slow": _loop(lambda texts=texts: slow(texts, padding=True, return_tensors="np"), SMALL_CALL_LOOPS),
            "fast": _loop(lambda texts=texts: fast(texts, padding=True, return_tensors="np"), SMALL_CALL_LOOPS),
            "raw sentencepiece": _loop(
                lambda lowered=lowered: sp.encode(lowered, num_threads=slow.num_threads), SMALL_CALL_LOOPS
            ),
        }
        runs, _ = interleaved_runs(batch_paths, SMALL_CALL_ROUNDS, order_seed=SHUFFLED)
        out[name] = {path: seconds / SMALL_CALL_LOOPS for path, seconds in fastest(runs).items()}
    return out


def small_call_table(small: dict[str, dict[str, float]], reference: dict[str, float] | None, label: str) -> list[str]:
    """The small-calls table: microseconds of each class, raw SentencePiece and transformers 5, and the ratios
    issue 27 sets goals for (the faster class against transformers 5 and raw SentencePiece, the other class against
    the faster), with a line saying which goals hold."""
    table = [
        f"| call | albert_tok slow us | albert_tok fast us | raw SentencePiece us | {label} us | "
        f"faster class: speed vs {label} (goal >= {GOAL_VS_TRANSFORMERS:g}x) | "
        f"faster class: time / raw SentencePiece (goal <= {GOAL_VS_RAW:g}x) | "
        f"other class / faster (goal <= {GOAL_OTHER_CLASS:g}x) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    held: list[str] = []
    missed: list[str] = []
    for key, timed in small.items():
        title = ONE_TEXT_CALLS[key][0] + " (one text)" if key in ONE_TEXT_CALLS else key
        faster, other = sorted((timed["slow"], timed["fast"]))
        theirs = reference.get(key) if reference else None
        vs_theirs = theirs / faster if theirs else None
        vs_raw = faster / timed["raw sentencepiece"]
        table.append(
            f"| {title} | {timed['slow'] * 1e6:.1f} | {timed['fast'] * 1e6:.1f} | "
            f"{timed['raw sentencepiece'] * 1e6:.1f} | "
            + (f"{theirs * 1e6:.1f} | {vs_theirs:.2f}x" if vs_theirs else "n/a | n/a")
            + f" | {vs_raw:.2f}x | {other / faster:.2f}x |"
        )
        if key in ONE_TEXT_CALLS:
            goals = [
                ("vs transformers 5", None if vs_theirs is None else vs_theirs >= GOAL_VS_TRANSFORMERS),
                ("vs raw SentencePiece", vs_raw <= GOAL_VS_RAW),
                ("other class", other / faster <= GOAL_OTHER_CLASS),
            ]
            for goal, ok in goals:
                if ok is not None:
                    (held if ok else missed).append(f"{title} {goal}")
    table += [
        "",
        f"One-text goals held: {len(held)} of {len(held) + len(missed)}"
        + (f"; missed: {', '.join(missed)}." if missed else "."),
    ]
    return table


def transformers_rust_tokenizer(fast: AlbertTokenizerFast) -> tuple[Any, str]:
    """The Rust tokenizer of transformers 4's own ALBERT conversion (what its fast class runs), or ours
    when transformers is not installed here."""
    from tokenizers import Tokenizer

    try:
        import transformers
    except ImportError:
        return fast.backend_tokenizer, "albert_tok's converted tokenizer.json (transformers not installed)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = transformers.AlbertTokenizerFast(vocab_file=str(SPIECE))
    return (
        Tokenizer.from_str(theirs.backend_tokenizer.to_str()),
        f"transformers {transformers.__version__}'s converted tokenizer.json",
    )


def rows_equal(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of rows with identical ids (padding stripped)."""
    same = 0
    for ra, rb in zip(a, b, strict=False):
        same += ra[ra != 0].tolist() == rb[rb != 0].tolist()
    return same / len(a)


def read_lines(paths: list[Path]) -> list[str]:
    lines = [line for path in paths for line in path.read_text(encoding="utf-8").split("\n")]
    return [line for line in lines if line.strip()]


def sentencepiece_items(slow: AlbertTokenizer, lines: list[str]) -> list[str]:
    """The items the slow tokenizer hands SentencePiece for ``lines`` (each line, or each part of it around an
    added token such as wikitext's ``<unk>``, preprocessed; exact ids need them apart, albert_tok/api/_split_batch.py),
    taken from its own padded call on them."""
    engine = slow._engine
    assert engine is not None
    real = engine.processor
    items: list[str] = []

    class Capture:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def encode(self, texts: Any, **kwargs: Any) -> Any:
            if "out_type" not in kwargs:  # the ids call, not the look-up of an unknown piece's surface
                items.extend(texts)
            return real.encode(texts, **kwargs)

    engine.processor = Capture()  # type: ignore[assignment]
    try:
        slow(lines, **CALL)
    finally:
        engine.processor = real
    return items


def paused(fn: Callable[[], Any]) -> Any:
    """``fn()`` with the garbage collector paused, as the tokenizers' calls pause it (albert_tok/api/_gc_pause.py)."""
    with gc_paused():
        return fn()


def collector_left_on(fn: Callable[[], Any]) -> Any:
    """``fn()`` (a tokenizer call) with the tokenizers' pause of the garbage collector made a no-op: the call as
    it ran before the pause was added."""
    saved = base.gc_paused
    base.gc_paused = contextlib.nullcontext
    try:
        return fn()
    finally:
        base.gc_paused = saved


class CollectorClock:
    """The time the garbage collector spends in the calls :meth:`measure` runs, per generation (2: full
    collections, which scan every object the process tracks)."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self.calls = 0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._started
            self.count[info["generation"]] += 1

    def measure(self, fn: Callable[[], Any]) -> Any:
        gc.callbacks.append(self._callback)
        try:
            return fn()
        finally:
            gc.callbacks.remove(self._callback)
            self.calls += 1


class FaultClock:
    """Minor page faults and system CPU time of the calls :meth:`measure` runs, per path, from
    ``getrusage`` (the whole process: SentencePiece's threads included). A fault is the kernel handing the
    process a fresh page of memory on its first write."""

    def __init__(self) -> None:
        self.faults: dict[str, int] = {}
        self.system: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def measure(self, name: str, fn: Callable[[], Any]) -> Any:
        before = resource.getrusage(resource.RUSAGE_SELF)
        try:
            return fn()
        finally:
            after = resource.getrusage(resource.RUSAGE_SELF)
            self.faults[name] = self.faults.get(name, 0) + after.ru_minflt - before.ru_minflt
            self.system[name] = self.system.get(name, 0.0) + after.ru_stime - before.ru_stime
            self.calls[name] = self.calls.get(name, 0) + 1

    def per_call(self) -> dict[str, dict[str, float]]:
        return {
            name: {"minor faults": self.faults[name] / calls, "system seconds": self.system[name] / calls}
            for name, calls in self.calls.items()
        }


def share_inputs(slow: AlbertTokenizer) -> dict[str, tuple[list[str], list[str], list[str]]]:
    """Per kind of text present here: its lines, the lines lower-cased (raw SentencePiece's input) and the items
    the slow tokenizer hands SentencePiece. Read once, for every run of :func:`shares`."""
    inputs = {}
    for group, names in GROUPS.items():
        paths = [CORPORA / name for name in names]
        if all(p.exists() for p in paths):
            lines = read_lines(paths)
            inputs[group] = lines, [line.lower() for line in lines], sentencepiece_items(slow, lines)
    return inputs


def shares(
    slow: AlbertTokenizer,
    fast: AlbertTokenizerFast,
    rust: Any,
    repeat: int,
    inputs: dict[str, tuple[list[str], list[str], list[str]]],
) -> dict[str, dict[str, Any]]:
    """Per kind of text: seconds of each path and the shares (raw seconds / our seconds)."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(SPIECE))
    out: dict[str, dict[str, Any]] = {}
    for group, (lines, lowered, items) in inputs.items():
        clock, faults = CollectorClock(), FaultClock()
        # Each pair on its own: Rust's worker threads keep spinning a while after a batch, which would slow
        # whatever ran next.
        runs, last = interleaved_runs(
            {
                "slow": lambda lines=lines, faults=faults: faults.measure("slow", lambda: slow(lines, **CALL)),
                "raw sentencepiece": lambda lowered=lowered, faults=faults: faults.measure(
                    "raw sentencepiece", lambda: sp.encode(lowered, num_threads=slow.num_threads)
                ),
                "raw sentencepiece on the slow tokenizer's items": lambda items=items: sp.encode(
                    items, num_threads=slow.num_threads
                ),
                "slow, collector left on": lambda lines=lines, clock=clock: clock.measure(
                    lambda: collector_left_on(lambda: slow(lines, **CALL))
                ),
                "raw sentencepiece, collector paused": lambda lowered=lowered: paused(
                    lambda: sp.encode(lowered, num_threads=slow.num_threads)
                ),
            },
            repeat,
            order_seed=SHUFFLED,
        )
        runs.update(
            interleaved_runs(
                {
                    "fast": lambda lines=lines: fast(lines, **CALL),
                    "raw tokenizers encode_batch": lambda lines=lines: rust.encode_batch(lines),
                },
                repeat,
                order_seed=SHUFFLED,
                pause=RUST_PAUSE,  # Rust's threads spin a while after a batch: they would slow the fast call
            )[0]
        )
        seconds = fastest(runs)
        out[group] = {
            "lines": len(lines),
            "megabytes": sum(len(x.encode("utf-8")) for x in lines) / 1e6,
            "items": len(items),
            "seconds": seconds,
            "slow share bound": seconds["raw sentencepiece"]
            / seconds["raw sentencepiece on the slow tokenizer's items"],
            "slow share of raw sentencepiece": seconds["raw sentencepiece"] / seconds["slow"],
            "fast share of raw tokenizers": seconds["raw tokenizers encode_batch"] / seconds["fast"],
            "slow share, paired median": paired_share(runs, "raw sentencepiece", "slow"),
            "slow share, collector left on": seconds["raw sentencepiece"] / seconds["slow, collector left on"],
            "slow share of raw sentencepiece with the collector paused": seconds["raw sentencepiece, collector paused"]
            / seconds["slow"],
            "fast share, paired median": paired_share(runs, "raw tokenizers encode_batch", "fast"),
            "collector left on": {
                "calls": clock.calls,
                "seconds per call": sum(clock.seconds) / clock.calls,
                "full collections": clock.count[2],
                "seconds in full collections": clock.seconds[2],
            },
            "page faults": faults.per_call(),
            "padded shape": list(last["slow"]["input_ids"].shape),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tokenizer_speed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", nargs="*", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--share-runs", type=int, default=5, help="times the share measurement runs; the range over them is printed too"
    )
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument(
        "--small-calls-only",
        action="store_true",
        help="print the small-calls table alone (a minute, not the whole run); writes no results",
    )
    args = parser.parse_args()
    if args.share_runs < 1:
        raise SystemExit(f"--share-runs must be at least 1, got {args.share_runs}")
    if not args.corpus:
        raise SystemExit("no corpus: pass --corpus FILE (../shared/corpora is not present)")
    lines = read_lines(args.corpus)
    megabytes = sum(len(line.encode("utf-8")) for line in lines) / 1e6

    slow, fast = AlbertTokenizer(SPIECE), AlbertTokenizerFast(SPIECE)
    if args.small_calls_only:
        small_inputs = small_call_inputs(lines)
        small = small_calls(slow, fast, small_inputs)
        ref = run_reference(small_inputs["one text"], 1, small_inputs)
        label = f"transformers {ref[0]['version']} {ref[0]['class']}" if ref is not None else "transformers"
        print("\n".join(small_call_table(small, ref[0]["small calls"] if ref is not None else None, label)))
        return
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(SPIECE))
    rust, rust_source = transformers_rust_tokenizer(fast)
    lowered = [line.lower() for line in lines]
    seconds, outputs = interleaved_best(
        {  # our two classes (both on SentencePiece without offsets) and raw SentencePiece, then Rust on its own
            "albert_tok slow (batch, padded np)": lambda: slow(lines, **CALL)["input_ids"],
            "albert_tok fast (batch, padded np)": lambda: fast(lines, **CALL)["input_ids"],
            "raw sentencepiece encode(list), lower-cased lines": lambda: sp.encode(
                lowered, num_threads=slow.num_threads
            ),
        },
        args.repeat,
        order_seed=SHUFFLED,
    )
    # Rust's worker threads keep spinning a while after a batch, which would slow whatever ran next
    rust_seconds, rust_outputs = interleaved_best(
        {"raw tokenizers encode_batch": lambda: rust.encode_batch(lines)}, args.repeat, order_seed=SHUFFLED
    )
    seconds.update(rust_seconds)
    outputs.update(rust_outputs)
    order = [
        "albert_tok slow (batch, padded np)",
        "albert_tok fast (batch, padded np)",
        "raw sentencepiece encode(list), lower-cased lines",
        "raw tokenizers encode_batch",
    ]
    seconds = {name: seconds[name] for name in order}
    results: dict[str, dict[str, float]] = {name: {"seconds": s} for name, s in seconds.items()}
    slow_ids = outputs["albert_tok slow (batch, padded np)"]
    fast_ids = outputs["albert_tok fast (batch, padded np)"]
    agree = {"slow == fast": float((slow_ids == fast_ids).all(axis=1).mean())}

    small_inputs = small_call_inputs(lines)
    small = small_calls(slow, fast, small_inputs)
    ref = run_reference(lines, min(args.repeat, 3), small_inputs)
    ref_name = None
    if ref is not None:
        info, ref_ids = ref
        ref_name = f"transformers {info['version']} {info['class']} (padded np)"
        results[ref_name] = {"seconds": info["seconds"]}
        agree[f"transformers {info['version']} == canonical"] = rows_equal(slow_ids, ref_ids)

    for r in results.values():
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
    table.append(
        f"{len(lines)} non-empty lines, {megabytes:.2f} MB ({', '.join(p.name for p in args.corpus)}); "
        f"fastest of {args.repeat} interleaved runs; raw tokenizers runs {rust_source}; "
        f"{platform.machine()}, {os.cpu_count()} cores; ids agreement: "
        + ", ".join(f"{k}: {v:.1%}" for k, v in agree.items())
        + "."
    )

    reference_small = ref[0].get("small calls") if ref is not None else None
    reference_label = ref_name.split(" (")[0] if ref_name else "transformers"
    table += ["", *small_call_table(small, reference_small, reference_label)]
    table += [
        "",
        (
            f"Small calls: the same corpus lines of 40-200 characters for every path, microseconds per call, "
            f"fastest loop of each, taking turns (one text: {ONE_TEXT_ROUNDS} loops of one call on each of "
            f"{ONE_TEXT_SAMPLE} sentences; a batch: {SMALL_CALL_ROUNDS} loops of {SMALL_CALL_LOOPS} calls); "
            f"transformers runs in its own process, after ours. Raw SentencePiece encodes one text "
            f"with encode(str), lower-cased beforehand, and a batch with encode(list, num_threads). A call on one "
            f"str takes the one-text path (albert_tok/api/_one_text.py); both classes encode calls without offsets "
            f"with SentencePiece when they have the spiece.model. SentencePiece's list call starts a pool of "
            f"threads each call, so a batch of up to {engine_module._ONE_THREAD_TEXTS} texts of up to "
            f"{engine_module._ONE_THREAD_CHARACTERS} characters in all is encoded one call per text on the calling "
            f"thread (albert_tok/engines/_sentencepiece.py). "
            + (
                f"{reference_label} ran without torch: no return_tensors='pt' figure (bench/setup_reference.sh)."
                if reference_small is not None and "pt" not in reference_small
                else ""
            )
        ).strip(),
    ]

    inputs = share_inputs(slow)
    share_runs = [shares(slow, fast, rust, args.repeat, inputs) for _ in range(args.share_runs)]
    by_group = share_runs[0]
    header = "| lines | " + " | ".join(name for name, _, _ in SHARE_COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(SHARE_COLUMNS)
    table += ["", header, rule]
    for group, g in by_group.items():
        cells = [f"{g[key]:.0%}" + (f" ({g[paired]:.0%})" if paired else "") for _, key, paired in SHARE_COLUMNS]
        table.append(
            f"| {group} ({g['lines']} lines, {g['megabytes']:.2f} MB; {g['items']} SentencePiece items) | "
            + " | ".join(cells)
            + " |"
        )
    if len(share_runs) > 1:
        table += [
            "",
            (
                f"The same share measurement run {len(share_runs)} times (the run above and "
                f"{len(share_runs) - 1} more), lowest to highest:"
            ),
            "",
            header,
            rule,
        ]
        for group in by_group:

            def spread(key: str, group: str = group) -> str:
                values = [run[group][key] for run in share_runs]
                return f"{min(values):.0%}-{max(values):.0%}"

            cells = [spread(key) + (f" ({spread(paired)})" if paired else "") for _, key, paired in SHARE_COLUMNS]
            table.append(f"| {group} | " + " | ".join(cells) + " |")
    tracked = len(gc.get_objects())
    table.append("")
    table.append(
        "With the collector left on, the slow call spent, per call, "
        + "; ".join(
            f"{g['collector left on']['seconds per call'] * 1e3:.0f} ms in collections on {group} "
            f"({g['collector left on']['full collections']} full collections in {g['collector left on']['calls']} "
            f"calls, {g['collector left on']['seconds in full collections'] * 1e3:.0f} ms)"
            for group, g in by_group.items()
        )
        + f", in this process, which tracks {tracked} objects."
    )
    table.append("")
    table.append(
        "Minor page faults per call (the kernel's system time in the call beside them): "
        + "; ".join(
            f"on {group}, the slow call {g['page faults']['slow']['minor faults']:.0f} "
            f"({g['page faults']['slow']['system seconds'] * 1e3:.1f} ms), raw SentencePiece "
            f"{g['page faults']['raw sentencepiece']['minor faults']:.0f} "
            f"({g['page faults']['raw sentencepiece']['system seconds'] * 1e3:.1f} ms)"
            for group, g in by_group.items()
        )
        + ". A page is 4 KiB: the padded int64 input_ids alone fill "
        + ", ".join(
            f"{g['padded shape'][0] * g['padded shape'][1] * 8 // 4096} ({group}, {g['padded shape'][0]} x "
            f"{g['padded shape'][1]})"
            for group, g in by_group.items()
        )
        + "."
    )
    table.append("")
    table.append(
        "Share: the raw library's time over ours on the same lines (SentencePiece on the lines lower-cased, "
        "tokenizers with transformers' own tokenizer.json), fastest run over fastest run; in brackets, the "
        "median over the rounds of the same ratio within a round (each round runs both within moments). "
        "Ours also preprocesses, splits added tokens, adds special tokens, truncates to 512 and pads into "
        "numpy arrays. Bound: raw SentencePiece on the lines over raw SentencePiece on the items the slow "
        "tokenizer gives it (each line, or each part around an added token such as wikitext's <unk>, which "
        "exact ids need apart): the slow share if everything else cost nothing. Our calls pause Python's "
        "garbage collector while they run (albert_tok/api/_gc_pause.py): nothing they allocate is garbage before "
        "they return. Collector left on: the slow call with that pause made a no-op, as it ran before. "
        "With the collector paused: raw SentencePiece called inside the same pause, so that only the "
        "work differs."
    )
    text = "\n".join(table)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "tokenize.json").write_text(
        json.dumps(
            {
                "command": "python -m bench.tokenizer_speed"
                + (f" --repeat {args.repeat}" if args.repeat != 15 else "")
                + (f" --share-runs {args.share_runs}" if args.share_runs != 5 else ""),
                "results": results,
                "agreement": agree,
                "lines": len(lines),
                "megabytes": megabytes,
                "raw tokenizers": rust_source,
                "share runs": share_runs,
                "small calls": small,
                "reference small calls": reference_small,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            },
            indent=2,
        )
        + "\n"
    )
    if args.write_readme:
        from bench._readme import write_table

        write_table("tokenize", text)


if __name__ == "__main__":
    main()
