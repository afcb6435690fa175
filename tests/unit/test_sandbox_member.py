"""The modelled vCPU (pure, injected times) and the simulated member over loopback HTTP."""

from __future__ import annotations

import itertools
import math
import random
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from sandbox.member import CPU_MODES, Member, render_metrics
from sandbox.vcpu import CpuCounters, Outcome, VcpuModel

T0 = 1_000_000.0  # a large monotonic origin, as on a long-running host


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
    assert model.result(c).outcome is Outcome.REJECTED  # type: ignore[union-attr]
    model.advance(T0 + 2)
    assert [model.result(i).finished - T0 for i in (a, b)] == pytest.approx([0.5, 1.0])  # type: ignore[union-attr]
    assert (model.served, model.rejected, model.timed_out) == (2, 1, 0)


def test_timeout_abandons_work_and_bounds_state() -> None:
    model = VcpuModel(start=T0, vcpus=1, max_active=2, max_queue=10, timeout_s=1.0)
    ids = [model.submit(T0, 2.0) for _ in range(5)]
    model.advance(T0 + 5)
    assert {model.result(i).outcome for i in ids} == {Outcome.TIMEOUT}  # type: ignore[union-attr]
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


# ---- metrics rendering ---------------------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"')


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """A strict little parser for the text format: every non-comment line must be a sample."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.groups()
        assert name in types, f"{name} has no # TYPE"
        key = (name, frozenset(LABEL.findall(labels or "")))
        assert key not in samples, f"duplicate series {key}"
        samples[key] = float(value)
    return samples


def cpu(samples: dict, mode: str, cpu_: str = "0") -> float:  # type: ignore[type-arg]
    return samples[("node_cpu_seconds_total", frozenset({("cpu", cpu_), ("mode", mode)}))]


def test_render_metrics_is_node_exporter_shaped() -> None:
    text = render_metrics(CpuCounters(busy=(4.0, 4.0), idle=(6.0, 6.0)), (1.5, 0.5, 0.25), 3, 1.7e9, 1.7e9 + 10)
    samples = parse_metrics(text)
    for c in ("0", "1"):
        assert {m: cpu(samples, m, c) for m in CPU_MODES}["idle"] == 6.0
        assert cpu(samples, "user", c) + cpu(samples, "system", c) == pytest.approx(4.0)
    assert samples[("node_load1", frozenset())] == 1.5
    assert samples[("node_boot_time_seconds", frozenset())] == 1.7e9
    assert not any(name == "up" for name, _ in samples)  # Prometheus makes `up` itself
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=20)
    assert check.returncode == 0, check.stdout + check.stderr


# ---- the member over HTTP ------------------------------------------------------------------------


def get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def member():  # type: ignore[no-untyped-def]
    m = Member("127.0.1.101", app_port=0, exporter_port=0, vcpus=1, work_s=0.1, max_active=4, max_queue=2)
    m.start()
    yield m
    m.stop()


def test_health_and_load(member: Member) -> None:
    app = f"http://{member.ip}:{member.app_port}"
    assert get(app + "/health") == (200, "OK")
    started = time.monotonic()
    status, body = get(app + "/load")
    assert status == 200 and body.startswith("OK")
    assert time.monotonic() - started >= 0.1
    assert get(app + "/nope")[0] == 404
    snap = member.snapshot()
    assert (snap.served, snap.errors, snap.in_flight) == (1, 0, 0)
    member.set_healthy(False)
    assert get(app + "/health")[0] == 503


def concurrent_loads(member: Member, n: int) -> list[tuple[int, float]]:
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def one() -> None:
        t = time.monotonic()
        status, _ = get(f"http://{member.ip}:{member.app_port}/load")
        with lock:
            results.append((status, time.monotonic() - t))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


def test_concurrent_requests_share_the_vcpu_without_burning_host_cpu(member: Member) -> None:
    cpu_before = time.process_time()
    results = concurrent_loads(member, 4)  # 4 x 0.1 s of work on one vCPU: all end near 0.4 s
    assert [s for s, _ in results] == [200] * 4
    assert min(lat for _, lat in results) >= 0.35
    assert time.process_time() - cpu_before < 0.3  # modelled: the handler threads slept
    assert member.snapshot().busy_seconds == pytest.approx(0.4)


def test_overload_answers_503_beyond_the_queue(member: Member) -> None:
    results = concurrent_loads(member, 10)  # 4 in service + 2 queued admitted
    statuses = sorted(s for s, _ in results)
    assert statuses.count(200) >= 6 and 503 in statuses
    snap = member.snapshot()
    assert snap.rejected == statuses.count(503) and snap.errors == snap.rejected


def test_metrics_valid_and_tracking_modelled_cpu(member: Member) -> None:
    url = f"http://{member.ip}:{member.exporter_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        before = parse_metrics(resp.read().decode())
    concurrent_loads(member, 3)
    status, text = get(url)
    assert status == 200
    after = parse_metrics(text)
    busy = lambda s: cpu(s, "user") + cpu(s, "system")  # noqa: E731
    assert busy(after) - busy(before) == pytest.approx(0.3, abs=1e-6)
    assert cpu(after, "idle") >= cpu(before, "idle")
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=20)
    assert check.returncode == 0, check.stdout + check.stderr


def test_stop_frees_the_addresses_and_start_twice_fails() -> None:
    m = Member("127.0.1.102", app_port=0, exporter_port=0)
    m.start()
    with pytest.raises(RuntimeError):
        m.start()
    ports = (m.app_port, m.exporter_port)
    m.stop()
    again = Member("127.0.1.102", app_port=ports[0], exporter_port=ports[1])
    again.start()  # same ip:ports bind again at once
    assert get(f"http://127.0.1.102:{ports[0]}/health")[0] == 200
    again.stop()


def test_member_refuses_non_loopback_addresses() -> None:
    with pytest.raises(ValueError):
        Member("10.0.0.1")
