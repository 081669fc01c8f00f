"""Build a stream's next batches in a background thread while the device trains on the current one.

A GPU trainer's host spends much of a step waiting for the device (the gradient norm it reads back, a full
launch queue) with the GIL released; building the rows (objectives, packing) in that time takes them off
the step's critical path. The batches are the stream's, in its order, built by one thread: the same as
without the thread. The wrapper answers `state_dict()` and `stats` as of the batches it has handed out, so
a checkpoint continues with the first batch not yet trained on, whatever the thread has built ahead.
"""

from __future__ import annotations

import copy
import queue
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["BackgroundBatches"]


class BackgroundBatches:
    """Iterate `stream` with up to `depth` batches built ahead in a background thread.

    The first batch is built in the calling thread (a stream's worker processes are forked from it, not from
    the background thread). An error the stream raises (bad data, `StopIteration` at its end) is raised by
    the call that would have returned that batch. `state_dict()` / `stats`: the stream's after the batches
    handed out so far (snapshots taken by the thread). Restore a stream's state (`load_state_dict`) before
    wrapping it. `close()` stops the thread, then closes the stream.

    `switch_interval`: while the thread runs, the interpreter's thread switch interval is at most this
    (seconds; restored by `stop()`). Building rows is pure Python and holds the GIL; a training thread that
    wakes from a wait on the device then waits for it up to the interval, 5 ms by default, during which it
    launches nothing. None: leave the interpreter's setting.
    """

    def __init__(self, stream: Any, depth: int = 2, switch_interval: float | None = 2e-4) -> None:
        if depth < 1:
            raise ValueError(f"BackgroundBatches: depth must be >= 1, got {depth}")
        self.stream = stream
        self._source = iter(stream)  # an iterable (a list, a DataLoader) as well as an iterator
        self.depth = int(depth)
        self._has_state = hasattr(stream, "state_dict")
        self._state = stream.state_dict() if self._has_state else None
        self._stats = copy.deepcopy(getattr(stream, "stats", None))
        self._queue: queue.Queue = queue.Queue(maxsize=self.depth)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._done = False  # the stream raised (or ended): nothing more to hand out
        self.switch_interval = switch_interval
        self._saved_interval: float | None = None  # the interpreter's, while ours is set

    # -- iteration ---------------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        return self

    def _snapshot(self) -> tuple[Any, Any]:
        state = self.stream.state_dict() if self._has_state else None
        return state, copy.deepcopy(getattr(self.stream, "stats", None))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batch = next(self._source)
                item = ("batch", batch, self._snapshot())
            except BaseException as e:  # handed to the consumer, raised where the batch was asked for
                item = ("error", e, self._snapshot())
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item[0] == "error":
                return

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        if not self._started:
            self._started = True
            try:
                batch = next(self._source)
            except BaseException:
                self._done = True
                self._state, self._stats = self._snapshot()
                raise
            self._state, self._stats = self._snapshot()
            if self.switch_interval is not None and sys.getswitchinterval() > self.switch_interval:
                self._saved_interval = sys.getswitchinterval()
                sys.setswitchinterval(self.switch_interval)
            self._thread = threading.Thread(target=self._run, name="tandem-batches", daemon=True)
            self._thread.start()
            return batch
        kind, payload, (state, stats) = self._queue.get()
        self._state, self._stats = state, stats
        if kind == "error":
            self._done = True
            raise payload
        return payload

    # -- what a trainer asks of a stream ---------------------------------------------------------------------
    def _handed_out_state(self) -> Any:
        """The stream's state after the batches handed out (a snapshot of its own: do not modify it)."""
        return self._state

    @property
    def stats(self) -> Any:
        """The stream's statistics after the batches handed out."""
        return self._stats

    def stop(self) -> None:
        """Stop the background thread; the batches it built ahead are dropped (the stream stays open)."""
        self._stop.set()
        self._done = True
        if self._thread is not None:
            while self._thread.is_alive():
                try:  # a thread waiting to hand over a batch sees the stop within its put timeout
                    self._queue.get(timeout=0.05)
                except queue.Empty:
                    pass
            self._thread = None
        if self._saved_interval is not None:
            if abs(sys.getswitchinterval() - self.switch_interval) < 1e-9:  # unless someone set another since
                sys.setswitchinterval(self._saved_interval)
            self._saved_interval = None

    def close(self) -> None:
        """`stop()`, then close the stream."""
        self.stop()
        if hasattr(self.stream, "close"):
            self.stream.close()

    def __enter__(self) -> BackgroundBatches:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __getattr__(self, name: str) -> Any:  # anything else a caller reads of the stream
        if name == "stream":
            raise AttributeError(name)
        if name == "state_dict":  # only where the stream has one: callers test for it with hasattr
            if self._has_state:
                return self._handed_out_state
            raise AttributeError(f"{type(self.stream).__name__} has no state_dict")
        return getattr(self.stream, name)
