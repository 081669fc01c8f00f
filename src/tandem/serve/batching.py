"""Dynamic micro-batching: rows from concurrent requests are grouped into one backend call.

A batch starts when the oldest waiting row has waited `max_wait_ms` or `max_batch` compatible rows (same
kind and decoding params) are waiting, or at once when no other request is on its way (`more_coming`: the
server counts requests being received), so a lone client never pays the wait. The queue is bounded in rows; a request that does not fit is
refused at once (`QueueFull`) rather than queued without limit. One worker thread runs the backend. When a
batch fails, its rows are run again one by one, so a bad input fails only its own request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tandem.serve.metrics import Metrics


class QueueFull(Exception):
    """The batching queue has no room for this request."""


@dataclass
class _Row:
    key: Hashable
    payload: Any
    future: asyncio.Future
    enqueued: float = field(default=0.0)
    request: int = 0  # rows of one request share this number


class MicroBatcher:
    """Queue of rows and the worker that runs them through `run(key, payloads) -> results` in batches."""

    def __init__(
        self,
        run: Callable[[Hashable, list[Any]], Sequence[Any]],
        *,
        max_batch: int = 16,
        max_wait_ms: float = 5.0,
        queue_size: int = 256,
        metrics: Metrics | None = None,
        more_coming: Callable[[], bool] | None = None,
    ):
        self.run = run
        # Asked before waiting to fill a batch: False means no other request can join soon (a lone client),
        # so the batch runs at once instead of idling for max_wait. None: always wait.
        self.more_coming = more_coming
        self._open = 0  # submitted requests with a row not yet answered
        self._requests = 0  # requests submitted so far (numbers their rows)
        self.max_batch = max(1, int(max_batch))
        self.max_wait = max(0.0, float(max_wait_ms)) / 1000.0
        self.queue_size = int(queue_size)
        self.metrics = metrics or Metrics()
        self._pending: deque[_Row] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._closing = False
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="tandem-backend"
        )

    @property
    def depth(self) -> int:
        """Rows waiting for a batch; rows of requests that already failed or timed out are not counted."""
        self._drop_done()
        return len(self._pending)

    def _drop_done(self) -> None:
        # A request that timed out cancels its queued rows, but the worker removes them only when it next
        # takes a batch (it may be busy in a long one): without this they would hold queue slots for nobody.
        if any(r.future.done() for r in self._pending):
            self._pending = deque(r for r in self._pending if not r.future.done())
            self.metrics.queue_depth = len(self._pending)

    @property
    def open_requests(self) -> int:
        """Submitted requests that still wait for a row's result (queued or running)."""
        return self._open

    async def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Finish every queued row, then stop the worker."""
        self._closing = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        self._executor.shutdown(wait=True)

    def submit(self, key: Hashable, payloads: Sequence[Any]) -> list[asyncio.Future]:
        """Queue one request's rows together; raises QueueFull if they do not all fit."""
        if self._closing or self._wakeup is None:
            raise QueueFull("the server is shutting down")
        self._drop_done()
        if len(self._pending) + len(payloads) > self.queue_size:
            raise QueueFull(f"queue full ({len(self._pending)}/{self.queue_size} rows waiting)")
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._requests += 1
        rows = [_Row(key, p, loop.create_future(), now, self._requests) for p in payloads]
        self._open += 1
        left = [len(rows)]

        def answered(_fut: asyncio.Future) -> None:
            left[0] -= 1
            if left[0] == 0:
                self._open -= 1

        for r in rows:
            r.future.add_done_callback(answered)
        self._pending.extend(rows)
        self.metrics.queue_depth = len(self._pending)
        self._wakeup.set()
        return [r.future for r in rows]

    def _same_key(self, key: Hashable) -> int:
        return sum(1 for r in self._pending if r.key == key and not r.future.done())

    def _take(self, key: Hashable) -> list[_Row]:
        batch, keep = [], deque()
        while self._pending:
            r = self._pending.popleft()
            if r.future.done():  # cancelled (timed out) before it ran
                continue
            if r.key == key and len(batch) < self.max_batch:
                batch.append(r)
            else:
                keep.append(r)
        self._pending = keep
        self.metrics.queue_depth = len(self._pending)
        return batch

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wakeup is not None
        while True:
            while self._pending and self._pending[0].future.done():
                self._pending.popleft()
            if not self._pending:
                self.metrics.queue_depth = 0
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            first = self._pending[0]
            deadline = first.enqueued + self.max_wait
            while (
                not self._closing
                and self._same_key(first.key) < self.max_batch
                and (self.more_coming is None or self.more_coming())
            ):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), remaining)
                except TimeoutError:
                    break
            batch = self._take(first.key)
            if not batch:
                continue
            self.metrics.observe_batch(len(batch))
            try:
                results = await loop.run_in_executor(
                    self._executor, self.run, first.key, [r.payload for r in batch]
                )
                if len(results) != len(batch):
                    raise RuntimeError(f"backend returned {len(results)} results for {len(batch)} rows")
            except Exception as e:  # one failing batch fails its own requests, never the worker
                if len(batch) == 1:
                    if not batch[0].future.done():
                        batch[0].future.set_exception(e)
                    continue
                # which row failed? Run each alone, so a bad input fails only the request it came in; a
                # request with a failed row has failed as a whole, so its other rows are not run
                failed: set[int] = set()
                for r in batch:
                    if r.future.done():
                        continue
                    if r.request in failed:
                        r.future.cancel()
                        continue
                    try:
                        one = await loop.run_in_executor(self._executor, self.run, first.key, [r.payload])
                        if not r.future.done():
                            r.future.set_result(one[0])
                    except Exception as e1:
                        failed.add(r.request)
                        if not r.future.done():
                            r.future.set_exception(e1)
                continue
            for r, res in zip(batch, results):
                if not r.future.done():
                    r.future.set_result(res)
