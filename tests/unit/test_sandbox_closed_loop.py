"""The checker's closed-loop load: acceptance's LoadDriver with every request recorded for the figures.
Requests are answered by an injected client that waits on events, never on time."""
from __future__ import annotations

import threading
import urllib.error

import pytest

from sandbox.closed_loop import ClosedLoad


class Client:
    """Answers each GET with the next outcome once released; counts calls in flight."""

    def __init__(self, outcomes: list[int | Exception]) -> None:
        self.outcomes = outcomes
        self.release = threading.Event()
        self.cond = threading.Condition()
        self.calls: list[str] = []
        self.in_flight = 0

    def __call__(self, url: str, timeout: float) -> int:
        with self.cond:
            self.calls.append(url)
            outcome = self.outcomes[len(self.calls) - 1]
            self.in_flight += 1
            self.cond.notify_all()
        self.release.wait(30)
        with self.cond:
            self.in_flight -= 1
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def wait_in_flight(self, n: int) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.in_flight >= n, timeout=30)


def test_clients_keep_requests_in_flight_and_every_outcome_is_recorded() -> None:
    outcomes: list[int | Exception] = [200, 503, urllib.error.URLError(TimeoutError()), ConnectionRefusedError()]
    client = Client(outcomes + [200] * 100)
    load = ClosedLoad("127.0.0.1", 8080, clients=2, duration_s=3600, timeout_s=30, get=client)
    load.start()
    assert client.wait_in_flight(2)
    fig = load.figures(window_s=60)
    assert (fig.in_flight, fig.ok, fig.failed) == (2, 0, 0)
    assert client.calls[0] == "http://127.0.0.1:8080/load"
    load.driver.max_requests = 4  # the budget ends the run after the four outcomes above
    client.release.set()
    load.driver.join(timeout=60)
    load.stop()
    summary = load.summary()
    assert (summary.offered, summary.ok) == (4, 1)
    assert summary.errors == {"http": 1, "timeout": 1, "conn": 1}
    fig = load.figures(window_s=3600)
    assert (fig.in_flight, fig.ok, fig.failed, fig.sent) == (0, 1, 3, 4)


def test_the_checker_load_stays_on_loopback() -> None:
    with pytest.raises(ValueError, match=r"outside 127\.0\.0\.0/8"):
        ClosedLoad("192.0.2.1", 80, clients=1, duration_s=1, timeout_s=30)
