"""The load driver against a loopback stand-in of the app (/load, /health): concurrency, bounds, errors,
stop. Every wait is on an event or a count, never on time."""
from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from acceptance.load import DEFAULT_TIMEOUT_S, LoadDriver, run_load
from tests.conftest import free_port


class StandIn:
    """http-load-generator's two routes; /load may hold each request until released, or fail."""

    def __init__(self) -> None:
        self.count = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.fail_every = 0
        self.hold = threading.Event()
        self.hold.set()
        self.arrived = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/health":
                    self._answer(200, b"OK")
                    return
                with outer.arrived:
                    outer.count += 1
                    n = outer.count
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                    outer.arrived.notify_all()
                outer.hold.wait(30)
                with outer.arrived:
                    outer.in_flight -= 1
                failing = outer.fail_every and n % outer.fail_every == 0
                self._answer(503 if failing else 200, b"Load generation done.")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_in_flight(self, n: int) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: self.in_flight >= n, timeout=30)


@pytest.fixture()
def app() -> Iterator[StandIn]:
    stand_in = StandIn()
    yield stand_in
    stand_in.hold.set()
    stand_in.server.shutdown()


def test_clients_run_concurrently_and_the_budget_ends_the_run(app: StandIn) -> None:
    app.hold.clear()
    driver = LoadDriver(f"{app.url}/load", clients=3, duration_s=3600, max_requests=12).start()
    assert app.wait_in_flight(3), "three clients must have a request in flight at once"
    app.hold.set()
    result = driver.join(timeout=60)
    assert (result.ok, result.errors, app.count) == (12, 0, 12)
    assert result.by_kind == {"200": 12} and result.ended is not None
    assert app.max_in_flight <= 3   # closed loop: never more than one request per client


def test_error_answers_and_refused_connections_are_counted_not_raised(app: StandIn) -> None:
    app.fail_every = 3
    result = run_load(f"{app.url}/load", clients=2, duration_s=3600, max_requests=9)
    assert (result.ok, result.errors, result.by_kind["503"]) == (6, 3, 3)
    closed = run_load(f"http://127.0.0.1:{free_port()}/load", clients=2, duration_s=3600, max_requests=4)
    assert (closed.ok, closed.errors) == (0, 4) and set(closed.by_kind) == {"ConnectionRefusedError"}


def test_stop_lets_requests_in_flight_finish_and_starts_no_more(app: StandIn) -> None:
    app.hold.clear()
    driver = LoadDriver(f"{app.url}/load", clients=4, duration_s=3600, max_requests=1000).start()
    assert app.wait_in_flight(4)
    driver.stop()
    app.hold.set()
    result = driver.join(timeout=60)
    assert result.ok == app.count == 4


def test_the_deadline_ends_the_run_on_the_injected_clock() -> None:
    ticks = itertools.count()
    calls: list[float] = []

    def get(url: str, timeout: float) -> int:
        calls.append(timeout)
        return 200

    # each claim reads the clock once: 10 s per read, so a 95 s run admits 9 requests
    result = LoadDriver("http://unused/load", clients=1, duration_s=95, max_requests=1000, get=get,
                        clock=lambda: 10.0 * next(ticks)).start().join(timeout=60)
    assert result.ok == len(calls) == 9
    assert calls == [DEFAULT_TIMEOUT_S] * 9


def test_the_client_timeout_outlasts_a_real_load_request() -> None:
    # http-load-generator holds every /load for 10 s
    assert DEFAULT_TIMEOUT_S > 10
    with pytest.raises(ValueError):
        LoadDriver("http://x/load", clients=0, duration_s=1, max_requests=1)


def test_a_driver_runs_once_and_works_as_a_context_manager(app: StandIn) -> None:
    with LoadDriver(f"{app.url}/load", clients=1, duration_s=3600, max_requests=2) as driver:
        pass
    assert driver.result().requests <= 2
    with pytest.raises(RuntimeError):
        driver.start()
