"""Checks of the benchmark's pipeline model itself (arithmetic and wiring), not of performance."""
from __future__ import annotations

import pytest

from benchmarks import pipeline, traces
from benchmarks.pipeline import BaselineController, DecideController, Delays, Result, SimPool
from functions.scaler.policy import Params

BOUNDS = (1, 10)


def test_floor_is_the_sum_of_the_delays() -> None:
    fl = pipeline.floor(Delays())
    assert fl.detection_s == pytest.approx(15 / 2 + 60 / 2 + 20 / 2)
    assert fl.total_s == pytest.approx(47.5 + 60 + 10 + 30 + 75)
    other = pipeline.floor(Delays(scrape_s=10, rate_window_s=120, eval_s=30, for_s=0, group_wait_s=30,
                                  tick_s=20, boot_min_s=100, boot_max_s=100))
    assert other.total_s == pytest.approx(5 + 60 + 15 + 0 + 30 + 10 + 100)


def test_alert_spec_delays_are_read_from_the_deployment() -> None:
    delays, thresholds = pipeline.from_alert_spec()
    assert (delays.eval_s, delays.for_s, delays.group_wait_s) == (20, 60, 10)
    assert (delays.group_interval_s, delays.repeat_s) == (60, 60)
    assert (thresholds.up, thresholds.down) == (0.8, 0.2)


def test_needed_capacity_keeps_demand_within_80_percent() -> None:
    assert pipeline.needed(4.0, BOUNDS) == 5
    assert pipeline.needed(1.6, BOUNDS) == 2
    assert pipeline.needed(1.61, BOUNDS) == 3
    assert pipeline.needed(0.1, BOUNDS) == 1
    assert pipeline.needed(50.0, BOUNDS) == 10


def test_baseline_moves_one_member_per_webhook_within_bounds() -> None:
    pool = SimPool(2, [60], destroy_s=10)
    base = BaselineController((1, 4))
    assert [base.webhook(0, "up", None, pool) for _ in range(3)] == ["up", "up", None]
    assert pool.size == 4
    assert base.webhook(1, "down", None, pool) == "down"
    assert pool.size == 3


def test_baseline_acts_on_every_delivery_in_the_pipeline() -> None:
    result = pipeline.simulate(traces.step().demand, BaselineController(BOUNDS), seed=3)
    ups = [d for d in result.deliveries if d[1] == "up"]
    assert ups and len(result.actions) == len(result.deliveries)
    assert [t for t, _ in result.actions] == [t for t, _, _ in result.deliveries]


@pytest.mark.parametrize("make", [
    lambda: DecideController("step", Params(policy="step"), BOUNDS),
    lambda: DecideController("proportional", Params(policy="proportional"), BOUNDS),
    lambda: BaselineController(BOUNDS)])
def test_flat_load_gives_no_alert_and_no_action(make) -> None:  # type: ignore[no-untyped-def]
    result = pipeline.simulate(traces.flat().demand, make(), seed=0)
    assert result.deliveries == [] and result.actions == []
    assert result.violation_s == 0 and result.instance_s == 2 * traces.flat().duration_s


def test_tick_policy_waits_for_its_tick_and_for_capacity_to_settle() -> None:
    delays = Delays()
    result = pipeline.simulate(traces.step().demand, DecideController("step", Params(), BOUNDS),
                               seed=1, delays=delays)
    times = [t for t, _ in result.actions]
    assert result.actions and all(d == "up" for _, d in result.actions)
    # One action per tick at most, and never again before the last one's members booted.
    assert all(b - a >= delays.boot_min_s for a, b in zip(times, times[1:]))
    assert all((t - times[0]) % delays.tick_s == 0 for t in times)


def test_pool_bills_booting_and_destroying_members() -> None:
    pool = SimPool(2, [60], destroy_s=10)
    pool.scale_to(0, 3)
    assert (pool.serving(59), pool.serving(60), pool.state(30), pool.billed(30)) == (2, 3, "scaling-up", 3)
    pool.evict(100, [pool.members[0].id])
    # Time only moves forward in the model: billed() forgets members that are gone.
    assert (pool.size, pool.state(105), pool.billed(105), pool.billed(110)) == (2, "scaling-down", 3, 2)


def test_flaps_are_reversals_within_300_s() -> None:
    assert Result("x", actions=[(0, "up"), (100, "down"), (500, "up")]).flaps == 1
    assert Result("x", actions=[(0, "up"), (60, "up"), (400, "down")]).flaps == 0


def test_same_seed_same_run() -> None:
    a = pipeline.simulate(traces.spike().demand, BaselineController(BOUNDS), seed=7)
    b = pipeline.simulate(traces.spike().demand, BaselineController(BOUNDS), seed=7)
    assert (a.actions, a.instance_s, a.episodes) == (b.actions, b.instance_s, b.episodes)
