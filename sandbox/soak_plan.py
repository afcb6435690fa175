"""Pure: the soak's story drawn from its seed (the varying load, the faults and their times, the
operator's bounds changes) and its invariants, measured from outside the scaler: scaling calls
from the emulator's operation log, tick windows from the process table the timers keep.

Faults come in rounds: each round is every kind once, in an order shuffled from the seed, at
gaps drawn from the seed, so a run of a few minutes already sees every kind.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

KINDS = (
    "sos_unavailable",    # SOS answers 503 to every call for a while
    "api_5xx",            # a burst of 5xx answers from the Exoscale API
    "api_429",            # a burst of 429 answers from the Exoscale API
    "api_stuck_pending",  # the next scaling call's operation stays pending for ever
    "vm_replaced",        # receiver, tick and discovery SIGKILLed, local files wiped, booted again
    "tick_killed",        # a running tick SIGKILLed
    "ticks_raced",        # a second tick started as the timer's one starts
    "delivery_repeated",  # a scale delivery sent to the receiver twice
)
LEVELS = (0.25, 1.0, 2.0, 3.5, 5.0, 7.0)  # members' worth of demand; 7 is beyond the pool's 6
FIRST_FAULT_S = 10.0
QUIET_S = 30.0       # the run's last seconds: no fault, a trickle of load, the loop settles
GAP_S = (10.0, 25.0)  # between two faults' starts
LASTS_S = {"sos_unavailable": (8.0, 25.0), "api_5xx": (5.0, 15.0), "api_429": (5.0, 15.0),
           # the plan's slot; soak.py keeps it armed up to STUCK_WAIT_S longer, waiting for a call
           "api_stuck_pending": (30.0, 30.0),
           "vm_replaced": (2.0, 6.0)}           # how long the VM is gone
API_5XX = (500, 502, 503, 504)


@dataclass(frozen=True)
class Fault:
    at: float            # seconds since the load started
    kind: str
    for_s: float = 0.0   # how long it lasts (an outage, a burst, a VM's absence)
    delay_s: float = 0.0  # a kill's or a VM replacement's delay into the tick it waits for
    status: int = 0      # api_5xx: the status answered


@dataclass(frozen=True)
class BoundsChange:
    at: float
    low: int | None      # None: back to the hard bound
    high: int | None


@dataclass(frozen=True)
class Plan:
    seed: int
    duration_s: float
    profile: tuple[tuple[float, float], ...]  # (t_s, members' worth) steps
    faults: tuple[Fault, ...]
    bounds: tuple[BoundsChange, ...]

    def planned(self) -> dict[str, int]:
        return {k: sum(f.kind == k for f in self.faults) for k in KINDS}


def _profile(rng: random.Random, duration_s: float) -> tuple[tuple[float, float], ...]:
    steps, t, level = [(0.0, 0.25)], 10.0, 0.25
    while t < duration_s - QUIET_S:
        level = rng.choice([v for v in LEVELS if v != level])
        steps.append((round(t, 1), level))
        t += rng.uniform(25.0, 60.0)
    return (*steps, (round(max(duration_s - QUIET_S, 10.0), 1), 0.25))


def _faults(rng: random.Random, duration_s: float) -> tuple[Fault, ...]:
    out: list[Fault] = []
    t, order = FIRST_FAULT_S, list[str]()
    while True:
        if not order:
            order = rng.sample(KINDS, len(KINDS))
        kind = order.pop(0)
        lo, hi = LASTS_S.get(kind, (0.0, 0.0))
        fault = Fault(round(t, 1), kind, round(rng.uniform(lo, hi), 1), round(rng.uniform(0.2, 1.5), 2),
                      rng.choice(API_5XX) if kind == "api_5xx" else 0)
        if fault.at + fault.for_s > duration_s - QUIET_S:
            return tuple(out)
        out.append(fault)
        t += rng.uniform(*GAP_S)


def _bounds(rng: random.Random, duration_s: float, hard: tuple[int, int]) -> tuple[BoundsChange, ...]:
    """One operator bounds change every few minutes, undone 40-70 s later: a lower maximum or a
    higher minimum, each a size the pool may well be on the wrong side of when it comes."""
    out: list[BoundsChange] = []
    t = rng.uniform(30.0, 90.0)
    while True:
        lasts = rng.uniform(40.0, 70.0)
        if t + lasts > duration_s - QUIET_S:
            return tuple(out)
        if rng.random() < 0.5:
            out.append(BoundsChange(round(t, 1), None, rng.randint(hard[0] + 1, hard[0] + 2)))
        else:
            out.append(BoundsChange(round(t, 1), rng.randint(hard[0] + 1, hard[0] + 2), None))
        out.append(BoundsChange(round(t + lasts, 1), None, None))
        t += lasts + rng.uniform(60.0, 180.0)


def plan(seed: int, duration_s: float, hard: tuple[int, int]) -> Plan:
    rng = random.Random(seed)
    profile = _profile(rng, duration_s)
    return Plan(seed, duration_s, profile, _faults(rng, duration_s), _bounds(rng, duration_s, hard))


# ---- the invariants, from outside the scaler ----------------------------------------------

@dataclass(frozen=True)
class Call:
    """One scaling call the platform performed (the emulator's operation log), wall clock."""
    at: float
    size_before: int
    size_after: int


def ticks_with_two_calls(windows: Sequence[tuple[float, float]], calls: Sequence[Call]) -> int:
    """Tick processes (start, end), wall clock, whose lifetime holds more than one scaling call.
    Two ticks acting at once both count: each window holds both calls."""
    return sum(1 for start, end in windows if sum(start <= c.at <= end for c in calls) > 1)


def bounds_at(changes: Sequence[tuple[float, int, int]], t: float) -> tuple[int, int]:
    """The (low, high) in force at t, from (applied at, low, high) with the first from -inf."""
    current = changes[0][1:]
    for at, low, high in changes:
        if at <= t:
            current = (low, high)
    return current


def bound_violations(calls: Sequence[Call], windows: Sequence[tuple[float, float]],
                     changes: Sequence[tuple[float, int, int]]) -> int:
    """Calls that leave the pool outside the bounds in force without having moved it toward them.

    The bounds in force for a call are any that held from the start of the tick that made it to the
    call (a tick reads the settings once, after it starts); a call made from outside the bounds that
    moves toward them is a correction (at most SCALER_MAX_STEP a tick), not a violation."""
    bad = 0
    for c in calls:
        start = max((s for s, e in windows if s <= c.at <= e), default=c.at)
        held = [bounds_at(changes, start)] + [(lo, hi) for at, lo, hi in changes if start < at <= c.at]
        if all((c.size_after > hi and c.size_after >= c.size_before)
               or (c.size_after < lo and c.size_after <= c.size_before) for lo, hi in held):
            bad += 1
    return bad


def invariants_held(summary: dict[str, Any], max_ledger_pct: float = 1.0) -> bool:
    pct = summary.get("ledger_vs_oplog_pct")
    return (summary["requests_lost"] == 0 and summary["bound_violations"] == 0
            and summary["ticks_with_two_calls"] == 0 and pct is not None and abs(pct) <= max_ledger_pct)
