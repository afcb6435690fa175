"""The benchmark model's arrival noise and the trend signal that takes it off (both pure)."""
from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence

import pytest

from benchmarks import pipeline, traces
from benchmarks.apps import CLOSED_LOOP, HTTP_LOAD_GENERATOR, PROCESSOR_SHARING
from benchmarks.arrivals import RandomArrivals, poisson
from benchmarks.exporters import Exporters, Target, deriv, trend_net_of_noise
from benchmarks.pipeline import DecideController, SimPool
from functions.scaler.tick.policy import Params

BOUNDS = (1, 10)
WebhookFn = Callable[[int, str, float | None, int | None, SimPool, float | None, float | None], str | None]


@pytest.mark.parametrize("mean", [0.1, 0.4, 2.5, 40.0])
def test_poisson_draws_have_the_mean_and_variance_of_a_poisson_count(mean: float) -> None:
    rng = random.Random(7)
    draws = [poisson(rng, mean) for _ in range(20_000)]
    assert statistics.fmean(draws) == pytest.approx(mean, rel=0.05)
    assert statistics.pvariance(draws) == pytest.approx(mean, rel=0.08)
    assert poisson(rng, 0.0) == 0 and min(draws) >= 0


def test_requests_in_flight_are_a_poisson_count_that_forgets_after_one_request_time() -> None:
    """M/D/∞: the count has mean and variance equal to the demand, and counts 5 s apart share
    half their requests (correlation 0.5), 10 s apart none."""
    arrivals = RandomArrivals(random.Random(3), in_flight=4.0)
    counts = [arrivals.second(4.0) for _ in range(40_000)]
    assert statistics.fmean(counts) == pytest.approx(4.0, rel=0.03)
    assert statistics.pvariance(counts) == pytest.approx(4.0, rel=0.08)
    for lag, expected in ((5, 0.5), (10, 0.0)):
        assert statistics.correlation(counts[:-lag], counts[lag:]) == pytest.approx(expected, abs=0.04)


def test_a_step_in_demand_fills_the_count_over_one_request_time() -> None:
    arrivals = RandomArrivals(random.Random(5), in_flight=0.0)
    assert arrivals.second(0.0) == 0
    # 100 members' worth = 10 requests a second: after 10 s all 100 in flight, never before
    counts = [arrivals.second(100.0) for _ in range(10)]
    assert counts == sorted(counts) and counts[-1] == pytest.approx(100, abs=30)
    assert counts[0] == pytest.approx(10, abs=10)


def test_only_random_arrivals_count_requests_at_random() -> None:
    assert HTTP_LOAD_GENERATOR.random_counts
    assert not HTTP_LOAD_GENERATOR.without_noise().random_counts
    assert not CLOSED_LOOP.random_counts and not PROCESSOR_SHARING.random_counts


def test_every_policy_sees_the_same_arrivals_for_a_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Exporters.scrape

    def in_flight_sums(kicked: bool, seed: int) -> list[float]:
        """The pool's count of requests in flight at every scrape of one run."""
        seen: list[float] = []

        def spy(self: Exporters, t: int, serving: Sequence[Target]) -> None:
            original(self, t, serving)
            seen.append(sum(self.arrivals.recent) if self.arrivals else -1.0)

        monkeypatch.setattr(Exporters, "scrape", spy)
        ctl = DecideController("proportional", Params(), BOUNDS, kicked=kicked)
        pipeline.simulate(traces.step().demand[:900], ctl, seed=seed)
        return seen

    assert in_flight_sums(False, 4) == in_flight_sums(True, 4)
    assert in_flight_sums(False, 4) != in_flight_sums(False, 5)


# ---- the trend signal: deriv() less z standard errors, as alerts.json's demand_trend ---------
STEPS = range(90, 121, 5)


@pytest.mark.parametrize("values, z, expected", [
    ([2.0 + 0.01 * t for t in STEPS], 3, 0.01),         # a clean ramp keeps its whole slope
    ([3.0 for _ in STEPS], 3, 0.0),                      # flat: nothing to take off
    ([2.0, 4.0, 2.0, 4.0, 2.0, 4.0, 2.0], 0, 0.0),       # z = 0 is deriv() itself
])
def test_trend_net_of_noise_keeps_a_clean_slope(values: list[float], z: float, expected: float) -> None:
    points = list(zip(STEPS, values, strict=True))
    assert trend_net_of_noise(points, z) == pytest.approx(expected, abs=1e-9)


def test_trend_net_of_noise_takes_scatter_and_steps_off_the_slope() -> None:
    noisy = list(zip(STEPS, [3.0, 5.0, 2.0, 4.0, 3.0, 6.0, 4.0], strict=True))
    raw = deriv(noisy)
    assert raw is not None and raw > 0
    net = trend_net_of_noise(noisy, 3)
    assert net is not None and net < 0 < raw      # a rise within the scatter reads as none
    step = list(zip(STEPS, [0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0], strict=True))
    assert trend_net_of_noise(step, 3) < 0.3 * deriv(step)   # type: ignore[operator]
    assert trend_net_of_noise([(0, 1.0)], 3) is None
    assert trend_net_of_noise([(0, 1.0), (5, 2.0)], 3) == pytest.approx(0.2)  # two points: exact


def test_under_arrival_noise_the_scale_up_deliveries_rarely_carry_a_rising_trend() -> None:
    """The step trace under random arrivals: its plain slope is noise, positive about half the
    time; net of three standard errors rarely (a drift of counts that share requests can still
    look like a line)."""
    def rising_share(z: float) -> float:
        trends: list[float] = []
        for seed in range(20):
            ctl = DecideController("proportional", Params(), BOUNDS, kicked=True)

            def spy(t: int, direction: str, value: float | None, members: int | None, pool: SimPool,
                    trend: float | None = None, cpu: float | None = None,
                    webhook: WebhookFn = ctl.webhook) -> str | None:
                if direction == "up" and trend is not None:
                    trends.append(trend)
                return webhook(t, direction, value, members, pool, trend, cpu)

            ctl.webhook = spy  # type: ignore[method-assign]
            pipeline.simulate(traces.step().demand, ctl, seed=seed,
                              delays=pipeline.Delays(trend_noise_z=z))
        assert len(trends) >= 10
        return sum(t > 0 for t in trends) / len(trends)

    plain, net = rising_share(0.0), rising_share(3.0)
    assert plain > 0.3 and net < plain / 4


def test_the_in_flight_demand_is_the_pools_total_over_the_window_per_member_counted() -> None:
    """A member joining inside the window leaves the total (scale_value × scale_members) as it
    was: 3 requests in flight read 3 whether one or two members hold them."""
    old = pipeline.SimMember("old", -10_000, -10_000)
    new = pipeline.SimMember("new", 0, 100)
    exporters = Exporters(30, app=HTTP_LOAD_GENERATOR.without_noise(), steady_share=3.0, trend=(30, 5))
    for t in range(0, 111):
        serving = [m for m in (old, new) if t >= m.running_at]
        exporters.second(t, 3.0, len(serving))
        if t % 5 == 0:
            exporters.scrape(t, serving)
    reading = exporters.evaluate(110)
    assert reading is not None and reading.members == 2
    assert reading.in_flight * reading.members == pytest.approx(3.0)
