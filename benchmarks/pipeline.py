"""One discrete-time model (1 s steps) of the whole scaling pipeline, shared by every policy.

demand → serving members, each with its own share d/serving (round robin behind the NLB): CPU
saturates at 100 % per member, load per core keeps growing → per-instance Prometheus samples
(each instance its own busy counter and its own node_load1, a 5 s-updated damped average that
starts from 0 when a new member boots) → the alert's avg over instances of rate[window] (an
instance counts once it has two samples in the window; `scale_members` = how many counted), with
load1 read as demand only once CPU saturates → `for` → Alertmanager/Grafana group_wait /
group_interval / repeat_interval deliveries → the policy. Tick-based policies run the tick's REAL
state machine (`functions.scaler.transition.step`, around the real `decide()`) on a 60 s tick and,
as deployed, also in the second a delivery is stored (the receiver's kick starts a tick) and at
the first 15 s discovery cycle that sees the pool's running members change (sd's kick); the
baseline acts ±1 on every delivery. Delays, phases and boot times depend only on the seed, so
every policy faces exactly the same pipeline.
"""
from __future__ import annotations

import math
import random
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from functions.common.config import Config
from functions.scaler import transition
from functions.scaler.policy import NONE, UP, Member, Outcome, Params, Pending, PoolView
from functions.scaler.scale_request import ScaleRequest
from functions.scaler.state import ScalerState
from functions.scaler.transition import Called, Finished, Observed, Settings
from sandbox import deployed, measure

SLO_UTILISATION = 0.8   # SLO violated while demand > serving capacity × this
DEPLOYED = deployed.read()  # every timer and threshold of the alerting chain, from its own file


@dataclass(frozen=True)
class Delays:
    """The pipeline's delays: the deployment's by default (sandbox/deployed.py), and the model's
    own figures for what no file holds (boot times, node_load1's kernel constants)."""
    scrape_s: int = DEPLOYED.scrape_s
    rate_window_s: int = DEPLOYED.rate_window_s
    eval_s: int = DEPLOYED.eval_s
    for_s: int = DEPLOYED.for_s
    group_wait_s: int = DEPLOYED.group_wait_s
    group_interval_s: int = DEPLOYED.group_interval_s
    repeat_s: int = DEPLOYED.repeat_s
    tick_s: int = DEPLOYED.tick_s
    sd_s: int = DEPLOYED.sd_s  # discovery sees member changes at this period
    boot_min_s: int = 60       # create → booted → app healthy behind the NLB on Exoscale
    boot_max_s: int = 90
    destroy_s: int = 10
    load_tau_s: float = 60.0   # node_load1 is an exponentially damped 1-minute average
    load_every_s: int = 5      # ... that the kernel updates every 5 s (LOAD_FREQ)

    @property
    def boot_mean_s(self) -> float:
        return (self.boot_min_s + self.boot_max_s) / 2

    def describe(self) -> str:
        return (f"scrape {self.scrape_s}s, rate window {self.rate_window_s}s, eval {self.eval_s}s, "
                f"for {self.for_s}s, group_wait {self.group_wait_s}s, group_interval "
                f"{self.group_interval_s}s, repeat {self.repeat_s}s, tick {self.tick_s}s, "
                f"sd {self.sd_s}s, boot {self.boot_min_s}–{self.boot_max_s}s, "
                f"load1 τ {self.load_tau_s:.0f}s every {self.load_every_s}s")


@dataclass(frozen=True)
class Thresholds:
    up: float = DEPLOYED.scale_up_cpu
    down: float = DEPLOYED.scale_down_cpu


def from_alert_spec() -> tuple[Delays, Thresholds]:
    """The alerting delays and thresholds the deployment really uses (one source of truth)."""
    return Delays(), Thresholds()


@dataclass(frozen=True)
class Floor:
    """The fastest any policy can bring capacity, from the pipeline's delays alone."""
    detection_s: float   # mean wait for a scrape + half the rate window + mean wait for an eval
    for_s: float
    group_wait_s: float
    tick_wait_s: float   # mean wait for the next tick (0 when a stored delivery starts one)
    boot_s: float        # mean boot

    @property
    def total_s(self) -> float:
        return self.detection_s + self.for_s + self.group_wait_s + self.tick_wait_s + self.boot_s

    def describe(self) -> str:
        tick = f"tick wait {self.tick_wait_s:.1f}" if self.tick_wait_s else "tick wait 0 (kicked)"
        return (f"detection {self.detection_s:.1f} (scrape/2 + window/2 + eval/2) + for "
                f"{self.for_s:.0f} + group_wait {self.group_wait_s:.0f} + {tick} + boot "
                f"{self.boot_s:.1f} = {self.total_s:.1f} s")


def floor(delays: Delays, kicked: bool = True) -> Floor:
    """The deployed floor (`kicked`: a stored delivery starts a tick, no tick wait) or the old
    one of a tick-only pipeline (mean wait tick/2)."""
    # A step to saturation pushes the windowed rate past 80 % about half a window later.
    return Floor(delays.scrape_s / 2 + delays.rate_window_s / 2 + delays.eval_s / 2,
                 delays.for_s, delays.group_wait_s, 0.0 if kicked else delays.tick_s / 2,
                 delays.boot_mean_s)


# ---- the pool ------------------------------------------------------------------------------
@dataclass
class Instance:
    id: str
    created: int
    running_at: int


class SimPool:
    """Members in creation order; a member serves once booted; removed ones bill until gone."""

    def __init__(self, size: int, boots: Sequence[int], destroy_s: int) -> None:
        self.boots = boots
        self.destroy_s = destroy_s
        self.serial = 0
        self.members: list[Instance] = []
        self.destroying: list[int] = []  # times at which removed members are gone
        for _ in range(size):
            self._add(-10_000, running=True)

    def _add(self, t: int, running: bool = False) -> None:
        boot = 0 if running else self.boots[self.serial % len(self.boots)]
        self.members.append(Instance(f"m{self.serial:04d}", t, t + boot))
        self.serial += 1

    @property
    def size(self) -> int:
        return len(self.members)

    def serving(self, t: int) -> int:
        return sum(1 for m in self.members if t >= m.running_at)

    def billed(self, t: int) -> int:
        self.destroying = [gone for gone in self.destroying if gone > t]
        return len(self.members) + len(self.destroying)

    def state(self, t: int) -> str:
        # As the emulator: scaling-up while a member boots, scaling-down while one is destroyed.
        if any(t < m.running_at for m in self.members):
            return "scaling-up"
        if any(gone > t for gone in self.destroying):
            return "scaling-down"
        return "running"

    def view(self, t: int) -> PoolView:
        members = tuple(Member(m.id, "running" if t >= m.running_at else "starting",
                               f"{m.created + 100_000:09d}") for m in self.members)
        return PoolView(self.size, self.state(t), members)

    def scale_to(self, t: int, size: int) -> None:
        while self.size < size:
            self._add(t)
        while self.size > size:  # Exoscale removes the oldest member when the size drops
            self.members.pop(0)
            self.destroying.append(t + self.destroy_s)

    def evict(self, t: int, ids: Sequence[str]) -> None:
        wanted = set(ids)
        self.destroying += [t + self.destroy_s for m in self.members if m.id in wanted]
        self.members = [m for m in self.members if m.id not in wanted]


# ---- policies -------------------------------------------------------------------------------
class Controller(Protocol):
    name: str
    uses_tick: bool
    tick_on_webhook: bool  # a stored delivery starts a tick in the same second (the kick)
    tick_on_members: bool  # sd seeing the running members change starts a tick (sd's kick)
    outcomes: Counter[str]

    def webhook(self, t: int, direction: str, value: float | None, members: int | None,
                pool: SimPool) -> str | None: ...

    def tick(self, t: int, pool: SimPool, trigger: str = "timer") -> str | None: ...


class DecideController:
    """The tick's own state machine (`transition.step`, with the real decide()) on a tick: requests
    accumulate between ticks and are consumed as the tick consumes them.
    `kicked`: each stored delivery also starts a tick at once (deployed), besides the timer;
    `sd_kicked` (default: as `kicked`): so does a discovery cycle that sees the members change."""
    uses_tick = True

    def __init__(self, name: str, params: Params, bounds: tuple[int, int],
                 ttl_s: float = Config.request_ttl_s, kicked: bool = False,
                 sd_kicked: bool | None = None) -> None:
        self.name = name
        self.settings = Settings(params, bounds, ttl_s)
        self.tick_on_webhook = kicked
        self.tick_on_members = kicked if sd_kicked is None else sd_kicked
        self.pending: list[Pending] = []
        self.state = ScalerState()
        self.outcomes: Counter[str] = Counter()
        # (time, pool size, reason, trigger) of ticks with requests
        self.log: list[tuple[int, int, str, str]] = []
        self._n = 0

    def webhook(self, t: int, direction: str, value: float | None, members: int | None,
                pool: SimPool) -> str | None:
        self._n += 1
        alert = "PoolCpuHigh" if direction == "up" else "PoolCpuLow"
        request = ScaleRequest(direction, "alertmanager", float(t), alert, alert, value,
                               members)
        self.pending.append(Pending(f"requests/sim/{t:09d}-{self._n}.json", request))
        return None  # stored only; the tick acts

    def tick(self, t: int, pool: SimPool, trigger: str = "timer") -> str | None:
        now = float(t)
        state, effects = transition.step(self.state, Observed(pool.view(t), tuple(self.pending)),
                                         self.settings, now)
        decision = effects.decision
        assert decision is not None
        expired = sum(len(r.requests) for r in effects.history if r.action == Outcome.EXPIRED)
        live = len(self.pending) - expired
        if live or decision.action != NONE:
            self.log.append((t, pool.size, decision.reason, trigger))
        self.outcomes["expired"] += expired
        gone = set(effects.delete)
        moved = None
        if state.intent is not None:
            # As the tick: the call (the simulated pool never fails it), then the record.
            if decision.action == UP:
                pool.scale_to(t, decision.target_size)
                moved = "up"
            else:
                pool.evict(t, decision.evict)
                moved = "down"
            state, _ = transition.step(state, Called(None), self.settings, now)
            state, finished = transition.step(state, Finished(), self.settings, now)
            self.outcomes["acted"] += len(finished.delete)
            gone.update(finished.delete)
        elif decision.consume:
            assert decision.outcome is not None
            self.outcomes[decision.outcome] += len(decision.consume)
        elif live:
            self.outcomes["waited (pool not running)"] += 1
        self.state = state
        self.pending = [p for p in self.pending if p.key not in gone]
        return moved


class BaselineController:
    """The classic: ±1 on every firing delivery, at once, no tick, no cooldown (bounds kept)."""
    uses_tick = False
    tick_on_webhook = False
    tick_on_members = False

    def __init__(self, bounds: tuple[int, int], name: str = "baseline ±1/webhook") -> None:
        self.name, self.bounds = name, bounds
        self.outcomes: Counter[str] = Counter()

    def webhook(self, t: int, direction: str, value: float | None, members: int | None,
                pool: SimPool) -> str | None:
        low, high = self.bounds
        if direction == "up" and pool.size < high:
            pool.scale_to(t, pool.size + 1)
            return "up"
        if direction == "down" and pool.size > low:
            pool.scale_to(t, pool.size - 1)
            return "down"
        self.outcomes["at-bound"] += 1
        return None

    def tick(self, t: int, pool: SimPool, trigger: str = "timer") -> str | None:
        return None


# ---- what Prometheus sees -------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """One rule evaluation: the alert's CPU, its demand value and the members averaged."""
    cpu: float        # avg over instances of 1 - rate(idle[window])
    load: float       # avg node_load1 per core over instances with a current sample
    members: int      # instances in the CPU average (scale_members)

    @property
    def value(self) -> float:
        # scale_value: load1 lags and reads high after a burst, so it only counts as demand
        # once CPU saturates and can no longer tell 1.2 × from 5 × overload.
        return max(self.cpu, self.load) if self.cpu >= DEPLOYED.saturated_cpu else self.cpu


@dataclass
class _Node:
    """One scrape target: its own samples (time, busy counter, load1) and its own load1 EWMA."""
    start: int
    load: float
    next_update: int                                   # next 5 s load-average tick of this node
    samples: deque[tuple[int, float, float]] = field(default_factory=deque)
    alive: bool = True


class Exporters:
    """Per-instance node_cpu/node_load1 as scraped, and the alert's averages over instances.

    Every serving member gets d/serving of the load per second (round robin behind the NLB), so
    each one's busy counter grows by min(1, d/serving); a counter is kept once for the pool
    (`busy`) and each sample stores its value, since rate() only looks at differences. A node's
    load1 is its own exponentially damped average, updated every 5 s from its start as Linux does.
    """

    def __init__(self, delays: Delays, steady_load: float) -> None:
        self.delays = delays
        self.steady_load = steady_load          # load1 per core of members serving since before t=0
        self.decay = math.exp(-delays.load_every_s / delays.load_tau_s)
        self.busy = 0.0
        self.runnable: dict[int, float] = {}    # d/serving per second, for the lazy load1 updates
        self.nodes: dict[str, _Node] = {}

    def second(self, t: int, demand: float, serving: int) -> None:
        if serving:
            self.busy += min(1.0, demand / serving)    # CPU saturates at 100 % per member
        self.runnable[t] = demand / serving if serving else 0.0   # load per core does not

    def _load(self, node: _Node, t: int) -> float:
        every = self.delays.load_every_s
        while node.next_update <= t:
            node.load = node.load * self.decay + self.runnable[node.next_update] * (1 - self.decay)
            node.next_update += every
        return node.load

    def scrape(self, t: int, serving: Sequence[Instance]) -> None:
        here = {m.id for m in serving}
        for node_id, known in self.nodes.items():
            # A removed target stops producing samples; its old ones stay in range vectors
            # until they age out (range selectors skip the staleness marker).
            known.alive = known.alive and node_id in here
        every = self.delays.load_every_s
        for m in serving:
            node = self.nodes.get(m.id)
            if node is None:
                if m.created < 0:       # serving since before the trace: steady state at t=0
                    first = m.running_at + every * math.ceil(-m.running_at / every)
                    node = _Node(m.running_at, self.steady_load, first)
                else:                   # a new machine: load1 starts from 0 at boot
                    node = _Node(m.running_at, 0.0, m.running_at + every)
                self.nodes[m.id] = node
            node.samples.append((t, self.busy, self._load(node, t)))

    def evaluate(self, t: int) -> Reading | None:
        cpus: list[float] = []
        loads: list[float] = []
        for node_id in list(self.nodes):
            node = self.nodes[node_id]
            samples = node.samples
            while samples and samples[0][0] <= t - self.delays.rate_window_s:
                samples.popleft()
            if not samples:
                if not node.alive:
                    del self.nodes[node_id]
                continue
            if len(samples) >= 2:   # rate() needs two samples in the window
                (t0, b0, _), (t1, b1, _) = samples[0], samples[-1]
                cpus.append((b1 - b0) / (t1 - t0))
            if node.alive:          # an instant vector drops a target once it is stale
                loads.append(samples[-1][2])
        if not cpus:
            return None
        return Reading(sum(cpus) / len(cpus), sum(loads) / len(loads) if loads else 0.0, len(cpus))


# ---- the pipeline ---------------------------------------------------------------------------
@dataclass
class _Alert:
    active_since: int | None = None
    firing: bool = False
    value: float | None = None
    members: int | None = None  # members the average was taken over (scale_members)
    next_flush: int | None = None
    last_sent: int | None = None


@dataclass
class Result:
    policy: str
    actions: list[tuple[int, str]] = field(default_factory=list)
    deliveries: list[tuple[int, str, float | None]] = field(default_factory=list)
    delivered_members: list[int | None] = field(default_factory=list)  # scale_members per delivery
    episodes: list[int] = field(default_factory=list)  # under-capacity stretches ended by capacity, s
    receded: int = 0        # under-capacity stretches that ended because demand fell first
    censored: bool = False  # the last stretch had not ended when the trace did
    violation_s: int = 0
    instance_s: int = 0
    max_size: int = 0
    sizes: list[int] = field(default_factory=list)       # pool size per second
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def reaction_s(self) -> int | None:
        """The slowest time from a shortfall's start until serving capacity met its peak need."""
        return max(self.episodes, default=None)

    @property
    def flaps(self) -> int:
        return measure.flaps(self.actions)


def needed(demand: float, bounds: tuple[int, int]) -> int:
    """Members needed so that demand stays within SLO_UTILISATION of serving capacity."""
    return min(max(math.ceil(demand / SLO_UTILISATION - 1e-9), bounds[0]), bounds[1])


def simulate(demand: Sequence[float], controller: Controller, *, seed: int = 0,
             delays: Delays = Delays(), thresholds: Thresholds = Thresholds(),
             initial_size: int = 2, bounds: tuple[int, int] = (1, 10)) -> Result:
    rng = random.Random(seed)
    scrape_phase = rng.randrange(delays.scrape_s)
    eval_phase = rng.randrange(delays.eval_s)
    tick_phase = rng.randrange(delays.tick_s)
    boots = [rng.randint(delays.boot_min_s, delays.boot_max_s) for _ in range(256)]
    # Drawn last so that every other phase and boot time stays what it was before sd's kick.
    sd_phase = rng.randrange(delays.sd_s)
    pool = SimPool(initial_size, boots, delays.destroy_s)
    exporters = Exporters(delays, demand[0] / max(initial_size, 1))
    alerts = {"up": _Alert(), "down": _Alert()}
    result = Result(controller.name)
    under_since: int | None = None
    peak_need = 0
    sd_seen = frozenset(m.id for m in pool.members if m.running_at <= 0)  # sd's last target file

    def record(t: int, direction: str | None) -> None:
        if direction:
            result.actions.append((t, direction))

    for t in range(len(demand)):
        trigger = None
        if controller.uses_tick and (t - tick_phase) % delays.tick_s == 0:
            trigger = "timer"
        if controller.tick_on_members and (t - sd_phase) % delays.sd_s == 0:
            # sd lists the members in state running (= serving here) and rewrites its target
            # file, then kicks, when that set differs from its last file: a member booted or left.
            running = frozenset(m.id for m in pool.members if t >= m.running_at)
            if running != sd_seen:
                sd_seen = running
                # A timer tick in the same second already covers it (systemd merges the start).
                trigger = trigger or "sd kick"
        if trigger:
            record(t, controller.tick(t, pool, trigger))

        d = demand[t]
        exporters.second(t, d, pool.serving(t))
        if (t - scrape_phase) % delays.scrape_s == 0:
            exporters.scrape(t, [m for m in pool.members if t >= m.running_at])

        if (t - eval_phase) % delays.eval_s == 0:
            reading = exporters.evaluate(t)
            for direction, alert in alerts.items():
                if reading is None or not (reading.cpu > thresholds.up if direction == "up"
                                           else reading.cpu < thresholds.down):
                    alert.active_since, alert.firing = None, False
                    continue
                if alert.active_since is None:
                    alert.active_since = t
                if t - alert.active_since >= delays.for_s:
                    alert.firing = True
                alert.value, alert.members = reading.value, reading.members

        for direction, alert in alerts.items():
            if alert.firing and alert.next_flush is None:
                alert.next_flush, alert.last_sent = t + delays.group_wait_s, None
            if alert.next_flush != t:
                continue
            if not alert.firing:
                alert.next_flush = None             # resolved: the group ends (receiver ignores it)
                continue
            if alert.last_sent is None or t - alert.last_sent >= delays.repeat_s:
                alert.last_sent = t
                result.deliveries.append((t, direction, alert.value))
                result.delivered_members.append(alert.members)
                record(t, controller.webhook(t, direction, alert.value, alert.members, pool))
                if controller.tick_on_webhook:
                    # The receiver's kick: the tick runs within a second of the stored request
                    # (a real tick takes ≈0.35 s); the timer's ticks go on as before.
                    record(t, controller.tick(t, pool, "kick"))
            alert.next_flush = t + delays.group_interval_s

        serving = pool.serving(t)
        need = needed(d, bounds)
        short = serving < need
        result.violation_s += short
        if short:
            if under_since is None:
                under_since, peak_need = t, need
            peak_need = max(peak_need, need)
        elif under_since is not None:
            # Only a shortfall that capacity closed is a reaction; one the load ended by falling
            # back (a spike shorter than the pipeline) is counted apart.
            if serving >= peak_need:
                result.episodes.append(t - under_since)
            else:
                result.receded += 1
            under_since = None
        result.instance_s += pool.billed(t)
        result.sizes.append(pool.size)
        result.max_size = max(result.max_size, pool.size)
    if under_since is not None:
        result.episodes.append(len(demand) - under_since)
        result.censored = True
    result.outcomes = Counter(controller.outcomes)
    return result
