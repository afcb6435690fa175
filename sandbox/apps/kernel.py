"""What a modelled member's Linux kernel reports, whatever app runs on it: CPU-time counters and load averages.

Pure: every call takes the current time. The app models (processor sharing, http-load-generator)
extend `ModelledNode` and decide how many vCPUs are busy and how many threads are runnable; this
module turns that into node_cpu_seconds_total and node_load1/5/15 the way the kernel does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

# Linux samples the run queue every LOAD_FREQ = 5 s and folds it into exponentially decayed
# averages with these time constants (kernel/sched/loadavg.c).
LOAD_INTERVAL_S = 5.0
LOAD_WINDOWS_S = (60.0, 300.0, 900.0)


class RequestOutcome(StrEnum):
    DONE = "done"
    TIMEOUT = "timeout"
    REJECTED = "rejected"


@dataclass(frozen=True)
class RequestResult:
    outcome: RequestOutcome
    arrived: float
    finished: float


@dataclass(frozen=True)
class CpuCounters:
    """Cumulative seconds per vCPU since the model's start (node_cpu_seconds_total)."""

    busy: tuple[float, ...]  # per vCPU busy seconds
    idle: tuple[float, ...]  # per vCPU idle seconds

    @property
    def elapsed(self) -> float:
        return self.busy[0] + self.idle[0]

    @classmethod
    def spread(cls, busy_s: float, idle_s: float, vcpus: int) -> CpuCounters:
        """Busy time spread evenly over the vCPUs, as a balanced scheduler would."""
        return cls(busy=(busy_s / vcpus,) * vcpus, idle=(idle_s / vcpus,) * vcpus)


@dataclass
class LoadAverage:
    """The kernel's 1/5/15-minute load averages of one node, sampled on a 5 s grid from `start`."""

    start: float
    values: list[float] = field(init=False)
    _next_tick: float = field(init=False)

    def __post_init__(self) -> None:
        self.values = [0.0 for _ in LOAD_WINDOWS_S]
        self._next_tick = self.start + LOAD_INTERVAL_S

    def fold(self, t: float, runnable: int) -> None:
        """The run queue held `runnable` since the previous call: fold in every 5 s sample up to `t`.

        load = n + (load - n) * e^(-5 s * ticks / window) for a run queue constant at n.
        """
        if t < self._next_tick:
            return
        ticks = math.floor((t - self._next_tick) / LOAD_INTERVAL_S) + 1
        for i, window in enumerate(LOAD_WINDOWS_S):
            decay = math.exp(-LOAD_INTERVAL_S * ticks / window)
            self.values[i] = runnable + (self.values[i] - runnable) * decay
        self._next_tick += ticks * LOAD_INTERVAL_S

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.values[0], self.values[1], self.values[2])


@dataclass
class ModelledNode:
    """One node's clock, CPU-time integrals, load averages and answered requests; an app model
    extends it with its requests and `advance()`. Not thread-safe: the owner holds a lock."""

    start: float
    vcpus: int = 1
    t: float = field(init=False)
    busy_s: float = field(init=False, default=0.0)  # vCPU-seconds busy
    # Idle is integrated too rather than derived as elapsed - busy: two independently rounded
    # sums could make it step back by 1e-10, and Prometheus reads any decrease as a reset.
    idle_s: float = field(init=False, default=0.0)
    served: int = field(init=False, default=0)
    loads: LoadAverage = field(init=False)
    _results: dict[int, RequestResult] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.vcpus < 1:
            raise ValueError("vcpus >= 1")
        self.t = self.start
        self.loads = LoadAverage(self.start)

    def advance(self, now: float) -> None:
        raise NotImplementedError

    def result(self, job_id: int) -> RequestResult | None:
        """The request's outcome once known; None while the app still holds it."""
        return self._results.get(job_id)

    def collect(self, job_id: int) -> RequestResult | None:
        """Like result(), but forgets a known outcome (the caller has taken it)."""
        return self._results.pop(job_id, None)

    def counters(self, now: float) -> CpuCounters:
        """Per-vCPU busy/idle seconds, each a sum of non-negative steps so exactly monotonic."""
        self.advance(now)
        return CpuCounters.spread(self.busy_s, self.idle_s, self.vcpus)

    def load_averages(self, now: float) -> tuple[float, float, float]:
        self.advance(now)
        return self.loads.as_tuple()

    def _spend(self, dt: float, busy_vcpus: float) -> None:
        """`busy_vcpus` of the vCPUs were busy for `dt` seconds."""
        self.busy_s += busy_vcpus * dt
        self.idle_s += (self.vcpus - busy_vcpus) * dt
