"""Prometheus text-format metrics kept in process: request counts, latency and batch-size histograms, queue depth."""

from __future__ import annotations

import threading
from collections import defaultdict

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class _Histogram:
    def __init__(self, buckets: tuple[float, ...]):
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        for i, b in enumerate(self.buckets):
            if value <= b:
                self.counts[i] += 1
        self.total += 1
        self.sum += value

    def lines(self, name: str, labels: str = "") -> list[str]:
        sep = "," if labels else ""
        out = [f'{name}_bucket{{{labels}{sep}le="{b:g}"}} {c}' for b, c in zip(self.buckets, self.counts)]
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.total}')
        lab = f"{{{labels}}}" if labels else ""
        out += [f"{name}_sum{lab} {self.sum:.6f}", f"{name}_count{lab} {self.total}"]
        return out


class Metrics:
    """Thread-safe counters for the server; `render()` gives the Prometheus exposition text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.latency: dict[str, _Histogram] = {}
        self.batch_size = _Histogram(BATCH_BUCKETS)
        self.queue_depth = 0
        self.in_flight = 0
        self.rejected_queue_full = 0
        self.rejected_in_flight = 0
        self.timeouts = 0
        self.disconnects = 0

    def observe_request(self, route: str, code: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, code)] += 1
            self.latency.setdefault(route, _Histogram(LATENCY_BUCKETS)).observe(seconds)

    def observe_batch(self, size: int) -> None:
        with self._lock:
            self.batch_size.observe(size)

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP tandem_requests_total HTTP requests by route and status code.",
                "# TYPE tandem_requests_total counter",
            ]
            for (route, code), n in sorted(self.requests.items()):
                lines.append(f'tandem_requests_total{{route="{route}",code="{code}"}} {n}')
            lines += [
                "# HELP tandem_request_latency_seconds Request latency by route.",
                "# TYPE tandem_request_latency_seconds histogram",
            ]
            for route, h in sorted(self.latency.items()):
                lines += h.lines("tandem_request_latency_seconds", f'route="{route}"')
            lines += [
                "# HELP tandem_batch_size Rows per backend call.",
                "# TYPE tandem_batch_size histogram",
                *self.batch_size.lines("tandem_batch_size"),
                "# HELP tandem_queue_depth Rows waiting for a batch.",
                "# TYPE tandem_queue_depth gauge",
                f"tandem_queue_depth {self.queue_depth}",
                "# HELP tandem_in_flight_requests Requests being handled.",
                "# TYPE tandem_in_flight_requests gauge",
                f"tandem_in_flight_requests {self.in_flight}",
                "# HELP tandem_rejected_total Requests turned away with 503: the queue was full, or too many "
                "requests were in flight.",
                "# TYPE tandem_rejected_total counter",
                f'tandem_rejected_total{{reason="queue_full"}} {self.rejected_queue_full}',
                f'tandem_rejected_total{{reason="in_flight"}} {self.rejected_in_flight}',
                "# HELP tandem_timeouts_total Requests that ran past their timeout.",
                "# TYPE tandem_timeouts_total counter",
                f"tandem_timeouts_total {self.timeouts}",
                "# HELP tandem_client_disconnects_total Requests whose client closed the connection before the answer.",
                "# TYPE tandem_client_disconnects_total counter",
                f"tandem_client_disconnects_total {self.disconnects}",
            ]
        return "\n".join(lines) + "\n"
