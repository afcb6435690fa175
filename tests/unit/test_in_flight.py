"""The tick's reader of requests in flight per member, against a loopback server that answers
as Prometheus' HTTP API does (tests/fakeprom.py)."""
from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from functions.scaler.tick import in_flight
from tests.fakeprom import FakePrometheus, fake_prometheus, vector


@pytest.fixture
def prom() -> Iterator[FakePrometheus]:
    with fake_prometheus() as fake:
        yield fake


def test_reads_each_members_figure_by_ip_with_the_rules_own_expression(prom: FakePrometheus) -> None:
    prom.body = vector({"127.0.1.2:9100": 0, "127.0.1.3:9100": 3, "10.1.2.3:9100": 1.5})
    assert in_flight.read(prom.url) == {"127.0.1.2": 0.0, "127.0.1.3": 3.0, "10.1.2.3": 1.5}
    # the scrape's own connection is taken off, as alerts.json's in_flight signal does
    assert prom.queries == ['clamp_min(node_netstat_Tcp_CurrEstab{job="pool"} - 1, 0)']


@pytest.mark.parametrize("status, body, why", [
    (200, vector({}), "no node_netstat_Tcp_CurrEstab series"),
    (422, {"status": "error", "errorType": "execution", "error": "query timed out"}, "query timed out"),
    (503, b"Service Unavailable", "HTTP 503"),
    (200, b"<html>not json</html>", "Expecting value"),
    (200, {"status": "success", "data": {"resultType": "scalar", "result": [1, "2"]}}, "no node_netstat"),
    (200, {"status": "success", "data": {}}, "no result list"),
    (200, {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1, "2"]}, {"metric": {"instance": "10.0.0.1:9100"}, "value": [1, "NaNx"]}]}},
     "no node_netstat"),
])
def test_an_answer_without_figures_is_unanswered(prom: FakePrometheus, status: int, body: Any,
                                                 why: str) -> None:
    prom.status, prom.body = status, body
    with pytest.raises(in_flight.Unanswered, match=why):
        in_flight.read(prom.url)


def test_one_odd_series_does_not_hide_the_others(prom: FakePrometheus) -> None:
    prom.body = vector({"10.0.0.1:9100": 2})
    prom.body["data"]["result"].append({"metric": {"instance": "10.0.0.2:9100"}, "value": [1]})
    assert in_flight.read(prom.url) == {"10.0.0.1": 2.0}


def test_a_prometheus_that_does_not_answer_in_time_is_unanswered(prom: FakePrometheus) -> None:
    prom.hold.clear()  # the server takes the connection and never answers until released
    with pytest.raises(in_flight.Unanswered, match="timed out"):
        in_flight.read(prom.url, timeout_s=0.2)


def test_nothing_listening_is_logged_and_gives_none(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port that was free a moment ago, closed again: refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with caplog.at_level(logging.WARNING, logger="scaler.in_flight"):
        assert in_flight.by_ip(f"http://127.0.0.1:{port}") is None
    assert "evicts by readiness and age only" in caplog.text and f"127.0.0.1:{port}" in caplog.text
