"""Micro-batching by a token budget: requests from many clients become one pipeline call.

A request is a :class:`Job` (its operation, its items, their token count, a future). Jobs wait in one bounded
queue per model; one worker thread per model takes the oldest job, adds the next queued jobs of the same
operation while their tokens fit ``max_batch_tokens``, waits for more up to ``max_wait_ms`` after the oldest
job arrived while requests are on their way (:meth:`Batcher.arriving`: being read and checked; never longer,
and not at all for a lone request or one that already waited behind a running batch), runs the
operation once on all their items (the pipeline sorts them by length and pads each batch only as far as it
needs) and hands each job its slice of the results. A job bigger than the budget runs alone.

When one batch fails (a bad input the request checks did not catch), its jobs run again one by one, so one
client's input fails only its own request. A full queue refuses at once (:class:`QueueFull`), a closed one
too (:class:`Closed`); :meth:`Batcher.close` stops accepting and runs what was accepted before it returns.
A job whose future was cancelled while it waited (its request was cancelled: a client gone under Ray Serve,
a timeout) is dropped, not run, and counted in :attr:`Batcher.cancelled`; no failure of a batch stops the
worker.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from albert_model.serving._metrics import LATENCY_BUCKETS, SIZE_BUCKETS, TOKEN_BUCKETS, Metrics

__all__ = ["Batcher", "Closed", "Job", "QueueFull"]

Run = Callable[[Hashable, list[Any]], Sequence[Any]]
"""``run(key, items)``: the results of the operation ``key`` on ``items``, one per item, in order."""


class QueueFull(Exception):
    """The queue holds ``max_queue`` jobs already."""


class Closed(Exception):
    """The batcher no longer accepts jobs (the server is shutting down)."""


@dataclass
class Job:
    """One request's work: ``items`` for the operation ``key``, costing ``tokens`` of the budget."""

    key: Hashable
    items: list[Any]
    tokens: int
    future: Future[list[Any]] = field(default_factory=Future)
    arrived: float = field(default_factory=time.monotonic)


class Batcher:
    """One model's queue and worker thread.

    Args:
        run: What runs a batch: ``run(key, items)`` returns one result per item.
        max_batch_tokens: The token budget of one batch (a single job over it runs alone).
        max_wait_ms: How long after the oldest queued job arrived the worker waits for more jobs while the
            batch is under budget and requests are :meth:`arriving`; 0 runs whatever is queued at once.
        max_queue: Jobs that may wait; one more is refused with :class:`QueueFull`.
        setup: Run once in the worker thread before its first batch (torch's thread settings are per thread).
        metrics: Where queue and batch figures are recorded (None: nowhere).

    Raises:
        ValueError: ``max_batch_tokens`` or ``max_queue`` below 1, or ``max_wait_ms`` below 0.
    """

    def __init__(
        self,
        run: Run,
        max_batch_tokens: int,
        max_wait_ms: float,
        max_queue: int,
        setup: Callable[[], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if max_batch_tokens < 1 or max_queue < 1 or max_wait_ms < 0:
            raise ValueError(
                f"max_batch_tokens and max_queue must be >= 1 and max_wait_ms >= 0, got {max_batch_tokens}, "
                f"{max_queue} and {max_wait_ms}"
            )
        self._run = run
        self.max_batch_tokens = max_batch_tokens
        self.max_wait = max_wait_ms / 1000
        self.max_queue = max_queue
        self._setup = setup
        self._metrics = metrics
        self._pending: deque[Job] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._arriving = 0
        self.accepted = 0
        self.answered = 0
        self.cancelled = 0
        self._job_seconds = 0.0  # recent seconds of worker time per job (a moving average), for retry_after
        if metrics is not None:
            metrics.gauge("queue_depth", "Requests waiting for a batch.", lambda: len(self._pending))
            metrics.describe_histogram("batch_size", "Requests per batch.", SIZE_BUCKETS)
            metrics.describe_histogram("batch_items", "Texts per batch.", SIZE_BUCKETS)
            metrics.describe_histogram("batch_tokens", "Tokens per batch.", TOKEN_BUCKETS)
            metrics.describe_histogram(
                "queue_seconds", "Time from a request's arrival to the start of its batch.", LATENCY_BUCKETS
            )
            metrics.describe_histogram("batch_seconds", "Time one batch runs.", LATENCY_BUCKETS)
        self._thread = threading.Thread(target=self._work, name="albert-serve-batcher", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Jobs waiting."""
        return len(self._pending)

    def submit(self, key: Hashable, items: list[Any], tokens: int) -> Future[list[Any]]:
        """Queue a job.

        Args:
            key: The operation (jobs are batched only with jobs of the same key).
            items: Its inputs.
            tokens: Its cost against the budget.

        Returns:
            The future of its results, one per item.

        Raises:
            QueueFull: ``max_queue`` jobs are waiting already.
            Closed: :meth:`close` was called.
        """
        job = Job(key, items, max(1, tokens))
        with self._cond:
            if self._closed:
                raise Closed("the server is shutting down")
            if len(self._pending) >= self.max_queue:
                raise QueueFull(f"{len(self._pending)} requests are waiting (max_queue={self.max_queue})")
            self._pending.append(job)
            self.accepted += 1
            self._cond.notify()
        return job.future

    def retry_after(self) -> int:
        """Seconds a refused client should wait before it tries again: the worker's time for the jobs waiting
        now, at its recent seconds per job, from 1 to 60 (clients told to come back all at once would find
        the queue as full as they left it).

        Returns:
            The whole seconds for a ``Retry-After`` header.
        """
        return max(1, min(60, math.ceil(self.depth * self._job_seconds)))

    @contextmanager
    def arriving(self) -> Iterator[None]:
        """Mark a request on its way to :meth:`submit` (being read and checked) for the duration of the block.

        A batch under budget waits (up to ``max_wait_ms``) only while some request is on its way: a lone
        request runs at once instead of waiting for company that is not coming.

        Yields:
            Nothing; the request counts as arriving until the block ends (submitted or refused).
        """
        with self._cond:
            self._arriving += 1
        try:
            yield
        finally:
            with self._cond:
                self._arriving -= 1
                self._cond.notify_all()

    def stop_accepting(self) -> None:
        """Refuse new jobs from now on; queued ones still run."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def close(self, timeout: float | None = None) -> bool:
        """Stop accepting, run every accepted job, stop the worker.

        Args:
            timeout: Seconds to wait for the worker (None: as long as it takes).

        Returns:
            True when the worker finished every accepted job within ``timeout``.
        """
        self.stop_accepting()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _take(self) -> list[Job] | None:
        """The next batch, or None when closed and drained."""
        with self._cond:
            while not self._pending:
                if self._closed:
                    return None
                self._cond.wait()
            first = self._pending.popleft()
            batch, tokens = [first], first.tokens
            deadline = first.arrived + self.max_wait
            while tokens < self.max_batch_tokens:
                tokens = self._gather(first.key, batch, tokens)
                remaining = deadline - time.monotonic()
                if tokens >= self.max_batch_tokens or remaining <= 0 or self._closed or not self._arriving:
                    break  # full, waited long enough, or no request on its way: waiting cannot fill it
                self._cond.wait(remaining)
            return batch

    def _gather(self, key: Hashable, batch: list[Job], tokens: int) -> int:
        """Move queued jobs of ``key`` that fit the budget into ``batch`` (the lock is held)."""
        kept: deque[Job] = deque()
        while self._pending:
            job = self._pending.popleft()
            if job.key == key and tokens + job.tokens <= self.max_batch_tokens:
                batch.append(job)
                tokens += job.tokens
            else:
                kept.append(job)
        self._pending.extendleft(reversed(kept))
        return tokens

    def _work(self) -> None:
        if self._setup is not None:
            self._setup()
        while (taken := self._take()) is not None:
            batch = self._claim(taken)
            if not batch:
                continue
            try:
                self._run_batch(batch)
            except Exception as exc:  # a bug outside the model call: fail this batch's requests, keep the worker
                for job in batch:
                    if not job.future.done():
                        self._finish(job, exc)

    def _claim(self, jobs: list[Job]) -> list[Job]:
        """The jobs whose clients still wait: a future cancelled while queued (its request was cancelled) is
        dropped, and every other one is marked running, so it can no longer be cancelled and takes its
        result exactly once."""
        claimed = [job for job in jobs if job.future.set_running_or_notify_cancel()]
        if len(claimed) < len(jobs):
            with self._cond:
                self.cancelled += len(jobs) - len(claimed)
        return claimed

    def _run_batch(self, batch: list[Job]) -> None:
        started = time.monotonic()
        if self._metrics is not None:
            for job in batch:
                self._metrics.observe("queue_seconds", started - job.arrived)
            self._metrics.observe("batch_size", len(batch))
            self._metrics.observe("batch_items", sum(len(job.items) for job in batch))
            self._metrics.observe("batch_tokens", sum(job.tokens for job in batch))
        self._execute(batch)
        elapsed = time.monotonic() - started
        per_job = elapsed / len(batch)
        self._job_seconds = per_job if not self._job_seconds else 0.8 * self._job_seconds + 0.2 * per_job
        if self._metrics is not None:
            self._metrics.observe("batch_seconds", elapsed)

    def _execute(self, batch: list[Job]) -> None:
        items = [item for job in batch for item in job.items]
        try:
            results = list(self._run(batch[0].key, items))
        except Exception as exc:  # answered per job below: one bad input must not fail its neighbours
            if len(batch) == 1:
                self._finish(batch[0], exc)
                return
            for job in batch:
                self._execute([job])
            return
        begin = 0
        for job in batch:
            self._finish(job, results[begin : begin + len(job.items)])
            begin += len(job.items)

    def _finish(self, job: Job, outcome: list[Any] | BaseException) -> None:
        if isinstance(outcome, BaseException):
            job.future.set_exception(outcome)
        else:
            job.future.set_result(outcome)
        with self._cond:
            self.answered += 1
