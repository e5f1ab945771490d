"""Counters, gauges and histograms, written in Prometheus' text exposition format (version 0.0.4).

A few dozen series, updated under one lock: no client library needed. Label values are the server's own
route names and status codes, never anything a client sends, so the number of series stays bounded.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable

__all__ = ["Metrics"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
TOKEN_BUCKETS = (16, 64, 256, 1024, 2048, 4096, 8192, 16384, 65536)

_Labels = tuple[tuple[str, str], ...]


class _Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1


def _labels(labels: _Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    pairs = (*labels, *extra)
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{v}"' for k, v in pairs) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Metrics:
    """The server's metrics. Counters and histograms are created on first use by name and labels; gauges
    are read when scraped (``gauge(name, help, read)``)."""

    def __init__(self, prefix: str = "albert_serve") -> None:
        self.prefix = prefix
        self._lock = threading.Lock()
        self._help: dict[str, tuple[str, str]] = {}
        self._counters: dict[str, dict[_Labels, float]] = {}
        self._histograms: dict[str, dict[_Labels, _Histogram]] = {}
        self._bucket_sets: dict[str, tuple[float, ...]] = {}
        self._gauges: dict[str, Callable[[], float]] = {}

    def describe_counter(self, name: str, text: str) -> None:
        self._help[name] = ("counter", text)
        self._counters.setdefault(name, {})

    def describe_histogram(self, name: str, text: str, buckets: tuple[float, ...]) -> None:
        self._help[name] = ("histogram", text)
        self._histograms.setdefault(name, {})
        self._bucket_sets[name] = buckets

    def gauge(self, name: str, text: str, read: Callable[[], float]) -> None:
        self._help[name] = ("gauge", text)
        self._gauges[name] = read

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters[name]
            series[key] = series.get(key, 0.0) + value

    def observe(self, name: str, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._histograms[name]
            if key not in series:
                series[key] = _Histogram(self._bucket_sets[name])
            series[key].observe(value)

    def counter_value(self, name: str, **labels: str) -> float:
        """A counter's current value (0 for a series never incremented)."""
        with self._lock:
            return self._counters[name].get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        """Every series in the text exposition format, one ``# HELP``/``# TYPE`` block per metric."""
        lines: list[str] = []
        with self._lock:
            for name, (kind, text) in sorted(self._help.items()):
                full = f"{self.prefix}_{name}"
                lines += [f"# HELP {full} {text}", f"# TYPE {full} {kind}"]
                if kind == "counter":
                    for labels, value in sorted(self._counters[name].items()):
                        lines.append(f"{full}{_labels(labels)} {_number(value)}")
                elif kind == "gauge":
                    lines.append(f"{full} {_number(self._gauges[name]())}")
                else:
                    for labels, hist in sorted(self._histograms[name].items()):
                        running = 0
                        for bound, count in zip((*hist.buckets, float("inf")), hist.counts, strict=True):
                            running += count
                            le = "+Inf" if bound == float("inf") else _number(bound)
                            lines.append(f"{full}_bucket{_labels(labels, (('le', le),))} {running}")
                        lines.append(f"{full}_sum{_labels(labels)} {_number(hist.sum)}")
                        lines.append(f"{full}_count{_labels(labels)} {hist.count}")
        return "\n".join(lines) + "\n"
