"""The http-load-generator app, as the course's pool runs it: every /load busy-loops all cores for 10 s.

What the real program does (github.com/janoszen/http-load-generator, main.go, the whole
program): `GET /load` starts one busy-looping goroutine per CPU (`runtime.NumCPU()`), sleeps
10 s, stops them and answers `Load generation done.` (200, no trailing newline); `GET /health`
answers `OK`; any other path gets Go's `404 page not found`. So:

- every request takes 10 s whatever the concurrency (the sleep, not the work, sets its end);
- one request in flight already holds every core at 100 %, and more cannot use more;
- the goroutines run on GOMAXPROCS = NumCPU OS threads, so the kernel's run queue holds one
  runnable thread per core while any request is in flight and none otherwise: node_load1 per
  core tends to 1 under load however many requests wait, and CPU and load1 both saturate.

Pure like the processor-sharing model: every call takes `now`, so tests drive it with numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sandbox.apps.kernel import ModelledNode, RequestOutcome, RequestResult

REQUEST_S = 10.0  # time.Sleep(time.Second * 10) in main.go
DONE_BODY = "Load generation done."


def cpu_under_random_arrivals(in_flight: float) -> float:
    """A member's CPU when requests arrive at random (Poisson) and each holds it for request_s: the
    chance that at least one is in flight. The number in flight is then Poisson with mean
    `in_flight` (M/D/∞), so 1 - e^(-in_flight): 63 % at one member's worth, 95 % at three. The
    model below reproduces it (tests/unit/test_sandbox_app_http_load_generator.py); the policy
    benchmark's pipeline uses the formula."""
    return 1.0 - math.exp(-in_flight)


@dataclass(frozen=True)
class HttpLoadGenerator:
    """The app's definition; `request_s` is 10 s as deployed (shorter only to compress a rehearsal)."""

    request_s: float = REQUEST_S

    name = "http-load-generator"
    overload = "cpu"  # every answer takes request_s: latency says nothing, CPU above the threshold does
    demand_signal = "demand"  # the deployed one: requests in flight, which keep growing past saturation
    # Clients must wait out the 10 s: three times the deployed request time, whatever `request_s`.
    client_timeout_s = 3 * REQUEST_S
    health_body = "OK"
    not_found_body = "404 page not found\n"  # Go's http.NotFound

    def model(self, start: float, vcpus: int) -> BusyLoopModel:
        return BusyLoopModel(start=start, vcpus=vcpus, request_s=self.request_s)

    def member_rps(self, vcpus: int) -> float:
        """One member's worth of demand: one request in flight on average (Little's law)."""
        return 1.0 / self.request_s

    def answer(self, result: RequestResult) -> tuple[int, str]:
        return 200, DONE_BODY

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "request_s": self.request_s, "request_s_deployed": REQUEST_S,
                "compressed_by": round(REQUEST_S / self.request_s, 3)}


@dataclass
class BusyLoopModel(ModelledNode):
    """State of one member running http-load-generator. Not thread-safe: the owner holds a lock."""

    request_s: float = REQUEST_S
    _next_id: int = field(init=False, default=0)
    _active: dict[int, float] = field(init=False, default_factory=dict)  # id → arrival

    # The app neither queues, rejects nor times out: a goroutine per request, no server timeouts.
    queued = 0
    rejected = 0
    timed_out = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.request_s <= 0:
            raise ValueError("request_s > 0")

    # ---- requests -------------------------------------------------------------------------

    def submit(self, now: float) -> int:
        """A request arrives at `now`; it will be answered request_s later, whatever else happens."""
        self.advance(now)
        job_id = self._next_id
        self._next_id += 1
        self._active[job_id] = max(now, self.t)
        return job_id

    def predict_finish(self, now: float, job_id: int) -> float | None:
        """When the request is answered (exact: other requests never delay it); None once known."""
        self.advance(now)
        arrived = self._active.get(job_id)
        return None if arrived is None else arrived + self.request_s

    # ---- observation ----------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._active)

    @property
    def in_service(self) -> int:
        return len(self._active)

    @property
    def runnable(self) -> int:
        """nr_running: one thread per core (GOMAXPROCS) while any request busy-loops, else none."""
        return self.vcpus if self._active else 0

    def utilisation(self) -> float:
        return 1.0 if self._active else 0.0

    # ---- simulation -----------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Run the model forward to `now` (earlier times are ignored: time never runs back)."""
        while self.t < now:
            first_end = min(self._active.values(), default=math.inf) + self.request_s
            step_to = min(first_end, now)
            self._spend(step_to - self.t, self.vcpus if self._active else 0)
            self.t = step_to
            self.loads.fold(self.t, self.runnable)  # the run queue held since the last event
            for job_id, arrived in list(self._active.items()):
                if arrived + self.request_s <= self.t:
                    del self._active[job_id]
                    self.served += 1
                    self._results[job_id] = RequestResult(RequestOutcome.DONE, arrived, arrived + self.request_s)
