"""bench/_timing.py: what "timed", "best of N" and "interleaved" mean in every bench module. A fake clock stands in
for ``time.perf_counter``, so nothing here depends on how fast the machine is."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import _timing


class FakeClock:
    """``perf_counter`` that only moves when a call says so, and a log of what ran."""

    def __init__(self) -> None:
        self.now = 0.0
        self.log: list[str] = []

    def __call__(self) -> float:
        return self.now

    def call(self, name: str, seconds: float, result: object = None):
        def fn() -> object:
            self.log.append(name)
            self.now += seconds
            return result

        return fn


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_timing.time, "perf_counter", fake)
    monkeypatch.setattr(_timing.time, "sleep", lambda seconds: fake.log.append(f"sleep {seconds}"))
    return fake


def test_timed_counts_the_call_and_the_work_it_queued_not_the_work_queued_before(clock):
    queued = [3.0]  # seconds of device work queued before the call

    def sync() -> None:
        clock.now += queued.pop() if queued else 0.0
        clock.log.append("sync")

    def call() -> str:
        clock.log.append("call")
        clock.now += 2.0
        queued.append(0.5)  # the call's own queued work: counted
        return "out"

    assert _timing.timed(call, sync) == (2.5, "out")
    assert clock.log == ["sync", "call", "sync"]
    assert _timing.timed(clock.call("plain", 1.25, 7)) == (1.25, 7)


def test_repeated_times_every_call_after_the_untimed_warm_up(clock):
    times, last = _timing.repeated(clock.call("f", 0.5, "x"), 4, warmup=2)
    assert times == [0.5] * 4 and last == "x" and clock.log == ["f"] * 6


def test_repeated_stops_at_the_budget_but_not_before_min_runs(clock):
    times, _ = _timing.repeated(clock.call("slow", 10.0), 100, budget=1.0, min_runs=3)
    assert times == [10.0] * 3  # over budget after the first, yet three: enough for a median
    clock.log.clear()
    times, _ = _timing.repeated(clock.call("fast", 1.0), 100, budget=4.5, min_runs=3)
    assert times == [1.0] * 5  # 5 s > 4.5 s after the fifth
    assert _timing.repeated(clock.call("none", 1.0), 0) == ([], None)


@given(
    names=st.lists(st.text("abcdef", min_size=1, max_size=3), min_size=1, max_size=6, unique=True),
    repeat=st.integers(0, 6),
    seed=st.one_of(st.none(), st.integers(0, 3)),
)
def test_interleaved_rounds_run_every_path_once_each(names, repeat, seed):
    log: list[str] = []
    paths = {name: (lambda name=name: log.append(name) or name.upper()) for name in names}
    runs, outputs = _timing.interleaved_runs(paths, repeat, order_seed=seed)
    assert list(runs) == names and all(len(r) == repeat for r in runs.values())
    rounds = [log[i : i + len(names)] for i in range(0, len(log), len(names))]
    assert len(rounds) == repeat and all(sorted(r) == sorted(names) for r in rounds)
    if seed is None:
        assert all(r == names for r in rounds)
    else:  # the shuffle is seeded: random.Random(seed).sample of the paths, every round
        order = random.Random(seed)
        assert rounds == [order.sample(names, len(names)) for _ in range(repeat)]
    assert outputs == ({name: name.upper() for name in names} if repeat else {})


def test_interleaved_best_keeps_each_paths_fastest_run_and_pauses_outside_the_time(clock):
    seconds = {"a": iter([3.0, 1.0, 2.0]), "b": iter([0.5, 0.7, 0.6])}

    def path(name: str):
        def fn() -> str:
            clock.now += next(seconds[name])
            clock.log.append(name)
            return name

        return fn

    best, outputs = _timing.interleaved_best({"a": path("a"), "b": path("b")}, 3, pause=0.2)
    assert best == {"a": 1.0, "b": 0.5} and outputs == {"a": "a", "b": "b"}
    assert clock.log == ["sleep 0.2", "a", "sleep 0.2", "b"] * 3
    assert _timing.fastest({"x": [2.0, 1.5, 3.0]}) == {"x": 1.5}
