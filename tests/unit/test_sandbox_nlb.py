"""The NLB stand-in: health-state folding, backend choice, and proxying over loopback."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from sandbox.apps import ProcessorSharing
from sandbox.member import SimulatedVm
from sandbox.nlb import Health, HealthCheck, Nlb, choose, deployed_healthcheck, observe, parse_healthcheck
from tests.waiting import wait_for

# ---- pure core ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "checks, healthy",
    [
        ([], False),  # new backends wait for their checks
        ([True], False),
        ([True, True], True),
        ([True, True, False], True),  # one failure is tolerated
        ([True, True, False, False], False),
        ([True, True, False, True, False], True),  # failures must be consecutive
        ([True, True, False, False, True], False),
        ([True, True, False, False, True, True], True),
        ([False, True, False, True], False),  # passes must be consecutive too
    ],
)
def test_observe_needs_two_in_a_row(checks: list[bool], healthy: bool) -> None:
    state = Health()
    for ok in checks:
        state = observe(state, ok)
    assert state.healthy is healthy


A, B, C = ("127.0.1.1", 8080), ("127.0.1.2", 8080), ("127.0.1.3", 8080)


@pytest.mark.parametrize(
    "strategy, outstanding, turns, picks",
    [
        ("round_robin", {}, range(6), [A, B, C, A, B, C]),
        ("round_robin", {A: 9}, range(3), [A, B, C]),  # blind to load, like an L4 hash
        ("least_outstanding", {A: 2, B: 0, C: 1}, range(3), [B, B, B]),
        ("least_outstanding", {A: 1, B: 1, C: 1}, range(3), [A, B, C]),  # ties rotate
    ],
)
def test_choose(strategy: str, outstanding: dict, turns: range, picks: list) -> None:
    assert [choose([A, B, C], outstanding, t, strategy) for t in turns] == picks


# ---- proxy over loopback ----------------------------------------------------------------------


def get(port: int, path: str = "/load") -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture
def members() -> Iterator[list[SimulatedVm]]:
    ms = [SimulatedVm(f"127.0.1.{111 + i}", app=ProcessorSharing(work_s=0.001), app_port=0, exporter_port=0)
          for i in range(3)]
    for m in ms:
        m.start()
    yield ms
    for m in ms:
        m.stop()


@pytest.fixture
def nlb() -> Iterator[Nlb]:
    n = Nlb(0, check_interval_s=0.1, check_timeout_s=0.5)
    n.start()
    yield n
    n.stop()


def backends(ms: list[SimulatedVm]) -> list[tuple[str, int]]:
    return [(m.ip, m.app_port) for m in ms]


def test_spreads_load_round_robin(members: list[SimulatedVm], nlb: Nlb) -> None:
    nlb.set_backends(backends(members))
    assert nlb.serving() == []  # not before two passing checks
    wait_for("the health checks", lambda: len(nlb.serving()) == 3)
    assert [get(nlb.port) for _ in range(30)] == [200] * 30
    assert [m.snapshot().served for m in members] == [10, 10, 10]
    assert get(nlb.port, "/health") == 200
    assert sum(s.forwarded for s in nlb.snapshot()) == 31


def test_skips_unhealthy_and_gone_members(members: list[SimulatedVm], nlb: Nlb) -> None:
    nlb.set_backends(backends(members))
    wait_for("the health checks", lambda: len(nlb.serving()) == 3)
    sick, gone, well = members
    sick.set_healthy(False)
    gone.stop()  # connection refused from now on
    wait_for("the health checks", lambda: nlb.serving() == [(well.ip, well.app_port)])
    before = [m.snapshot().served for m in members]
    assert [get(nlb.port) for _ in range(10)] == [200] * 10
    assert [m.snapshot().served - b for m, b in zip(members, before, strict=True)] == [0, 0, 10]
    sick.set_healthy(True)
    wait_for("the health checks", lambda: (sick.ip, sick.app_port) in nlb.serving())
    gone.start()  # a restarted member (same ports) comes back into rotation
    wait_for("the health checks", lambda: len(nlb.serving()) == 3)
    assert get(nlb.port, "/health") == 200


def test_answers_503_without_trying_when_no_backend_is_healthy(members: list[SimulatedVm],
                                                                nlb: Nlb) -> None:
    assert get(nlb.port) == 503  # no backends at all
    for m in members:
        m.set_healthy(False)
    nlb.set_backends(backends(members))  # new backends start out of rotation
    assert nlb.serving() == []
    assert get(nlb.port) == 503
    assert nlb.no_backend == 2
    assert sum(m.snapshot().served for m in members) == 0  # none was tried


def test_set_backends_replaces_the_set(members: list[SimulatedVm], nlb: Nlb) -> None:
    nlb.set_backends(backends(members[:2]))
    wait_for("the health checks", lambda: len(nlb.serving()) == 2)
    nlb.set_backends(backends(members[1:]))
    assert [s.backend for s in nlb.snapshot()] == backends(members[1:])
    assert (members[0].ip, members[0].app_port) not in nlb.serving()  # removed at once
    assert (members[1].ip, members[1].app_port) in nlb.serving()  # kept its health
    wait_for("the health checks", lambda: len(nlb.serving()) == 2)


def test_refuses_non_loopback() -> None:
    with pytest.raises(ValueError):
        Nlb(0).set_backends([("192.0.2.1", 80)])
    with pytest.raises(ValueError):
        Nlb(0, strategy="random")


# ---- the deployed health check ------------------------------------------------------------------


def test_the_stand_in_checks_at_the_deployed_interval() -> None:
    """terraform/nlb.tf is the source: 5 s interval, 3 s timeout; --fast divides both."""
    assert deployed_healthcheck() == HealthCheck(5.0, 3.0)
    assert deployed_healthcheck(speedup=5) == HealthCheck(1.0, 0.6)


@pytest.mark.parametrize("tf, error", [
    ('resource "exoscale_nlb_service" "x" { port = 80 }', "no healthcheck block"),
    ("healthcheck {\n  mode = \"http\"\n  interval = 5\n}", "sets no timeout"),
])
def test_a_healthcheck_block_without_times_is_refused(tf: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_healthcheck(tf)
