"""The sandbox's outside-in figures (pure)."""
from __future__ import annotations

import pytest

from sandbox import measure
from sandbox.measure import (
    FLAP_WINDOW_S,
    Action,
    Sample,
    flaps,
    instance_seconds,
    lost_requests,
    reaction_down,
    reaction_up,
    slo_violation_s,
)
from sandbox.recorder import Delivery, scale_alerts
from sandbox.timings import FAST, REAL


def s(t: float, size: int = 1, serving: int = 1, p95: float | None = 0.3, errors: int = 0,
      ok: float = 4.0) -> Sample:
    return Sample(t, ok, ok, p95, errors, 0.5, size, serving, 0)


@pytest.mark.parametrize("moves, expected", [
    ([], 0),
    ([(0, 1, 2), (100, 2, 3)], 0),
    ([(0, 1, 2), (100, 2, 1)], 1),
    ([(0, 1, 2), (400, 2, 1)], 0),
    ([(0, 1, 2), (300, 2, 1)], 1),  # the window's end is inside it
    ([(0, 1, 2), (300.5, 2, 1)], 0),
    ([(0, 1, 2), (100, 2, 1), (200, 1, 2)], 2),
    ([(0, 1, 2), (50, 2, 2), (100, 2, 1)], 1),  # a no-op call is not a move
])
def test_flaps_in_the_report(moves: list[tuple[float, int, int]], expected: int) -> None:
    actions = [Action(t, "scale", a, b) for t, a, b in moves]
    summary = measure.summary([], actions, step_t=None, drop_t=None, slo_p95_s=2,
                              max_error_ratio=0.01, requests_lost=0)
    assert summary["flaps"] == expected


def test_one_flap_window_for_the_sandbox_and_the_benchmark() -> None:
    assert flaps([(0, "up"), (300, "down"), (601, "up")]) == 1
    assert FAST.flap_window_s < REAL.flap_window_s == FLAP_WINDOW_S == 300


def test_reactions() -> None:
    samples = [s(0), s(10), s(20, 2, 1), s(30, 2, 2), s(40, 2, 2)]
    assert reaction_up(samples, 10) == 20
    assert reaction_up(samples, None) is None
    assert reaction_up([s(0), s(10)], 5) is None
    actions = [Action(5, "scale", 1, 2), Action(50, "evict", 2, 1)]
    assert reaction_down(actions, 30) == 20 and reaction_down(actions, 60) is None


def test_slo_and_cost() -> None:
    samples = [s(0), s(1, p95=3.0), s(2, errors=4, ok=0.0), s(3), s(5, size=3)]
    assert slo_violation_s(samples, 2.0, 0.01) == 2.0
    assert instance_seconds(samples) == 5.0


def test_lost_requests_matches_deliveries_to_stored_requests() -> None:
    deliveries = [Delivery(100.0, 202, (("a", "up"), ("b", "up"))),
                  Delivery(110.0, 503, (("a", "up"),)),  # not counted by the sender
                  Delivery(120.0, 202, (("a", "up"),))]
    assert lost_requests(deliveries, [("a", 100.2), ("b", 100.1), ("a", 120.3)]) == 0
    assert lost_requests(deliveries, [("a", 100.2), ("b", 100.1)]) == 1
    assert lost_requests(deliveries, [("a", 100.2), ("a", 100.3), ("b", 100.1)]) == 1


def test_scale_alerts_reads_firing_scale_alerts_only() -> None:
    body = (b'{"alerts": [{"status": "firing", "labels": {"scale": "up"}, "fingerprint": "x"},'
            b'{"status": "resolved", "labels": {"scale": "up"}, "fingerprint": "y"},'
            b'{"status": "firing", "labels": {}, "fingerprint": "z"}]}')
    assert scale_alerts(body) == (("x", "up"),)
    assert scale_alerts(b"not json") == ()
