"""Pure: the two-pools scenario's figures per pool and its verdict, measured from outside the
scaler: each pool's actions from the emulator's operation log (by pool id), its sizes from its own
samples, its requests lost from the sender's deliveries split by their `pool` label.

Each pool's load steps up and drops in turn, the second step only once the first pool is expected
back down, so every action has one load to answer: a pool's own span runs from its step to the
next pool's step (the last one's to the end of the run), and an action outside it answered
another pool's load, except its return after its own drop when a slow machine delays it past the
next step (a scale-down with no scale-up since its drop: no step of another pool lowers it).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sandbox.measure import FLAP_WINDOW_S, Sample, ScalingCall, flaps, instance_seconds
from sandbox.recorder import Delivery

# report.json's `pools`: these figures for every pool, by name.
FIGURES = ("max_pool_size", "final_pool_size", "actions", "requests_lost", "flaps")


@dataclass(frozen=True)
class Leg:
    """One pool's story: its load steps up at `step_t` and drops at `drop_t` (seconds since the
    load started); its actions answer its own load from `step_t` until `span_end`."""
    name: str
    step_t: float
    drop_t: float
    span_end: float = math.inf


def legs(stories: Iterable[tuple[str, float, float]]) -> tuple[Leg, ...]:
    """(name, step_t, drop_t) per pool → the legs in step order, each span ending at the next step."""
    ordered = sorted((Leg(name, step, drop) for name, step, drop in stories), key=lambda leg: leg.step_t)
    ends = [nxt.step_t for nxt in ordered[1:]] + [math.inf]
    return tuple(replace(leg, span_end=end) for leg, end in zip(ordered, ends, strict=True))


def calls_of(operations: Iterable[Any], pool_id: str, wall0: float) -> list[ScalingCall]:
    """One pool's performed operations (emulator OperationRecords) since `wall0`, in its time."""
    return [ScalingCall(round(o.time - wall0, 2), o.operation, o.size_before, o.size_after)
            for o in operations if o.pool_id == pool_id and o.time >= wall0]


def _labels(d: Delivery) -> tuple[str, ...]:
    """Each scale alert's pool label; "" for every alert of a delivery noted without them."""
    return d.pools or ("",) * len(d.alerts)


def deliveries_of(deliveries: Iterable[Delivery], pool: str) -> list[Delivery]:
    """Each delivery with only the scale alerts whose `pool` label names `pool`."""
    return [replace(d, alerts=tuple(a for a, p in zip(d.alerts, _labels(d), strict=True) if p == pool),
                    pools=tuple(p for p in _labels(d) if p == pool)) for d in deliveries]


def unrouted(deliveries: Iterable[Delivery], names: Iterable[str]) -> int:
    """Scale alerts in 2xx deliveries whose `pool` label names none of the pools, or is missing:
    the receiver ignores them with several pools, so none of the pools' figures counts them."""
    known = set(names)
    return sum(1 for d in deliveries if d.delivered for p in _labels(d) if p not in known)


def figures(samples: Sequence[Sample], actions: Sequence[ScalingCall], requests_lost: int,
            flap_window_s: float = FLAP_WINDOW_S) -> dict[str, int]:
    """One pool's entry in report.json's `pools`."""
    moves = [(a.t, a.direction) for a in actions if a.direction]
    return {"max_pool_size": max((s.pool_size for s in samples), default=0),
            "final_pool_size": samples[-1].pool_size if samples else 0,
            "actions": len(moves), "requests_lost": requests_lost, "flaps": flaps(moves, flap_window_s)}


def details(leg: Leg, samples: Sequence[Sample], actions: Sequence[ScalingCall]) -> dict[str, Any]:
    """What report.md shows of one pool beside its figures: its story, and when it answered it."""
    up = next((a.t for a in actions if a.direction > 0 and a.t >= leg.step_t), None)
    down = next((a.t for a in actions if a.direction < 0 and a.t >= leg.drop_t), None)
    return {"step_t": leg.step_t, "drop_t": leg.drop_t,
            "span_end": None if math.isinf(leg.span_end) else leg.span_end,
            "step_to_first_up_call_s": None if up is None else round(up - leg.step_t, 1),
            "drop_to_first_down_call_s": None if down is None else round(down - leg.drop_t, 1),
            "instance_seconds": round(instance_seconds(samples), 1)}


def _late_return(leg: Leg, moves: Sequence[ScalingCall], a: ScalingCall) -> bool:
    """A scale-down after the pool's own drop with no scale-up of it in between."""
    return a.direction < 0 and a.t >= leg.drop_t and not any(
        b.direction > 0 and leg.drop_t <= b.t <= a.t for b in moves)


def _whose(legs_: Sequence[Leg], t: float) -> str:
    return next((leg.name for leg in legs_ if leg.step_t <= t < leg.span_end), "no pool")


def verdict(legs_: Sequence[Leg], actions: Mapping[str, Sequence[ScalingCall]],
            figs: Mapping[str, Mapping[str, int]], minimum: int, unrouted_alerts: int = 0) -> list[str]:
    """Why the run fails, one line each; none when it passes: each pool scaled up for its own load
    and back down to `minimum` after it, never acted in another pool's span (but for its late
    return) or before its own step, did not flap and lost no request, and every delivered scale alert
    named a pool."""
    failures = []
    for leg in legs_:
        moves = [a for a in actions.get(leg.name, ()) if a.direction]
        own = [a for a in moves if leg.step_t <= a.t < leg.span_end or
               (a.t >= leg.span_end and _late_return(leg, moves, a))]
        for a in moves:
            if a not in own:
                during = "before its own step" if a.t < leg.step_t else f"in {_whose(legs_, a.t)}'s span"
                failures.append(f"{leg.name} acted {during}: {a.operation} {a.size_before}→{a.size_after} "
                                f"at {a.t:.0f} s (its span {leg.step_t:g}–{leg.span_end:g} s)")
        if not any(a.direction > 0 for a in own):
            failures.append(f"{leg.name} never scaled up for its load (step at {leg.step_t:g} s)")
        if not any(a.direction < 0 and a.t >= leg.drop_t for a in own):
            failures.append(f"{leg.name} never scaled down after its load dropped at {leg.drop_t:g} s")
        fig = figs[leg.name]
        if fig["final_pool_size"] != minimum:
            failures.append(f"{leg.name} ended at {fig['final_pool_size']} members, not its minimum {minimum}")
        if fig["flaps"]:
            failures.append(f"{leg.name} flapped {fig['flaps']} time(s)")
        if fig["requests_lost"]:
            failures.append(f"{leg.name} lost {fig['requests_lost']} request(s)")
    if unrouted_alerts:
        failures.append(f"{unrouted_alerts} delivered scale alert(s) named no configured pool")
    return failures


def summary(figs: Mapping[str, Mapping[str, int]], failures: Sequence[str], unrouted_alerts: int,
            extra: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """report.json's summary: the pools' figures added up (the largest pool for the size) and the
    verdict. Requests lost include the unrouted alerts (delivered, stored under no pool); `extra`
    holds each pool's details (their instance-seconds are summed)."""
    return {"passed": not failures, "failures": list(failures),
            "max_pool_size": max((f["max_pool_size"] for f in figs.values()), default=0),
            "actions": sum(f["actions"] for f in figs.values()),
            "flaps": sum(f["flaps"] for f in figs.values()),
            "requests_lost": sum(f["requests_lost"] for f in figs.values()) + unrouted_alerts,
            "scale_alerts_unrouted": unrouted_alerts,
            "instance_seconds": round(sum(e.get("instance_seconds", 0.0) for e in extra.values()), 1)}
