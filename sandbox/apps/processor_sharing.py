"""The processor-sharing app: CPU-bound requests that share the member's vCPUs (the sandbox's first model).

Pure: no threads, no I/O, no clock of its own. Every method takes the current time `now`
(seconds on any monotonic scale) and the model advances event by event up to it, so tests
drive it with plain numbers and the member drives it with `time.monotonic()`.

Scheduling: up to `max_active` requests are *in service* and share the vCPUs by processor
sharing (each progresses at min(1, vcpus / in_service) vCPU). That is what Linux CFS does to a
CPU-bound threaded server: past saturation every request slows down together, so latency rises
smoothly with load instead of FIFO's "fast until the queue forms". Requests beyond `max_active`
wait in a FIFO queue (the server's backlog) of at most `max_queue`; a full queue rejects at once.
A request still unfinished `timeout_s` after it arrived is abandoned and its remaining work
dropped, so overload turns into errors and latency, never into unbounded state. Every runnable
request is a runnable thread, so node_load1 keeps growing with the queue past saturation.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass, field

from sandbox.apps.kernel import ModelledNode, RequestOutcome, RequestResult

# Remaining work below this is "done": event times are computed by division, so the job that
# defines the next event lands on ~1e-17 instead of exactly zero.
_EPS = 1e-9


@dataclass(frozen=True)
class ProcessorSharing:
    """The app's definition: `work_s` vCPU-seconds per /load; capacity vcpus / work_s requests/s."""

    work_s: float = 0.25
    max_active: int = 16
    max_queue: int = 64
    timeout_s: float = 10.0

    name = "processor-sharing"
    overload = "latency"  # the report judges it by the latency SLO
    # Requests in flight grow as u/(1-u) here and would overstate demand near the threshold:
    # CPU, or load1 per core once saturated (docs/scaling.md explains both signals).
    demand_signal = "demand_cpu_bound"
    client_timeout_s = 10.0
    health_body = "OK"
    not_found_body = "not found\n"

    def model(self, start: float, vcpus: int) -> VcpuModel:
        return VcpuModel(start=start, vcpus=vcpus, max_active=self.max_active, max_queue=self.max_queue,
                         timeout_s=self.timeout_s, work_s=self.work_s)

    def member_rps(self, vcpus: int) -> float:
        """One member's worth of demand: what its vCPUs serve at 100 %."""
        return vcpus / self.work_s

    def answer(self, result: RequestResult) -> tuple[int, str]:
        if result.outcome is RequestOutcome.DONE:
            return 200, f"OK {result.finished - result.arrived:.3f}s\n"
        if result.outcome is RequestOutcome.REJECTED:
            return 503, "busy: queue full\n"
        return 504, "timed out waiting for CPU\n"

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "work_s_per_request": self.work_s, "max_active": self.max_active,
                "max_queue": self.max_queue, "timeout_s": self.timeout_s}


@dataclass
class _Job:
    work: float  # remaining vCPU-seconds
    arrived: float
    deadline: float


@dataclass
class VcpuModel(ModelledNode):
    """State of one member's vCPUs. Not thread-safe: the owner holds a lock around calls."""

    max_active: int = 16
    max_queue: int = 64
    timeout_s: float = 10.0
    work_s: float = 0.25  # vCPU-seconds of a request submitted without its own figure
    timed_out: int = field(init=False, default=0)
    rejected: int = field(init=False, default=0)
    _next_id: int = field(init=False, default=0)
    _active: dict[int, _Job] = field(init=False, default_factory=dict)
    _queue: deque[tuple[int, _Job]] = field(init=False, default_factory=deque)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_active < 1 or self.max_queue < 0 or self.timeout_s <= 0:
            raise ValueError("max_active >= 1, max_queue >= 0, timeout_s > 0")

    # ---- requests -------------------------------------------------------------------------

    def submit(self, now: float, work_s: float | None = None) -> int:
        """Admit a request needing `work_s` vCPU-seconds (default: the model's); returns its id.

        The request may already be rejected (queue full): see result().
        """
        self.advance(now)
        job_id = self._next_id
        self._next_id += 1
        work = self.work_s if work_s is None else work_s
        job = _Job(work=max(work, 0.0), arrived=now, deadline=now + self.timeout_s)
        if len(self._active) < self.max_active:
            self._active[job_id] = job
        elif len(self._queue) < self.max_queue:
            self._queue.append((job_id, job))
        else:
            self.rejected += 1
            self._results[job_id] = RequestResult(RequestOutcome.REJECTED, now, now)
        if job.work <= _EPS and job_id in self._active:
            self._finish_ready()
        return job_id

    def predict_finish(self, now: float, job_id: int) -> float | None:
        """When the request will finish if nothing else arrives (a lower bound: arrivals only delay).

        None if its outcome is already known. Simulated on a copy, so the model is unchanged.
        """
        self.advance(now)
        if job_id in self._results:
            return None
        probe = copy.deepcopy(self)
        while job_id not in probe._results:
            nxt = probe._next_event()
            if nxt is None:  # cannot happen while the job exists; guard against a silent hang
                return None
            probe.advance(nxt)
        return probe._results[job_id].finished

    # ---- observation ----------------------------------------------------------------------

    @property
    def in_service(self) -> int:
        return len(self._active)

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def runnable(self) -> int:
        """What Linux would count in nr_running: in service plus waiting."""
        return len(self._active) + len(self._queue)

    @property
    def in_flight(self) -> int:
        """Requests the member holds (in service or queued)."""
        return self.runnable

    def utilisation(self) -> float:
        """Instantaneous share of vCPU capacity in use, 0..1."""
        return min(len(self._active), self.vcpus) / self.vcpus

    # ---- simulation -----------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Run the model forward to `now` (earlier times are ignored: time never runs back)."""
        while self.t < now:
            # Each pass either reaches `now` or ends at an event that removes at least one
            # request, so the loop terminates even where t + dt rounds back to t.
            dt_done = self._time_to_completion()
            deadline = self._earliest_deadline()
            t_event = min(self.t + dt_done, deadline)
            if t_event >= now:
                self._progress(now - self.t)
                self.t = now
            elif self.t + dt_done <= deadline:
                self._progress(dt_done)  # exact dt: the first job's work lands on ~0
                self.t = max(self.t, t_event)
            else:
                self._progress(t_event - self.t)
                self.t = max(self.t, t_event)
            # The run queue was constant since the last event, so every 5 s tick that fell in
            # between saw the same count: fold them in at once.
            self.loads.fold(self.t, self.runnable)
            self._finish_ready()

    def _rate(self) -> float:
        n = len(self._active)
        return min(1.0, self.vcpus / n) if n else 0.0

    def _time_to_completion(self) -> float:
        if not self._active:
            return math.inf
        return min(j.work for j in self._active.values()) / self._rate()

    def _earliest_deadline(self) -> float:
        deadlines = [j.deadline for j in self._active.values()]
        deadlines += [j.deadline for _, j in self._queue]
        return min(deadlines, default=math.inf)

    def _next_event(self) -> float | None:
        """Earliest completion or deadline among requests (load ticks are not events here)."""
        t = min(self.t + self._time_to_completion(), self._earliest_deadline())
        return None if t == math.inf else max(t, self.t)

    def _progress(self, dt: float) -> None:
        if dt <= 0:
            return
        rate = self._rate()
        for job in self._active.values():
            job.work -= rate * dt
        self._spend(dt, min(len(self._active), self.vcpus))

    def _finish_ready(self) -> None:
        for job_id, job in list(self._active.items()):
            if job.work <= _EPS:
                del self._active[job_id]
                self.served += 1
                self._results[job_id] = RequestResult(RequestOutcome.DONE, job.arrived, self.t)
            elif job.deadline <= self.t:
                del self._active[job_id]
                self._time_out(job_id, job)
        for job_id, job in list(self._queue):
            if job.deadline <= self.t:
                self._queue.remove((job_id, job))
                self._time_out(job_id, job)
        while self._queue and len(self._active) < self.max_active:
            job_id, job = self._queue.popleft()
            self._active[job_id] = job

    def _time_out(self, job_id: int, job: _Job) -> None:
        self.timed_out += 1
        self._results[job_id] = RequestResult(RequestOutcome.TIMEOUT, job.arrived, self.t)
