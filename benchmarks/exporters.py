"""What Prometheus sees in the benchmark's pipeline model: each serving member's own node exporter
samples (its busy counter, its node_load1, its established connections) and the alert's averages
over instances, as the rules in bootstrap/alerting/alerts.json compute them.

Every serving member gets x = d/serving of the demand each second (round robin behind the NLB);
the app (benchmarks/apps.py) turns x into CPU, load1 per core and requests in flight. The busy
counter is kept once for the pool (`busy`) and each sample stores its value, since rate() only
looks at differences. A node's load1 is its own exponentially damped average, updated every 5 s
from its start as Linux does; its Tcp CurrEstab minus the scrape's connection is the app's
requests in flight at the scrape: x itself, or under random arrivals a Poisson count
(benchmarks/arrivals.py) shared evenly by the serving members. The pool's sum of those counts,
taken at each aligned 5 s subquery step from the last scrape at or before it, gives the alert's
requests in flight (its mean over the window, per member counted) and its trend: deriv() less
`trend_z` standard errors of that slope (trend_net_of_noise). A CPU-bound app's trend is the
plain slope of the summed CPU.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from benchmarks.apps import HTTP_LOAD_GENERATOR, ModelApp
from benchmarks.arrivals import RandomArrivals
from bootstrap.render import IN_FLIGHT_DEMAND
from sandbox import deployed


class Target(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def created(self) -> int: ...
    @property
    def running_at(self) -> int: ...


@dataclass(frozen=True)
class Reading:
    """One rule evaluation: the alert's CPU, its demand value and the members averaged."""
    cpu: float        # avg over instances of 1 - rate(idle[window])
    load: float       # avg node_load1 per core over instances with a current sample
    members: int      # instances in the CPU average (scale_members)
    in_flight: float = 0.0   # avg over instances of avg_over_time(CurrEstab - 1 [window])
    signal: str = "demand_cpu_bound"  # which alerts.json signal scale_value is
    trend: float | None = None  # deriv() of the pool's summed demand, members' worth per second

    @property
    def value(self) -> float:
        if self.signal == "demand":
            # requests in flight keep growing where CPU saturates; CPU covers a missing figure
            return max(self.cpu, self.in_flight)
        if self.signal == "cpu":   # alerts.json's plain CPU signal (the ablation of load1)
            return self.cpu
        # load1 lags and reads high after a burst, so it only counts as demand once CPU
        # saturates and can no longer tell 1.2 × from 5 × overload.
        return max(self.cpu, self.load) if self.cpu >= deployed.read().saturated_cpu else self.cpu


@dataclass
class _Node:
    """One scrape target: its own samples (time, busy counter, load1, in flight) and load1 EWMA."""
    start: int
    load: float
    next_update: int                                   # next 5 s load-average tick of this node
    samples: deque[tuple[int, float, float, float]] = field(default_factory=deque)
    alive: bool = True


def deriv(points: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus deriv(): the least-squares slope of value over time; None below two points."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var


def trend_net_of_noise(points: Sequence[tuple[float, float]], z: float) -> float | None:
    """The trend signal of bootstrap/alerting/alerts.json: deriv() less z standard errors of it,
    the error taken from the points' scatter around the fitted line (stddev_over_time of the
    values, less the line's own share, over n - 2 degrees of freedom)."""
    slope = deriv(points)
    if slope is None:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var_t = sum((t - mean_t) ** 2 for t, _ in points) / n      # stddev_over_time(timestamp(S))^2
    var_v = sum((v - mean_v) ** 2 for _, v in points) / n      # stddev_over_time(S)^2
    residual = max(var_v - (slope ** 2) * var_t, 0.0)
    return slope - z * math.sqrt(residual / max(n - 2, 1)) / math.sqrt(var_t)


class Exporters:
    """Per-instance samples as scraped, and the alert's averages over instances.

    `steady_share` is x for members serving since before t=0 (their load1 starts settled)."""

    def __init__(self, rate_window_s: int, steady_share: float, app: ModelApp = HTTP_LOAD_GENERATOR,
                 load_tau_s: float = 60.0, load_every_s: int = 5,
                 trend: tuple[int, int] = (60, 15), arrivals: RandomArrivals | None = None,
                 trend_z: float = 0.0) -> None:
        self.window_s = rate_window_s
        self.trend_window_s, self.trend_step_s = trend
        self.trend_z = trend_z
        self.sums: deque[tuple[int, float]] = deque()  # (scrape time, the pool's summed demand)
        self.app = app
        # The pool's sum is of requests in flight (alerts.json's in_flight and demand_trend), or
        # of CPU for a CPU-bound app (demand_cpu_bound_trend).
        self.counts_requests = app.demand_signal == IN_FLIGHT_DEMAND
        self.steady_load = app.load_per_core(steady_share)
        self.every = load_every_s
        self.decay = math.exp(-load_every_s / load_tau_s)
        self.busy = 0.0
        self.in_flight = app.in_flight(steady_share)   # per member, now
        self.arrivals = arrivals
        self.runnable: dict[int, float] = {}    # load per core each second, for the lazy load1 updates
        self.nodes: dict[str, _Node] = {}

    def second(self, t: int, demand: float, serving: int) -> None:
        x = demand / serving if serving else 0.0
        if serving:
            self.busy += self.app.cpu(x)
        self.runnable[t] = self.app.load_per_core(x)
        if self.arrivals is None:
            self.in_flight = self.app.in_flight(x)
        else:
            counted = self.arrivals.second(demand)
            self.in_flight = counted / serving if serving else 0.0

    def _load(self, node: _Node, t: int) -> float:
        while node.next_update <= t:
            node.load = node.load * self.decay + self.runnable[node.next_update] * (1 - self.decay)
            node.next_update += self.every
        return node.load

    def scrape(self, t: int, serving: Sequence[Target]) -> None:
        here = {m.id for m in serving}
        for node_id, known in self.nodes.items():
            # A removed target stops producing samples; its old ones stay in range vectors
            # until they age out (range selectors skip the staleness marker).
            known.alive = known.alive and node_id in here
        for m in serving:
            node = self.nodes.get(m.id)
            if node is None:
                if m.created < 0:       # serving since before the trace: steady state at t=0
                    first = m.running_at + self.every * math.ceil(-m.running_at / self.every)
                    node = _Node(m.running_at, self.steady_load, first)
                else:                   # a new machine: load1 starts from 0 at boot
                    node = _Node(m.running_at, 0.0, m.running_at + self.every)
                self.nodes[m.id] = node
            node.samples.append((t, self.busy, self._load(node, t), self.in_flight))
        self.sums.append((t, self._summed(t)))
        while len(self.sums) > 1 and self.sums[1][0] <= t - self.trend_window_s - self.trend_step_s:
            self.sums.popleft()

    def _summed(self, t: int) -> float:
        """What the trend's inner sum reads right after a scrape at t."""
        live = [n.samples for n in self.nodes.values() if n.alive and n.samples]
        if self.counts_requests:
            return sum(s[-1][3] for s in live)
        cpu = 0.0
        for samples in live:
            inside = [s for s in samples if s[0] > t - self.window_s]
            if len(inside) >= 2:
                cpu += (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
        return cpu

    def _steps(self, t: int) -> list[tuple[float, float]]:
        """The pool's sum at the subquery's steps: multiples of step in (t-window, t]."""
        step = self.trend_step_s
        points: list[tuple[float, float]] = []
        k = (t - self.trend_window_s) // step + 1
        while k * step <= t:
            at = k * step
            last = None
            for when, total in self.sums:
                if when > at:
                    break
                last = total
            if last is not None:
                points.append((at, last))
            k += 1
        return points

    def evaluate(self, t: int) -> Reading | None:
        cpus: list[float] = []
        loads: list[float] = []
        in_flight: list[float] = []
        for node_id in list(self.nodes):
            node = self.nodes[node_id]
            samples = node.samples
            while samples and samples[0][0] <= t - self.window_s:
                samples.popleft()
            if not samples:
                if not node.alive:
                    del self.nodes[node_id]
                continue
            if len(samples) >= 2:   # rate() needs two samples in the window
                (t0, b0, _, _), (t1, b1, _, _) = samples[0], samples[-1]
                cpus.append((b1 - b0) / (t1 - t0))
            if not self.counts_requests:  # avg_over_time: one sample is enough
                in_flight.append(sum(s[3] for s in samples) / len(samples))
            if node.alive:          # an instant vector drops a target once it is stale
                loads.append(samples[-1][2])
        if not cpus:
            return None
        steps = self._steps(t)
        if self.counts_requests:
            # alerts.json's in_flight: the pool's total over the window per member counted, so a
            # member that joined inside the window leaves the total as it was
            per_member = sum(v for _, v in steps) / len(steps) / len(cpus) if steps else 0.0
        else:
            per_member = sum(in_flight) / len(in_flight)
        # Only the count of requests in flight takes its noise off (alerts.json's demand_trend);
        # the CPU sum is a 30 s rate already and keeps its plain deriv().
        trend = trend_net_of_noise(steps, self.trend_z if self.counts_requests else 0.0)
        return Reading(sum(cpus) / len(cpus), sum(loads) / len(loads) if loads else 0.0, len(cpus),
                       per_member, self.app.demand_signal, trend)
