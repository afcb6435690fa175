"""The processor-sharing app's model, calibrated against its definition with injected times.

Definition: each /load needs `work_s` vCPU-seconds; up to max_active requests share the vCPUs
(each at min(1, vcpus / n)), the rest wait in a bounded FIFO queue, and every runnable request
is a runnable thread (node_load1 counts them all).
"""

from __future__ import annotations

import itertools
import math
import random

import pytest

from sandbox.apps import ProcessorSharing
from sandbox.apps.kernel import CpuCounters, RequestOutcome, RequestResult
from sandbox.apps.processor_sharing import VcpuModel

from .app_kit import T0, busy_share, evenly, observe


def run(model: VcpuModel, jobs: list[tuple[float, float]], until: float) -> list[int]:
    ids = [model.submit(T0 + t, w) for t, w in jobs]
    model.advance(T0 + until)
    return ids


# ---- vCPU model ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vcpus, jobs, finishes",
    [
        # (arrival, work) -> modelled finish times, processor sharing
        (1, [(0, 0.25)], [0.25]),
        (1, [(0, 0.25), (1, 0.25)], [0.25, 1.25]),
        (1, [(0, 1.0), (0, 0.5)], [1.5, 1.0]),  # both at 1/2 until 1.0, then the rest at full speed
        (2, [(0, 1.0), (0, 1.0), (0, 1.0)], [1.5, 1.5, 1.5]),  # 3 jobs on 2 vCPUs: 2/3 each
        (2, [(0, 1.0), (0, 1.0)], [1.0, 1.0]),  # no sharing below capacity
        (1, [(0, 1.0), (0.5, 1.0)], [1.5, 2.0]),  # late arrival slows the first one down
    ],
)
def test_processor_sharing_finish_times(vcpus: int, jobs: list[tuple[float, float]], finishes: list[float]) -> None:
    model = VcpuModel(start=T0, vcpus=vcpus)
    ids = run(model, jobs, until=100)
    got = [model.result(i).finished - T0 for i in ids]  # type: ignore[union-attr]
    assert got == pytest.approx(finishes)
    assert model.busy_s == pytest.approx(sum(w for _, w in jobs))


@pytest.mark.parametrize(
    "vcpus, jobs, at, utilisation",
    [
        (1, [(0, 0.25)], 1.0, 0.25),
        (1, [(0, 0.25), (0.5, 0.25)], 1.0, 0.5),
        (2, [(0, 0.5)], 1.0, 0.25),  # one request uses one of two vCPUs
        (2, [(0, 1.0)] * 4, 1.0, 1.0),  # saturated: capped at 100 %
        (1, [], 5.0, 0.0),
    ],
)
def test_utilisation_from_counters(vcpus: int, jobs: list[tuple[float, float]], at: float, utilisation: float) -> None:
    model = VcpuModel(start=T0, vcpus=vcpus)
    run(model, jobs, until=0)
    c = model.counters(T0 + at)
    assert c.elapsed == pytest.approx(at)
    assert len(c.busy) == vcpus
    assert sum(c.busy) / (vcpus * c.elapsed) == pytest.approx(utilisation)
    assert all(b + i == pytest.approx(at) for b, i in zip(c.busy, c.idle, strict=True))


def test_queue_bound_rejects_and_fifo_queue_waits() -> None:
    model = VcpuModel(start=T0, vcpus=1, max_active=1, max_queue=1)
    a, b, c = (model.submit(T0, 0.5) for _ in range(3))
    assert (model.in_service, model.queued, model.runnable) == (1, 1, 2)
    assert model.result(c).outcome is RequestOutcome.REJECTED  # type: ignore[union-attr]
    model.advance(T0 + 2)
    assert [model.result(i).finished - T0 for i in (a, b)] == pytest.approx([0.5, 1.0])  # type: ignore[union-attr]
    assert (model.served, model.rejected, model.timed_out) == (2, 1, 0)


def test_timeout_abandons_work_and_bounds_state() -> None:
    model = VcpuModel(start=T0, vcpus=1, max_active=2, max_queue=10, timeout_s=1.0)
    ids = [model.submit(T0, 2.0) for _ in range(5)]
    model.advance(T0 + 5)
    assert {model.result(i).outcome for i in ids} == {RequestOutcome.TIMEOUT}  # type: ignore[union-attr]
    assert [model.result(i).finished - T0 for i in ids] == pytest.approx([1.0] * 5)  # type: ignore[union-attr]
    assert model.busy_s == pytest.approx(1.0)  # only the second of CPU actually used
    assert model.runnable == 0 and model.timed_out == 5


def test_predict_finish_is_exact_without_arrivals_and_a_lower_bound_with_them() -> None:
    model = VcpuModel(start=T0, vcpus=1)
    first = model.submit(T0, 1.0)
    second = model.submit(T0, 0.5)
    assert model.predict_finish(T0, first) == pytest.approx(T0 + 1.5)
    assert model.predict_finish(T0, second) == pytest.approx(T0 + 1.0)
    predicted = model.predict_finish(T0 + 0.2, first)
    model.submit(T0 + 0.2, 1.0)
    model.advance(T0 + 10)
    assert model.result(first).finished >= predicted  # type: ignore[union-attr,operator]


def steady_load(model: VcpuModel, rps: float, work: float, until: float, sample_every: float) -> list[float]:
    """Evenly spaced arrivals; returns load1 sampled every `sample_every` seconds."""
    samples, t, next_sample = [], 0.0, sample_every
    while t < until:
        while next_sample <= t:
            samples.append(model.load_averages(T0 + next_sample)[0])
            next_sample += sample_every
        model.submit(T0 + t, work)
        t += 1 / rps
    return samples


@pytest.mark.parametrize(
    "rps, check",
    [
        (2.0, lambda s: max(s) < 1.0),  # half capacity: load1 stays below one vCPU
        (8.0, lambda s: s[-1] > 1.0 and all(b > a for a, b in itertools.pairwise(s))),  # 2x: keeps rising
        (16.0, lambda s: s[-1] > 2.0),  # 4x: rises faster
    ],
)
def test_load1_grows_past_saturation(rps: float, check) -> None:  # type: ignore[no-untyped-def]
    model = VcpuModel(start=T0, vcpus=1, max_active=16, max_queue=10_000, timeout_s=1e9)
    samples = steady_load(model, rps, work=0.25, until=90, sample_every=15)
    assert check(samples), samples


def test_load1_follows_the_linux_decay() -> None:
    model = VcpuModel(start=T0, vcpus=1, max_active=4, timeout_s=1e9)
    for _ in range(4):
        model.submit(T0, 1e6)  # four runnable for the whole test
    load1, load5, load15 = model.load_averages(T0 + 60)
    assert load1 == pytest.approx(4 * (1 - math.exp(-1)), rel=1e-9)  # 12 ticks of 5 s
    assert load5 == pytest.approx(4 * (1 - math.exp(-60 / 300)), rel=1e-9)
    assert load1 > load5 > load15 > 0
    assert model.load_averages(T0 + 64.9)[0] == load1  # only updated on the 5 s grid


def test_counters_are_monotonic_and_consistent() -> None:
    rng = random.Random(7)
    model = VcpuModel(start=T0, vcpus=2, max_active=4, max_queue=4, timeout_s=2.0)
    previous = CpuCounters(busy=(0.0, 0.0), idle=(0.0, 0.0))
    t = 0.0
    for _ in range(500):
        t += rng.expovariate(6.0)
        model.submit(T0 + t, rng.uniform(0.05, 0.6))
        c = model.counters(T0 + t)
        assert c.elapsed >= previous.elapsed
        assert all(b >= p for b, p in zip(c.busy, previous.busy, strict=True))  # exactly: no reset for rate()
        assert all(i >= p for i, p in zip(c.idle, previous.idle, strict=True))
        assert c.elapsed == pytest.approx(t)
        assert all(b <= c.elapsed + 1e-9 for b in c.busy)
        previous = c
    assert model.served + model.rejected + model.timed_out + model.runnable == 500


def test_model_rejects_nonsense_configuration() -> None:
    with pytest.raises(ValueError):
        VcpuModel(start=0, vcpus=0)




@pytest.mark.parametrize("rps, cpu", [(1.0, 0.25), (2.0, 0.5), (3.0, 0.75), (4.0, 1.0), (8.0, 1.0)])
def test_cpu_over_a_minute_is_the_offered_work_up_to_capacity(rps: float, cpu: float) -> None:
    """0.25 vCPU-seconds per request on one vCPU: one member's worth is 4 requests/s."""
    model = ProcessorSharing().model(T0, vcpus=1)
    readings = observe(model, evenly(1 / rps, 600), [540.0, 600.0])
    assert busy_share(readings[540.0][0], readings[600.0][0]) == pytest.approx(cpu)


@pytest.mark.parametrize("outcome, answer", [
    (RequestOutcome.DONE, (200, "OK 0.250s\n")),
    (RequestOutcome.REJECTED, (503, "busy: queue full\n")),
    (RequestOutcome.TIMEOUT, (504, "timed out waiting for CPU\n")),
])
def test_answers(outcome: RequestOutcome, answer: tuple[int, str]) -> None:
    assert ProcessorSharing().answer(RequestResult(outcome, 1.0, 1.25)) == answer
