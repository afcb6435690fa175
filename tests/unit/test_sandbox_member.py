"""The simulated member over loopback HTTP: either app's answers, its node-exporter /metrics and TCP counters."""

from __future__ import annotations

import http.client
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from sandbox.apps import App, HttpLoadGenerator, ProcessorSharing
from sandbox.apps.kernel import CpuCounters
from sandbox.member import CPU_MODES, Netstat, SimulatedVm, render_metrics
from tests.waiting import wait_for

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


def promtool_check(text: str) -> None:
    """promtool parses the exposition; of its lint findings (exit 3) only the camelCase of the
    netstat names may remain, which node exporter's own output has too."""
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=20)
    findings = [line for line in (check.stdout + check.stderr).splitlines() if line.strip()]
    camel = re.compile(r"^node_netstat_Tcp_\w+ metric names should be written in 'snake_case' not 'camelCase'$")
    assert check.returncode in (0, 3) and all(camel.match(f) for f in findings), findings


def test_render_metrics_is_node_exporter_shaped() -> None:
    text = render_metrics(CpuCounters(busy=(4.0, 4.0), idle=(6.0, 6.0)), (1.5, 0.5, 0.25), 3, 1.7e9, 1.7e9 + 10,
                          Netstat(curr_estab=3, passive_opens=17))
    samples = parse_metrics(text)
    assert samples[("node_netstat_Tcp_CurrEstab", frozenset())] == 3
    assert samples[("node_netstat_Tcp_PassiveOpens", frozenset())] == 17
    assert "# TYPE node_netstat_Tcp_PassiveOpens untyped" in text  # as node exporter's netstat collector
    for c in ("0", "1"):
        assert {m: cpu(samples, m, c) for m in CPU_MODES}["idle"] == 6.0
        assert cpu(samples, "user", c) + cpu(samples, "system", c) == pytest.approx(4.0)
    assert samples[("node_load1", frozenset())] == 1.5
    assert samples[("node_boot_time_seconds", frozenset())] == 1.7e9
    assert not any(name == "up" for name, _ in samples)  # Prometheus makes `up` itself
    promtool_check(text)


# ---- the member over HTTP ------------------------------------------------------------------------


def get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def member():  # type: ignore[no-untyped-def]
    app = ProcessorSharing(work_s=0.1, max_active=4, max_queue=2)
    m = SimulatedVm("127.0.1.101", app=app, app_port=0, exporter_port=0, vcpus=1)
    m.start()
    yield m
    m.stop()


def test_health_and_load(member: SimulatedVm) -> None:
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


def concurrent_loads(member: SimulatedVm, n: int) -> list[tuple[int, float]]:
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


def test_concurrent_requests_share_the_vcpu_without_burning_host_cpu(member: SimulatedVm) -> None:
    cpu_before = time.process_time()
    results = concurrent_loads(member, 4)  # 4 x 0.1 s of work on one vCPU: all end near 0.4 s
    assert [s for s, _ in results] == [200] * 4
    assert min(lat for _, lat in results) >= 0.35
    assert time.process_time() - cpu_before < 0.3  # modelled: the handler threads slept
    assert member.snapshot().busy_seconds == pytest.approx(0.4)


def test_overload_answers_503_beyond_the_queue(member: SimulatedVm) -> None:
    results = concurrent_loads(member, 10)  # 4 in service + 2 queued admitted
    statuses = sorted(s for s, _ in results)
    assert statuses.count(200) >= 6 and 503 in statuses
    snap = member.snapshot()
    assert snap.rejected == statuses.count(503) and snap.errors == snap.rejected


def test_metrics_valid_and_tracking_modelled_cpu(member: SimulatedVm) -> None:
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
    promtool_check(text)


def test_stop_frees_the_addresses_and_start_twice_fails() -> None:
    m = SimulatedVm("127.0.1.102", app_port=0, exporter_port=0)
    m.start()
    with pytest.raises(RuntimeError):
        m.start()
    ports = (m.app_port, m.exporter_port)
    m.stop()
    again = SimulatedVm("127.0.1.102", app_port=ports[0], exporter_port=ports[1])
    again.start()  # same ip:ports bind again at once
    assert get(f"http://127.0.1.102:{ports[0]}/health")[0] == 200
    again.stop()


def test_member_refuses_non_loopback_addresses() -> None:
    with pytest.raises(ValueError):
        SimulatedVm("10.0.0.1")


# ---- http-load-generator over HTTP -----------------------------------------------------------------


class FrozenClock:
    """Time that stands still: requests stay in flight for as long as a test looks at them."""

    def __call__(self) -> float:
        return 1_000_000.0


@pytest.fixture
def hlg_member() -> Iterator[SimulatedVm]:
    m = SimulatedVm("127.0.1.103", app=HttpLoadGenerator(request_s=0.2), app_port=0, exporter_port=0)
    m.start()
    yield m
    m.stop()


def test_http_load_generator_answers_as_the_real_program(hlg_member: SimulatedVm) -> None:
    conn = http.client.HTTPConnection(hlg_member.ip, hlg_member.app_port, timeout=10)
    started = time.monotonic()
    conn.request("GET", "/load")
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, b"Load generation done.")
    assert time.monotonic() - started >= 0.2  # never before its time
    assert resp.getheader("Content-Type") == "text/plain; charset=utf-8" and resp.getheader("Content-Length") == "21"
    conn.request("GET", "/health")  # the same connection: HTTP/1.1 keep-alive, as Go's net/http
    health = conn.getresponse()
    assert (health.status, health.read()) == (200, b"OK")
    conn.request("GET", "/")
    missing = conn.getresponse()
    assert (missing.status, missing.read()) == (404, b"404 page not found\n")
    conn.close()
    snap = hlg_member.snapshot()
    assert (snap.served, snap.errors, snap.in_flight) == (1, 0, 0)
    assert snap.busy_seconds == pytest.approx(0.2)  # one vCPU busy for exactly the request's time


def test_concurrent_loads_all_take_the_request_time_without_burning_host_cpu() -> None:
    m = SimulatedVm("127.0.1.105", app=HttpLoadGenerator(request_s=1.0), app_port=0, exporter_port=0)
    m.start()
    try:
        cpu_before = time.process_time()
        results = concurrent_loads(m, 4)
        burned = time.process_time() - cpu_before
    finally:
        m.stop()
    assert [s for s, _ in results] == [200] * 4
    assert min(lat for _, lat in results) >= 1.0
    assert burned < 0.3  # modelled: the handler threads slept through their second
    assert m.snapshot().served == 4


def netstat(conn: http.client.HTTPConnection) -> tuple[int, int]:
    conn.request("GET", "/metrics")
    samples = parse_metrics(conn.getresponse().read().decode())
    return (int(samples[("node_netstat_Tcp_CurrEstab", frozenset())]),
            int(samples[("node_netstat_Tcp_PassiveOpens", frozenset())]))


@pytest.mark.parametrize("app", [HttpLoadGenerator(), ProcessorSharing()], ids=lambda a: a.name)
def test_netstat_counts_the_members_real_connections(app: App) -> None:
    """CurrEstab = /load connections in flight + the scrape connection; PassiveOpens counts every
    accepted connection: each /load, each health check, the scrape connection once (kept alive)."""
    m = SimulatedVm("127.0.1.104", app=app, app_port=0, exporter_port=0, clock=FrozenClock())
    m.start()
    base = f"http://{m.ip}:{m.app_port}"
    statuses: list[int] = []
    loads = [threading.Thread(target=lambda: statuses.append(get(base + "/load", timeout=30)[0]))
             for _ in range(3)]
    try:
        for th in loads:
            th.start()
        wait_for("three requests in flight", lambda: m.snapshot().in_flight == 3)
        scrape = http.client.HTTPConnection(m.ip, m.exporter_port, timeout=10)
        assert netstat(scrape) == (4, 4)
        assert netstat(scrape) == (4, 4)  # the kept-alive scrape connection opened nothing new
        assert [get(base + "/health")[0] for _ in range(2)] == [200, 200]  # a new connection each
        wait_for("the health checks' connections closed", lambda: m.tcp.counts() == (4, 6))
        assert netstat(scrape) == (4, 6)
        assert m.snapshot().tcp_passive_opens == 6
    finally:
        m.stop()
    for th in loads:
        th.join()
    assert statuses == [503] * 3  # a member going away answers what it still held
    assert m.tcp.counts()[1] == 6
    with pytest.raises((http.client.HTTPException, OSError)):
        netstat(scrape)  # its kept-alive connection went with it, as with a destroyed VM
