"""Helpers of the sandbox member tests: an app's pure model driven with injected times and read as
node exporter would, and waiting for an event over real sockets."""

from __future__ import annotations

import random
from collections.abc import Sequence

from sandbox.apps import AppModel
from sandbox.apps.kernel import CpuCounters

T0 = 1_000_000.0  # a large monotonic origin, as on a long-running host


def evenly(period_s: float, until: float) -> list[float]:
    """Arrival offsets 0, period, 2 period, ... below `until`."""
    return [i * period_s for i in range(int(until / period_s - 1e-9) + 1)]


def poisson(rate: float, until: float, seed: int) -> list[float]:
    rng, t, out = random.Random(seed), 0.0, []
    while True:
        t += rng.expovariate(rate)
        if t >= until:
            return out
        out.append(t)


def observe(model: AppModel, arrivals: Sequence[float],
            at: Sequence[float]) -> dict[float, tuple[CpuCounters, tuple[float, float, float]]]:
    """Submit `arrivals` and read counters and load averages at each of `at`, all in time order
    (a reading at the same instant as an arrival comes first)."""
    events = sorted([(t, 1) for t in arrivals] + [(t, 0) for t in at])
    readings = {}
    for t, is_arrival in events:
        if is_arrival:
            model.submit(T0 + t)
        else:
            readings[t] = (model.counters(T0 + t), model.load_averages(T0 + t))
    return readings


def busy_share(before: CpuCounters, after: CpuCounters) -> float:
    """Share of vCPU capacity busy between two readings: 1 - rate(idle), as the alert rules compute it."""
    idle = sum(after.idle) - sum(before.idle)
    return 1 - idle / (len(after.idle) * (after.elapsed - before.elapsed))


