"""The http-load-generator app's model, calibrated against the real program with injected times.

Definition (github.com/janoszen/http-load-generator, main.go): every GET /load runs one
busy-looping goroutine per CPU for 10 s and answers `Load generation done.`; goroutines share
GOMAXPROCS = NumCPU threads. So a request takes 10 s whatever the concurrency, any request in
flight holds every core at 100 %, and the run queue (node_load1) holds one thread per core.
"""

from __future__ import annotations

import math
import random

import pytest
import yaml

from sandbox.apps import APPS, DEFAULT_APP, HttpLoadGenerator, ProcessorSharing, for_run
from sandbox.apps.http_load_generator import BusyLoopModel, cpu_under_random_arrivals
from sandbox.apps.kernel import CpuCounters, RequestOutcome
from sandbox.scenarios import SCENARIOS

from .app_kit import T0, busy_share, evenly, observe, poisson


@pytest.mark.parametrize("vcpus", [1, 2, 4])
def test_a_single_request_takes_10_s_holds_every_core_then_leaves_them_idle(vcpus: int) -> None:
    model = BusyLoopModel(start=T0, vcpus=vcpus)
    job = model.submit(T0)
    assert model.predict_finish(T0 + 3, job) == T0 + 10
    assert (model.in_flight, model.runnable, model.utilisation()) == (1, vcpus, 1.0)
    mid = model.counters(T0 + 9.999)
    assert model.collect(job) is None
    end = model.counters(T0 + 10)
    result = model.collect(job)
    assert result is not None
    assert (result.outcome, result.arrived, result.finished) == (RequestOutcome.DONE, T0, T0 + 10)
    assert busy_share(CpuCounters.spread(0, 0, vcpus), mid) == 1.0
    assert all(b == pytest.approx(10.0) for b in end.busy)  # every core, the whole 10 s
    after = model.counters(T0 + 20)
    assert busy_share(end, after) == 0.0
    assert (model.in_flight, model.runnable, model.served) == (0, 0, 1)
    assert HttpLoadGenerator().answer(result) == (200, "Load generation done.")


def test_concurrent_requests_each_end_10_s_after_their_own_start_and_never_exceed_100_percent() -> None:
    model = BusyLoopModel(start=T0, vcpus=2)
    arrivals = [0.0, 0.0, 0.5, 3.0, 7.25]
    jobs = [model.submit(T0 + t) for t in arrivals]
    assert model.in_flight == 5 and model.runnable == 2  # five requests, two runnable threads
    model.advance(T0 + 30)
    finished = [model.collect(j).finished - T0 for j in jobs]  # type: ignore[union-attr]
    assert finished == [t + 10 for t in arrivals]
    assert model.busy_s == pytest.approx(2 * 17.25)  # busy from the first start to the last end, once
    assert model.counters(T0 + 30).idle == pytest.approx((12.75, 12.75))


@pytest.mark.parametrize("period_s, cpu", [
    (60.0, 1 / 6),   # one request a minute: 10 s busy of 60
    (20.0, 0.5),
    (12.0, 10 / 12),
    (10.0, 1.0),     # back to back: one member's worth, one request in flight at all times
    (1.0, 1.0),      # ten in flight: no more CPU than one
    (0.1, 1.0),      # a hundred in flight
])
def test_cpu_and_load1_over_a_minute_saturate_at_one_request_in_flight(period_s: float, cpu: float) -> None:
    vcpus = 2
    model = BusyLoopModel(start=T0, vcpus=vcpus)
    # Ten minutes of evenly spaced arrivals, then the last minute read every 5 s (Prometheus-like).
    at = [540.0 + 5 * i for i in range(13)]
    readings = observe(model, evenly(period_s, 600), at)
    assert busy_share(readings[540.0][0], readings[600.0][0]) == pytest.approx(cpu)
    load_per_core = [readings[t][1][0] / vcpus for t in at]
    assert max(load_per_core) <= 1.0  # never more than one runnable thread per core
    assert sum(load_per_core) / len(load_per_core) == pytest.approx(cpu, abs=0.1)


@pytest.mark.parametrize("members_worth", [0.5, 1.0, 2.0, 3.0])
def test_random_arrivals_busy_the_member_with_the_chance_of_at_least_one_in_flight(members_worth: float) -> None:
    """Poisson arrivals at λ with 10 s each: P(at least one in flight) = 1 - e^(-10 λ) (M/D/∞),
    so one member's worth of demand (one in flight on average) shows as 63 % CPU, three as 95 %."""
    model = BusyLoopModel(start=T0, vcpus=1)
    rate = members_worth * HttpLoadGenerator().member_rps(vcpus=1)
    readings = observe(model, poisson(rate, 40_000, seed=11), [1_000.0, 40_000.0])
    cpu = cpu_under_random_arrivals(members_worth)
    assert cpu == pytest.approx(1 - math.exp(-members_worth))
    assert busy_share(readings[1_000.0][0], readings[40_000.0][0]) == pytest.approx(cpu, abs=0.02)


@pytest.mark.parametrize("in_flight", [1, 50])
def test_load1_follows_the_linux_decay_to_one_per_core_however_many_wait(in_flight: int) -> None:
    model = BusyLoopModel(start=T0, vcpus=4, request_s=1e6)
    for _ in range(in_flight):
        model.submit(T0)
    load1, load5, load15 = model.load_averages(T0 + 60)
    assert load1 == pytest.approx(4 * (1 - math.exp(-1)), rel=1e-9)  # 12 samples of 5 s
    assert load5 == pytest.approx(4 * (1 - math.exp(-60 / 300)), rel=1e-9)
    assert load1 > load5 > load15 > 0
    assert model.load_averages(T0 + 64.9)[0] == load1  # only updated on the 5 s grid
    assert model.load_averages(T0 + 3600)[0] == pytest.approx(4.0)


def test_counters_are_monotonic_and_consistent() -> None:
    rng = random.Random(3)
    model = BusyLoopModel(start=T0, vcpus=2, request_s=2.0)
    previous = CpuCounters(busy=(0.0, 0.0), idle=(0.0, 0.0))
    t = 0.0
    for _ in range(500):
        t += rng.expovariate(0.6)
        model.submit(T0 + t)
        c = model.counters(T0 + t)
        assert all(b >= p for b, p in zip(c.busy, previous.busy, strict=True))  # exactly: no reset for rate()
        assert all(i >= p for i, p in zip(c.idle, previous.idle, strict=True))
        assert c.elapsed == pytest.approx(t)
        previous = c
    assert model.served + model.in_flight == 500


def test_model_rejects_nonsense_configuration() -> None:
    for bad in ({"vcpus": 0}, {"request_s": 0.0}):
        with pytest.raises(ValueError):
            BusyLoopModel(start=0, **bad)  # type: ignore[arg-type]


# ---- the app definitions and their choice per run ---------------------------------------------


def test_one_members_worth_and_client_timeouts() -> None:
    hlg, ps = HttpLoadGenerator(), ProcessorSharing()
    assert hlg.member_rps(vcpus=1) == hlg.member_rps(vcpus=4) == 0.1  # one request in flight at 10 s
    assert ps.member_rps(vcpus=1) == 4.0 and ps.member_rps(vcpus=2) == 8.0
    assert hlg.client_timeout_s > hlg.request_s  # a client must outwait the 10 s
    assert (hlg.overload, ps.overload) == ("cpu", "latency")


def test_fast_runs_compress_only_the_load_generators_10_s() -> None:
    fast = for_run("http-load-generator", speedup=6.0)
    assert isinstance(fast, HttpLoadGenerator) and fast.request_s == pytest.approx(10 / 6)
    assert fast.member_rps(1) == pytest.approx(0.6)
    assert fast.describe()["compressed_by"] == 6.0 and fast.client_timeout_s == 30.0
    assert for_run("processor-sharing", speedup=6.0) == ProcessorSharing()
    assert DEFAULT_APP == "http-load-generator" and set(APPS) == {"http-load-generator", "processor-sharing"}
    with pytest.raises(ValueError, match="unknown app 'nginx'"):
        for_run("nginx")


def test_scenarios_are_in_members_worth_and_convert_per_app() -> None:
    smoke = SCENARIOS["smoke"]
    assert smoke.profile == ((0, 0.25), (10, 2.5), (80, 0.25))
    hlg, fast_hlg = for_run("http-load-generator"), for_run("http-load-generator", 6.0)
    ps = for_run("processor-sharing")
    assert [r for _, r in smoke.rps_profile(hlg.member_rps(1))] == pytest.approx([0.025, 0.25, 0.025])
    assert [r for _, r in smoke.rps_profile(fast_hlg.member_rps(1))] == pytest.approx([0.15, 1.5, 0.15])
    assert [r for _, r in smoke.rps_profile(ps.member_rps(1))] == pytest.approx([1.0, 10.0, 1.0])  # as before


def test_the_checker_scenario_is_the_graders_load_and_compresses_with_fast() -> None:
    checker = SCENARIOS["checker"]
    assert (checker.clients, checker.fast, checker.start_running, checker.reach_within_s) == (2, False, True, 300)
    # each closed-loop client keeps one request in flight: one member's worth
    assert checker.profile[0] == (0, checker.clients)
    # held long enough that the scale-down after it is no reversal within the 300 s flap window
    assert checker.drop_t == checker.duration_s >= checker.reach_within_s + 30
    assert checker.duration_s + checker.tail_s <= 500  # the command's 10 minutes, start-up included
    fast = checker.compressed(6.0)
    assert (fast.duration_s, fast.tail_s, fast.drop_t, fast.reach_within_s) == (57.5, 25, 57.5, 50)
    assert fast.profile == ((0, 2), (57.5, 0)) and fast.clients == 2
    assert checker.compressed(1.0) is checker


@pytest.mark.parametrize("name, signal", [("http-load-generator", "demand"),
                                          ("processor-sharing", "demand_cpu_bound")])
def test_each_app_sends_its_own_demand_figure(name: str, signal: str) -> None:
    from bootstrap.render import load_spec
    from sandbox.monitoring import rules
    from sandbox.timings import FAST

    app = for_run(name)
    assert app.demand_signal == signal
    rendered = yaml.safe_load(rules(FAST, app.demand_signal))["groups"][0]["rules"]
    up = next(r for r in rendered if r["labels"].get("scale") == "up")
    in_flight = "node_netstat_Tcp_CurrEstab" in up["annotations"]["scale_value"]
    assert in_flight is (signal == "demand")
    assert signal in load_spec()["signals"]


@pytest.mark.parametrize("name", ["http-load-generator", "processor-sharing"])
def test_each_app_sends_its_own_trend_over_the_runs_windows(name: str) -> None:
    from sandbox.monitoring import rules
    from sandbox.timings import FAST

    app = for_run(name)
    rendered = yaml.safe_load(rules(FAST, app.demand_signal))["groups"][0]["rules"]
    up = next(r for r in rendered if r["labels"].get("scale") == "up")
    trend = up["annotations"]["scale_trend"]
    assert "deriv(" in trend and f"[{FAST.rate_window}:{int(FAST.scrape_s)}s]" in trend
    assert ("node_netstat_Tcp_CurrEstab" in trend) is (app.demand_signal == "demand")
    assert "[1m" not in trend


@pytest.mark.parametrize("name", ["http-load-generator", "processor-sharing"])
def test_only_requests_in_flight_come_with_the_pools_cpu_over_the_runs_window(name: str) -> None:
    from sandbox.monitoring import rules
    from sandbox.timings import FAST

    app = for_run(name)
    rendered = yaml.safe_load(rules(FAST, app.demand_signal))["groups"][0]["rules"]
    up = next(r for r in rendered if r["labels"].get("scale") == "up")
    if app.demand_signal != "demand":   # a CPU-bound app's figure is its CPU: nothing to fit
        assert "scale_cpu" not in up["annotations"]
        return
    cpu = up["annotations"]["scale_cpu"]
    assert "node_cpu_seconds_total" in cpu and f"[{FAST.rate_window}]" in cpu and "[1m" not in cpu
    # the alert's own pool's value, printed as a number (bootstrap/render.py)
    assert 'printf "%.3f" .Value' in cpu and cpu.endswith("{{ $v }}")
