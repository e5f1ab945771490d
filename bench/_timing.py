"""How the bench modules time code: one definition of a timed call, a repeated run and runs that take turns.

Every figure in docs/benchmarks.md comes through these few functions, so "best of N interleaved runs" means
the same thing in every table. Standard library only: the worker snippets that the bench modules run in other
interpreters (bench/.venv-tf5 among them, which has no albert installed) import it too, from the repository
root. It does not summarise: which statistic a table reports (the fastest run, a median) is the caller's.

    seconds, out = timed(lambda: model(ids), sync=torch.cuda.synchronize)
    runs, outputs = interleaved_runs({"ours": ours, "reference": theirs}, repeat=5)
    best = fastest(runs)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["fastest", "interleaved_best", "interleaved_runs", "repeated", "timed"]

T = TypeVar("T")


def timed(fn: Callable[[], T], sync: Callable[[], Any] | None = None) -> tuple[float, T]:
    """Seconds one call of ``fn`` takes, and its result. ``sync`` (e.g. ``torch.cuda.synchronize``) runs before
    the clock starts, so that earlier queued work is not counted, and again before it stops, so that the call's
    own queued work is."""
    if sync is not None:
        sync()
    t0 = time.perf_counter()
    result = fn()
    if sync is not None:
        sync()
    return time.perf_counter() - t0, result


def repeated(
    fn: Callable[[], T],
    repeat: int,
    *,
    warmup: int = 0,
    sync: Callable[[], Any] | None = None,
    budget: float | None = None,
    min_runs: int = 3,
) -> tuple[list[float], T | None]:
    """The seconds of each of ``repeat`` timed calls of ``fn`` after ``warmup`` untimed ones, and the last
    result. With ``budget``, the calls stop once they have taken more than ``budget`` seconds in all (wall
    time since the first timed call) and at least ``min_runs`` have run: a loaded machine still gets a median."""
    result: T | None = None
    for _ in range(warmup):
        result = fn()
    times: list[float] = []
    start = time.perf_counter()
    for _ in range(repeat):
        seconds, result = timed(fn, sync)
        times.append(seconds)
        if budget is not None and len(times) >= min_runs and time.perf_counter() - start > budget:
            break
    return times, result


def interleaved_runs(
    paths: dict[str, Callable[[], Any]],
    repeat: int,
    *,
    order_seed: int | None = None,
    pause: float = 0.0,
    sync: Callable[[], Any] | None = None,
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """The seconds of each of ``repeat`` runs of each path, the paths taking turns (round ``i`` of every path
    ran within moments of the others), and each path's last output. The paths run in the order given, or,
    with ``order_seed``, in an order shuffled every round (seeded) so that no path always runs right after the
    same other one. ``pause``: seconds slept before each run (outside its time), so that the idle threads of
    the run before stop spinning."""
    runs: dict[str, list[float]] = {name: [] for name in paths}
    outputs: dict[str, Any] = {}
    order = random.Random(order_seed) if order_seed is not None else None
    for _ in range(repeat):
        turns = list(paths.items())
        for name, fn in order.sample(turns, len(turns)) if order is not None else turns:
            if pause:
                time.sleep(pause)
            seconds, outputs[name] = timed(fn, sync)
            runs[name].append(seconds)
    return runs, outputs


def interleaved_best(
    paths: dict[str, Callable[[], Any]],
    repeat: int,
    *,
    order_seed: int | None = None,
    pause: float = 0.0,
    sync: Callable[[], Any] | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """:func:`interleaved_runs`, each path's fastest run kept; and each path's last output."""
    runs, outputs = interleaved_runs(paths, repeat, order_seed=order_seed, pause=pause, sync=sync)
    return fastest(runs), outputs


def fastest(runs: dict[str, list[float]]) -> dict[str, float]:
    """Each path's fastest run: on a shared machine, the figure least disturbed by other work."""
    return {name: min(r) for name, r in runs.items()}
