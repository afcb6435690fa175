"""One discrete-time model (1 s steps) of the whole scaling pipeline, shared by every policy.

demand (members' worth) → serving members, each with its own share d/serving (round robin behind
the NLB), which the app (benchmarks/apps.py; http-load-generator by default: requests in flight,
CPU the chance that one is in flight) turns into CPU, load1 and connections → per-instance
Prometheus samples (benchmarks/exporters.py: each instance its own busy counter, node_load1 and
established connections) → the alert's avg over instances of rate[window] (an instance counts
once it has two samples in the window; `scale_members` = how many counted) and its demand figure
(requests in flight, or CPU-then-load1 for a CPU-bound app) and, beside requests in flight, its
CPU (`scale_cpu`) → `for` → Grafana's state manager, which hands a firing alert with the
annotations of that evaluation to its Alertmanager at the first firing evaluation and then at the
first one at least `resend_s` (30 s) after its last send → group_wait / group_interval /
repeat_interval deliveries of what Alertmanager holds (re-sent at every flush while firing, as
deployed) → the policy. Tick-based policies run the tick's REAL
state machine (`functions.scaler.tick.transition.step`, around the real `decide()`) on a 60 s tick and,
as deployed, also in the second a delivery is stored (the receiver's kick starts a tick) and at
the first 15 s discovery cycle that sees the pool's running members change (sd's kick); the
baseline acts ±1 on every delivery. Delays, phases and boot times depend only on the seed, so
every policy faces exactly the same pipeline.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sandbox import measure

from .apps import HTTP_LOAD_GENERATOR, ModelApp
from .arrivals import RandomArrivals
from .controllers import BaselineController, Controller, DecideController
from .delays import DEPLOYED, Delays, Floor, Thresholds, floor, from_alert_spec
from .exporters import Exporters
from .simpool import SimMember, SimPool

DEFAULT_DELAYS, DEFAULT_THRESHOLDS = Delays(), Thresholds()
__all__ = ["DEPLOYED", "BaselineController", "Controller", "DecideController", "Delays", "Floor",
           "Result", "SimMember", "SimPool", "Thresholds", "floor", "from_alert_spec", "simulate"]

@dataclass
class _Alert:
    active_since: int | None = None
    firing: bool = False
    value: float | None = None
    members: int | None = None  # members the average was taken over (scale_members)
    trend: float | None = None  # scale_trend: the scale-up alert's only
    cpu: float | None = None    # scale_cpu: the alert's own CPU, the scale-up alert's only
    next_flush: int | None = None
    last_sent: int | None = None
    # What Alertmanager holds: (value, members, trend, cpu) of Grafana's last send, and when that
    # was (a resolved alert's send counts too: Grafana's State.NeedsSending keys on LastSentAt).
    held: tuple[float | None, int | None, float | None, float | None] | None = None
    handed_at: int | None = None


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


def simulate(demand: Sequence[float], controller: Controller, *, seed: int = 0,
             delays: Delays = DEFAULT_DELAYS, thresholds: Thresholds = DEFAULT_THRESHOLDS,
             initial_size: int = 2, bounds: tuple[int, int] = (1, 10),
             app: ModelApp = HTTP_LOAD_GENERATOR) -> Result:
    """One run. Overloaded (SLO-violation seconds, a shortfall) while fewer members serve than keep
    the app's CPU at or under the scale-up threshold (`app.needed`)."""
    rng = random.Random(seed)
    scrape_phase = rng.randrange(delays.scrape_s)
    eval_phase = rng.randrange(delays.eval_s)
    tick_phase = rng.randrange(delays.tick_s)
    boots = [rng.randint(delays.boot_min_s, delays.boot_max_s) for _ in range(256)]
    # Drawn last so that every other phase and boot time stays what it was before sd's kick.
    sd_phase = rng.randrange(delays.sd_s)
    pool = SimPool(initial_size, boots, delays.destroy_s)
    # Its own stream, so the same seed gives every policy the same arrivals and the phases above
    # stay what they were.
    arrivals = RandomArrivals(random.Random(f"arrivals/{seed}"), demand[0]) if app.random_counts else None
    exporters = Exporters(delays.rate_window_s, demand[0] / max(initial_size, 1), app, delays.load_tau_s,
                          delays.load_every_s, (delays.trend_window_s, delays.trend_step_s), arrivals,
                          delays.trend_noise_z)
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
                    if alert.firing:
                        alert.handed_at = t   # the resolved alert goes to Alertmanager now
                    alert.active_since, alert.firing, alert.held = None, False, None
                    continue
                if alert.active_since is None:
                    alert.active_since = t
                if t - alert.active_since >= (delays.for_s if direction == "up" else delays.down_for_s):
                    alert.firing = True
                alert.value, alert.members = reading.value, reading.members
                alert.trend = reading.trend if direction == "up" else None
                # scale_cpu: beside requests in flight only (bootstrap/render.py drops it otherwise)
                alert.cpu = reading.cpu if direction == "up" and reading.signal == "demand" else None
                if alert.firing and (alert.handed_at is None or t - alert.handed_at >= delays.resend_s):
                    alert.handed_at = t
                    alert.held = (alert.value, alert.members, alert.trend, alert.cpu)

        for direction, alert in alerts.items():
            if alert.firing and alert.next_flush is None:
                alert.next_flush, alert.last_sent = t + delays.group_wait_s, None
            if alert.next_flush != t:
                continue
            if not alert.firing:
                alert.next_flush = None             # resolved: the group ends (receiver ignores it)
                continue
            if alert.held is not None and (alert.last_sent is None or t - alert.last_sent >= delays.repeat_s):
                alert.last_sent = t
                value, members, trend, cpu = alert.held
                result.deliveries.append((t, direction, value))
                result.delivered_members.append(members)
                record(t, controller.webhook(t, direction, value, members, pool, trend, cpu))
                if controller.tick_on_webhook:
                    # The receiver's kick: the tick runs within a second of the stored request
                    # (a real tick takes ≈0.35 s); the timer's ticks go on as before.
                    record(t, controller.tick(t, pool, "kick"))
            alert.next_flush = t + delays.group_interval_s

        serving = pool.serving(t)
        need = app.needed(d, thresholds.up, bounds)
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
