"""The soak's plan (drawn from its seed) and its invariants (measured from outside the scaler)."""
from __future__ import annotations

import math

import pytest

from sandbox import soak_plan
from sandbox.soak_plan import KINDS, QUIET_S, Call, bound_violations, invariants_held, plan, ticks_with_two_calls

HARD = (1, 6)


def test_a_seed_gives_the_same_plan_and_another_seed_another() -> None:
    assert plan(3, 300, HARD) == plan(3, 300, HARD)
    assert plan(3, 300, HARD).faults != plan(4, 300, HARD).faults


@pytest.mark.parametrize("seed", range(40))
def test_eight_minutes_plan_every_kind_twice_within_the_run(seed: int) -> None:
    p = plan(seed, 480, HARD)
    assert all(n >= 2 for n in p.planned().values()), p.planned()
    assert set(p.planned()) == set(KINDS)
    for f in p.faults:
        assert f.at >= soak_plan.FIRST_FAULT_S and f.at + f.for_s <= 480 - QUIET_S, f
    starts = [f.at for f in p.faults]
    assert starts == sorted(starts)
    # the load varies and ends on a trickle for the quiet end
    assert len({m for _t, m in p.profile}) >= 3 and p.profile[-1] == (480 - QUIET_S, 0.25)
    # every operator bounds change is undone, inside the hard bounds, before the quiet end
    assert len(p.bounds) % 2 == 0 and all(b.at <= 480 - QUIET_S for b in p.bounds)
    for change, undo in zip(p.bounds[::2], p.bounds[1::2], strict=True):
        assert (change.low, change.high) != (None, None) and (undo.low, undo.high) == (None, None)
        assert all(v is None or HARD[0] < v < HARD[1] for v in (change.low, change.high))


def test_a_round_holds_each_kind_once_before_any_repeats() -> None:
    kinds = [f.kind for f in plan(11, 1800, HARD).faults]
    assert sorted(kinds[:len(KINDS)]) == sorted(KINDS)


@pytest.mark.parametrize(("windows", "calls", "expected"), [
    ([], [1.0, 2.0], 0),                               # calls, no tick: nothing to blame
    ([(0.0, 1.0), (10.0, 11.0)], [0.5, 10.5], 0),      # one call per tick
    ([(0.0, 1.0)], [0.2, 0.9], 1),                     # one tick, two calls
    ([(0.0, 2.0), (0.5, 2.5)], [1.0, 1.5], 2),         # two ticks at once, both acting: both count
    ([(0.0, 2.0), (0.5, 2.5)], [1.0], 0),              # two ticks at once, one stood aside
    ([(0.0, 1.0)], [1.0, 1.5], 0),                     # the second call after the tick ended
])
def test_ticks_with_two_calls(windows: list[tuple[float, float]], calls: list[float], expected: int) -> None:
    assert ticks_with_two_calls(windows, [Call(t, 1, 2) for t in calls]) == expected


BOUNDS = [(-math.inf, 1, 6), (100.0, 1, 3), (200.0, 1, 6)]


@pytest.mark.parametrize(("call", "windows", "expected"), [
    (Call(50, 2, 6), [], 0),            # within the hard bounds
    (Call(50, 6, 7), [], 1),            # above the hard maximum
    (Call(50, 1, 0), [], 1),            # below the hard minimum
    (Call(150, 2, 4), [], 1),           # above the operator's maximum in force
    (Call(150, 6, 4), [], 0),           # outside, but a correction toward it (the step is bounded)
    (Call(150, 6, 3), [], 0),
    (Call(150, 4, 4), [], 1),           # staying outside is not a correction
    (Call(100.5, 2, 4), [(99.0, 101.0)], 0),   # the tick started before the change: old bounds held
    (Call(101.0, 2, 4), [(100.5, 102.0)], 1),  # started after it: only the new ones
    (Call(250, 2, 5), [], 0),           # the operator's maximum undone
])
def test_bound_violations(call: Call, windows: list[tuple[float, float]], expected: int) -> None:
    assert bound_violations([call], windows, BOUNDS) == expected


def test_bound_violations_for_a_raised_minimum() -> None:
    raised = [(-math.inf, 1, 6), (10.0, 3, 6)]
    assert bound_violations([Call(20, 1, 2), Call(30, 3, 2), Call(40, 2, 4)], [], raised) == 1


GOOD = {"requests_lost": 0, "bound_violations": 0, "ticks_with_two_calls": 0, "ledger_vs_oplog_pct": -0.4}


@pytest.mark.parametrize(("change", "held"), [
    ({}, True),
    ({"ledger_vs_oplog_pct": 1.0}, True),
    ({"ledger_vs_oplog_pct": -1.2}, False),
    ({"ledger_vs_oplog_pct": None}, False),    # no ledger: nothing agreed
    ({"requests_lost": 1}, False),
    ({"bound_violations": 1}, False),
    ({"ticks_with_two_calls": 1}, False),
])
def test_invariants_held(change: dict[str, object], held: bool) -> None:
    assert invariants_held({**GOOD, **change}) is held
