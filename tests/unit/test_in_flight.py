"""The tick's reader of requests in flight per member: node exporter's text format (also from the
real node exporter binary), parallel reads, and members that do not answer."""
from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from functions.scaler.tick import in_flight
from tests.fake_exporters import FakeExporters, fake_exporters, refused_port


@pytest.mark.parametrize("text, expected", [
    # less this read's connection and Prometheus' kept-alive scrape connection
    ("# HELP node_netstat_Tcp_CurrEstab Statistic TcpCurrEstab.\n"
     "# TYPE node_netstat_Tcp_CurrEstab untyped\nnode_netstat_Tcp_CurrEstab 5\n", 3.0),
    ("node_netstat_Tcp_CurrEstab 2\n", 0.0),                      # only those two: idle
    ("node_netstat_Tcp_CurrEstab 1\n", 0.0),                      # never below zero
    ("node_netstat_Tcp_CurrEstab 1.3e+01\n", 11.0),               # Go's float formatting
    ("node_netstat_Tcp_CurrEstabX 9\nnode_netstat_Tcp_CurrEstab 4\n", 2.0),  # the exact name only
    ("node_netstat_Tcp_ActiveOpens 5\n", None),                   # series absent
    ("node_netstat_Tcp_CurrEstab many\n", None),                  # unreadable value
    ("", None),
])
def test_parse(text: str, expected: float | None) -> None:
    assert in_flight.parse(text) == expected


@pytest.fixture
def exporters() -> Iterator[FakeExporters]:
    with fake_exporters(["127.0.1.201", "127.0.1.202", "127.0.1.203"]) as fake:
        yield fake


def test_reads_every_member_by_ip_asking_for_the_netstat_collector_only(exporters: FakeExporters) -> None:
    exporters.in_flight("127.0.1.202", 3)
    got = in_flight.by_ip(["127.0.1.201", "127.0.1.202", "127.0.1.203", "127.0.1.202"], exporters.port)
    assert got == {"127.0.1.201": 0.0, "127.0.1.202": 3.0, "127.0.1.203": 0.0}
    assert sorted(exporters.paths) == [(ip, "/metrics?collect[]=netstat")
                                       for ip in ("127.0.1.201", "127.0.1.202", "127.0.1.203")]


def test_members_are_read_in_parallel(exporters: FakeExporters) -> None:
    """The servers answer only once all three reads have arrived: read one after another, the first
    would time out before the second was sent, and no figure would come back."""
    exporters.hold.clear()

    def release() -> None:
        while len(exporters.paths) < 3:
            time.sleep(0.01)
        exporters.hold.set()

    threading.Thread(target=release, daemon=True).start()
    got = in_flight.by_ip(["127.0.1.201", "127.0.1.202", "127.0.1.203"], exporters.port, timeout_s=20)
    assert got == {"127.0.1.201": 0.0, "127.0.1.202": 0.0, "127.0.1.203": 0.0}


def test_a_member_that_does_not_answer_is_left_out_and_logged(exporters: FakeExporters,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    gone = "127.0.1.204"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="scaler.in_flight"):
        assert in_flight.by_ip(["127.0.1.201", gone], exporters.port) == {"127.0.1.201": 0.0}
    assert f"requests in flight on {gone} unknown" in caplog.text


def test_a_refused_read_and_an_http_error_give_no_figure() -> None:
    assert in_flight.read("127.0.0.1", refused_port()) is None
    assert in_flight.by_ip([], 9100) == {}


@pytest.mark.skipif(shutil.which("prometheus-node-exporter") is None,
                    reason="Debian's prometheus-node-exporter is installed by ./dev setup")
def test_the_real_node_exporter_is_read_and_counts_our_connections() -> None:
    """Debian's node exporter on loopback: the netstat collector alone answers with the series, and
    it counts established connections (the host's, so other processes move it too: the test holds
    ten more connections and allows for others closing meanwhile)."""
    port = refused_port()
    proc = subprocess.Popen(["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    held: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 30
        while (before := in_flight.read("127.0.0.1", port)) is None:
            assert proc.poll() is None and time.monotonic() < deadline, "node exporter did not start"
            time.sleep(0.1)
        for _ in range(10):
            held.append(socket.create_connection(("127.0.0.1", port)))
        after = in_flight.read("127.0.0.1", port)
        # each held connection is established at both ends: +20 on one host, less what closed
        assert after is not None and after >= before + 10
    finally:
        for s in held:
            s.close()
        proc.terminate()
        proc.wait(10)
