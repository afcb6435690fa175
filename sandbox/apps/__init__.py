"""The apps a simulated member can run, by name: what one /load does to a modelled 1-vCPU node.

- `http-load-generator` (the default): the course's app as the pool runs it; every request
  takes 10 s and holds every core while any is in flight (see http_load_generator.py).
- `processor-sharing`: CPU-bound requests of 0.25 vCPU-seconds sharing the vCPUs, latency
  growing with the queue: the kind of app many real users run (see processor_sharing.py).

An app is a small frozen definition (name, answers, one member's worth of demand, how the
report judges overload) that builds a pure model per member; the member (sandbox/member.py)
is the HTTP shell around whichever model it was given.
"""

from __future__ import annotations

from typing import Protocol

from sandbox.apps.http_load_generator import HttpLoadGenerator
from sandbox.apps.kernel import CpuCounters, RequestResult
from sandbox.apps.processor_sharing import ProcessorSharing


class AppModel(Protocol):
    """One member's app and kernel state, driven by injected times (the owner holds a lock)."""

    busy_s: float
    served: int

    @property
    def in_flight(self) -> int: ...
    @property
    def in_service(self) -> int: ...
    @property
    def queued(self) -> int: ...
    @property
    def runnable(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def timed_out(self) -> int: ...

    def submit(self, now: float) -> int: ...
    def collect(self, job_id: int) -> RequestResult | None: ...
    def predict_finish(self, now: float, job_id: int) -> float | None: ...
    def advance(self, now: float) -> None: ...
    def utilisation(self) -> float: ...
    def counters(self, now: float) -> CpuCounters: ...
    def load_averages(self, now: float) -> tuple[float, float, float]: ...


class App(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def overload(self) -> str: ...  # "cpu" or "latency": which overload figure the report uses
    @property
    def demand_signal(self) -> str: ...  # the alerts.json signal its scale-up alert sends as scale_value
    @property
    def client_timeout_s(self) -> float: ...
    @property
    def health_body(self) -> str: ...
    @property
    def not_found_body(self) -> str: ...

    def model(self, start: float, vcpus: int) -> AppModel: ...
    def member_rps(self, vcpus: int) -> float: ...
    def answer(self, result: RequestResult) -> tuple[int, str]: ...
    def describe(self) -> dict[str, object]: ...


APPS = ("http-load-generator", "processor-sharing")
DEFAULT_APP = "http-load-generator"


def for_run(name: str, speedup: float = 1.0) -> App:
    """The app `name` for a run whose pipeline delays are divided by `speedup` (`--fast`: about 6).

    http-load-generator's 10 s shrinks by the same factor, so a compressed run keeps the real
    ratio of request time to scrape interval, rate window and alert `for` (10 s against 1 m),
    and one member's worth of demand still means one request in flight. processor-sharing's
    0.25 s is already short against every window and its latency SLO is in real seconds, so it
    stays as it is.
    """
    if name == "http-load-generator":
        return HttpLoadGenerator(request_s=HttpLoadGenerator().request_s / speedup)
    if name == "processor-sharing":
        return ProcessorSharing()
    raise ValueError(f"unknown app {name!r}: one of {', '.join(APPS)}")


def run_facts(app: App, vcpus: int) -> dict[str, object]:
    """What a report says about the app a run used."""
    return {**app.describe(), "vcpus_per_member": vcpus, "member_rps": app.member_rps(vcpus),
            "client_timeout_s": app.client_timeout_s, "demand_signal": app.demand_signal}


__all__ = ["APPS", "DEFAULT_APP", "App", "AppModel", "HttpLoadGenerator", "ProcessorSharing", "for_run",
           "run_facts"]
