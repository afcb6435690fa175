"""Pure: the sandbox's figures, measured from outside the scaler.

Actions and pool sizes come from the emulator's operation log, requests lost from the
sender's record of deliveries against the bucket's history, latency from the load generator,
CPU and requests in flight from the members' models. Overload is judged per app: by the
latency SLO where latency tells (processor-sharing), by the pool's CPU against the scale-up
threshold where every answer takes the same 10 s (http-load-generator).
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

# A reversal of direction this soon after the previous action is a flap: the one definition the
# sandbox's report and the benchmark's replay (benchmarks/pipeline.py) both count with.
FLAP_WINDOW_S = 300.0


@dataclass(frozen=True)
class Sample:
    t: float                 # seconds since the run started
    offered_rps: float
    ok_rps: float
    p95_s: float | None
    errors: int              # failed requests in the sample's window
    cpu: float | None        # average modelled CPU of running members (0..1)
    pool_size: int           # the pool's size as the API reports it (billed members)
    serving: int             # members the NLB considers healthy
    pending: int             # scale requests waiting in the bucket
    in_flight: int = 0       # /load requests the members hold
    in_flight_max: int = 0   # the most one member holds
    members: int = 0         # members running the app (booted, maybe not yet serving)

    @property
    def in_flight_per_member(self) -> float | None:
        return self.in_flight / self.members if self.members else None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScalingCall:
    t: float
    operation: str
    size_before: int
    size_after: int

    @property
    def direction(self) -> int:
        return (self.size_after > self.size_before) - (self.size_after < self.size_before)


def flaps(moves: Sequence[tuple[float, object]], window_s: float = FLAP_WINDOW_S) -> int:
    """Reversals: moves (time, direction) whose direction differs from the previous move's,
    at most `window_s` after it."""
    return sum(1 for (t0, d0), (t1, d1) in itertools.pairwise(moves)
               if d0 != d1 and t1 - t0 <= window_s)


def first_after(samples: Sequence[Sample], t0: float, test: Any) -> float | None:
    for s in samples:
        if s.t >= t0 and test(s):
            return s.t
    return None


def reaction_up(samples: Sequence[Sample], step_t: float | None) -> float | None:
    """Load step → first new member serving (NLB-healthy count above its level at the step)."""
    if step_t is None:
        return None
    base = next((s.serving for s in samples if s.t >= step_t), None)
    if base is None:
        return None
    hit = first_after(samples, step_t, lambda s: s.serving > base)
    return None if hit is None else hit - step_t


def reaction_down(actions: Sequence[ScalingCall], drop_t: float | None) -> float | None:
    """Load drop → first action that lowered the pool."""
    if drop_t is None:
        return None
    hit = next((a.t for a in actions if a.t >= drop_t and a.direction < 0), None)
    return None if hit is None else hit - drop_t


def slo_violation_s(samples: Sequence[Sample], slo_p95_s: float, max_error_ratio: float) -> float:
    """Seconds during which p95 latency or the error ratio broke the SLO (sampled)."""
    total = 0.0
    for prev, cur in itertools.pairwise(samples):
        dt = cur.t - prev.t
        sent = cur.ok_rps * dt + cur.errors
        bad_latency = cur.p95_s is not None and cur.p95_s > slo_p95_s
        bad_errors = sent > 0 and cur.errors / sent > max_error_ratio
        if bad_latency or bad_errors:
            total += dt
    return total


def trailing_mean(samples: Sequence[Sample], i: int, window_s: float,
                  value: Callable[[Sample], float | None] = lambda s: s.cpu) -> float | None:
    """Time-weighted mean of a sampled figure (the pool's CPU unless told) over (t_i - window_s, t_i].

    Each sample's figure covers the interval since the previous sample, as a rate() over the
    alert rules' window does; a sample that overlaps the window's start counts in part, one
    without a value is left out. None without data.
    """
    lo = samples[i].t - window_s
    weighted = total = 0.0
    for j in range(i, 0, -1):
        cur, prev = samples[j], samples[j - 1]
        if cur.t <= lo:
            break
        dt = cur.t - max(prev.t, lo)
        v = value(cur)
        if v is not None and dt > 0:
            weighted += v * dt
            total += dt
    return weighted / total if total > 0 else None


@dataclass(frozen=True)
class CpuOverload:
    """http-load-generator: seconds with the pool's average CPU, over the alert rules' rate window,
    above the scale-up threshold: the seed's own definition of an overloaded pool."""

    threshold: float
    window_s: float
    figure = "cpu_above_scale_up"

    def seconds(self, samples: Sequence[Sample]) -> float:
        total = 0.0
        for i in range(1, len(samples)):
            mean = trailing_mean(samples, i, self.window_s)
            if mean is not None and mean > self.threshold:
                total += samples[i].t - samples[i - 1].t
        return total

    def definition(self) -> str:
        return (f"seconds with the pool's average CPU (over the trailing {self.window_s:.0f} s, the alert "
                f"rules' rate window) above the scale-up threshold {self.threshold:.0%}")


@dataclass(frozen=True)
class LatencySlo:
    """processor-sharing: seconds during which p95 latency or the error ratio broke the SLO."""

    p95_s: float
    max_error_ratio: float
    figure = "latency_slo"

    def seconds(self, samples: Sequence[Sample]) -> float:
        return slo_violation_s(samples, self.p95_s, self.max_error_ratio)

    def definition(self) -> str:
        return f"seconds with p95 latency above {self.p95_s:g} s or errors above {self.max_error_ratio:.0%}"


Overload = CpuOverload | LatencySlo


def duration_s(text: str) -> float:
    """A Prometheus duration such as `1m`, `10s` or `1m30s` in seconds."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * units[u] for n, u in parts)


def instance_seconds(samples: Sequence[Sample]) -> float:
    return sum((cur.t - prev.t) * prev.pool_size for prev, cur in itertools.pairwise(samples))


def pipeline_split(deliveries: Iterable[Any], actions: Sequence[ScalingCall], *, t0: float,
                   step_t: float | None) -> dict[str, float | None]:
    """Where the scale-up reaction went: load step → the first 2xx delivery of a firing scale-up
    alert (the alerting pipeline: scrape, rate window, evaluation, `for`, group wait), and that
    delivery → the first scale-up action (the scaler). Delivery times are wall clock, noted when
    the answer came back; `t0` is the actions' zero."""
    if step_t is None:
        return {"step_to_first_up_delivery_s": None, "first_up_delivery_to_action_s": None}
    at = min((d.at - t0 for d in deliveries if d.delivered and d.at - t0 >= step_t
              and any(direction == "up" for _fp, direction in d.alerts)), default=None)
    act = None if at is None else next((a.t for a in actions if a.direction > 0 and a.t >= at - 5.0), None)
    return {"step_to_first_up_delivery_s": None if at is None else round(at - step_t, 1),
            "first_up_delivery_to_action_s": None if act is None or at is None else round(act - at, 1)}


def lost_requests(deliveries: Iterable[Any], recorded: Iterable[tuple[str, float]],
                  slack_s: float = 5.0) -> int:
    """Scale alerts in deliveries answered 2xx that have no stored request near that time.

    `recorded` holds (fingerprint, received_at) for every request in the history or still
    pending. A delivery's alerts are matched one-to-one, closest in time first.
    """
    pool: dict[str, list[float]] = {}
    for fp, at in recorded:
        pool.setdefault(fp, []).append(at)
    lost = 0
    for d in sorted(deliveries, key=lambda d: d.at):
        if not d.delivered:
            continue
        for fp, _direction in d.alerts:
            times = pool.get(fp, [])
            near = [t for t in times if abs(t - d.at) <= slack_s]
            if near:
                times.remove(min(near, key=lambda t: abs(t - d.at)))
            else:
                lost += 1
    return lost


def lost_moves(deliveries: Iterable[Any], actions: Sequence[ScalingCall], *, t0: float, low: int, high: int,
               initial_size: int, slack_s: float = 5.0) -> int:
    """The classic scaler's lost requests: scale alerts in deliveries answered 2xx with no action in
    their direction within `slack_s` before them (matched one-to-one, earliest first), unless the
    pool was already at that bound. A delivery's time is when its answer came back (the recorder
    notes it then, and the classic scaler answers after its calls); delivery times are wall clock,
    `t0` the actions' zero."""
    free = list(actions)
    lost = 0
    for d in sorted(deliveries, key=lambda d: d.at):
        if not d.delivered:
            continue
        at = d.at - t0
        for _fp, direction in d.alerts:
            sign = 1 if direction == "up" else -1
            hit = next((a for a in free if a.direction == sign and at - slack_s <= a.t <= at + 1.0), None)
            if hit is not None:
                free.remove(hit)
                continue
            size = next((a.size_after for a in reversed(actions) if a.t <= at), initial_size)
            if not (size >= high if sign > 0 else size <= low):
                lost += 1
    return lost


# Around a scale-down, where a failed /load is the eviction's: the operation is logged as the member
# is removed, which drops its connections at once or after answering 503 (sandbox/member.py, at
# most 5 s); the span before covers the clocks of the load generator and the emulator.
SCALE_DOWN_WINDOW_S = (-2.0, 10.0)


def errors_at_scale_down(failed_at: Iterable[float], actions: Sequence[ScalingCall],
                         window_s: tuple[float, float] = SCALE_DOWN_WINDOW_S) -> int:
    """Failed load requests (when each failure came, in the actions' time) that ended inside the
    window around an action that lowered the pool; each counted once."""
    downs = [a.t for a in actions if a.direction < 0]
    lo, hi = window_s
    return sum(1 for t in failed_at if any(d + lo <= t <= d + hi for d in downs))


def checker(actions: Sequence[ScalingCall], *, reach: int, within_s: float, drop_t: float, minimum: int,
            final_size: int) -> dict[str, Any]:
    """The course checker's verdict from the operation log (times since the load's start): the pool
    reached `reach` members within `within_s`, and after the load stopped at `drop_t` an action
    brought it back to `minimum`, where it ended."""
    reached = next((a.t for a in actions if a.size_before < reach <= a.size_after), None)
    back = next((a.t for a in actions if a.t >= drop_t and a.size_after <= minimum < a.size_before), None)
    returned = back is not None and final_size <= minimum
    return {"checker_passed": reached is not None and reached <= within_s and returned,
            f"checker_reached_{reach}_s": reached,
            "checker_back_to_min_s": None if back is None else round(back - drop_t, 2)}


def summary(samples: Sequence[Sample], actions: Sequence[ScalingCall], *, step_t: float | None,
            drop_t: float | None, overload: Overload, requests_lost: int,
            flap_window_s: float = FLAP_WINDOW_S) -> dict[str, Any]:
    sizes = [s.pool_size for s in samples]
    return {
        "max_pool_size": max(sizes) if sizes else 0,
        "final_pool_size": sizes[-1] if sizes else 0,
        "scale_up_reaction_s": reaction_up(samples, step_t),
        "scale_down_reaction_s": reaction_down(actions, drop_t),
        "overload_s": round(overload.seconds(samples), 1),
        "instance_seconds": round(instance_seconds(samples), 1),
        "flaps": flaps([(a.t, a.direction) for a in actions if a.direction], flap_window_s),
        "actions": len([a for a in actions if a.direction]),
        "requests_lost": requests_lost,
    }
