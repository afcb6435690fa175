"""One simulated instance-pool member: the app (/health, /load) and a node-exporter /metrics on 127.0.1.N.

Owns the imperative shell around a `sandbox.vcpu.VcpuModel`: a /load request is submitted to
the model and its handler thread *sleeps* until the modelled completion (no CPU is burned, so a
dozen members fit on a 2-core host). /metrics renders the model's counters in node-exporter
text format (pure function `render_metrics`), so Prometheus sees modelled utilisation and load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sandbox.loopback_http import QuietHandler, ServerThread, require_loopback
from sandbox.vcpu import CpuCounters, Outcome, VcpuModel

# The app's CPU time is mostly user mode; the kernel's share (network, scheduling) goes to
# "system" so dashboards that sum user+system see the same total as 1 - idle.
USER_SHARE = 0.9
CPU_MODES = ("idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user")


@dataclass(frozen=True)
class MemberSnapshot:
    ip: str
    utilisation: float  # instantaneous share of vCPU capacity in use, 0..1
    busy_seconds: float  # cumulative vCPU-seconds of work done (delta / (dt * vcpus) = utilisation)
    in_service: int
    queued: int
    in_flight: int  # in_service + queued
    served: int  # /load answered 200
    errors: int  # rejected + timed_out
    rejected: int  # 503: queue full
    timed_out: int  # 504: not finished within timeout_s
    load1: float
    healthy: bool


def render_metrics(
    counters: CpuCounters,
    loads: tuple[float, float, float],
    procs_running: int,
    boot_time: float,
    now_wall: float,
    user_share: float = USER_SHARE,
) -> str:
    """node-exporter text exposition (format 0.0.4) for the modelled node."""
    lines = [
        "# HELP node_boot_time_seconds Node boot time, in unixtime.",
        "# TYPE node_boot_time_seconds gauge",
        f"node_boot_time_seconds {boot_time:.3f}",
        "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.",
        "# TYPE node_cpu_seconds_total counter",
    ]
    for cpu, (busy, idle) in enumerate(zip(counters.busy, counters.idle, strict=True)):
        by_mode = dict.fromkeys(CPU_MODES, 0.0)
        by_mode["idle"] = idle
        by_mode["user"] = busy * user_share
        by_mode["system"] = busy * (1.0 - user_share)
        for mode in CPU_MODES:
            lines.append(f'node_cpu_seconds_total{{cpu="{cpu}",mode="{mode}"}} {by_mode[mode]!r}')
    names = ("node_load1", "node_load5", "node_load15")
    for name, window, value in zip(names, ("1m", "5m", "15m"), loads, strict=True):
        lines += [f"# HELP {name} {window} load average.", f"# TYPE {name} gauge", f"{name} {value!r}"]
    lines += [
        "# HELP node_procs_running Number of processes in runnable state.",
        "# TYPE node_procs_running gauge",
        f"node_procs_running {procs_running}",
        "# HELP node_time_seconds System time in seconds since epoch (1970).",
        "# TYPE node_time_seconds gauge",
        f"node_time_seconds {now_wall:.3f}",
    ]
    return "\n".join(lines) + "\n"


class Member:
    """A simulated VM: `start()` binds ip:app_port and ip:exporter_port, `stop()` releases them.

    Ports may be 0 (tests): the bound ports are then read from `app_port` / `exporter_port`.
    """

    def __init__(
        self,
        ip: str,
        *,
        app_port: int = 8080,
        exporter_port: int = 9100,
        vcpus: int = 1,
        work_s: float = 0.25,
        max_active: int = 16,
        max_queue: int = 64,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.ip = require_loopback(ip)
        self.work_s = work_s
        self._clock = clock
        self._wall = wall_clock
        self._cond = threading.Condition()
        self._model = VcpuModel(
            start=clock(), vcpus=vcpus, max_active=max_active, max_queue=max_queue, timeout_s=timeout_s
        )
        self._boot_wall = wall_clock()
        self._healthy = True
        self._stopping = False
        self._app_port, self._exporter_port = app_port, exporter_port
        self._servers: list[ServerThread] = []

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._servers:
            raise RuntimeError("member already started")
        app = ServerThread(self.ip, self._app_port, self._handler_class(self._handle_app))
        try:
            exporter = ServerThread(self.ip, self._exporter_port, self._handler_class(self._handle_exporter))
        except OSError:
            app.server.server_close()
            raise
        self._servers = [app, exporter]
        self._stopping = False  # a stopped member may be started again, like a rebooted VM
        self._app_port, self._exporter_port = app.port, exporter.port
        for server in self._servers:
            server.start()

    def stop(self) -> None:
        """Stop both servers; requests still waiting for modelled CPU are answered 503."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for stopper in [s.begin_stop() for s in self._servers]:
            stopper.join()
        self._servers = []

    @property
    def app_port(self) -> int:
        return self._app_port

    @property
    def exporter_port(self) -> int:
        return self._exporter_port

    def set_healthy(self, healthy: bool) -> None:
        """Make /health fail (503) or pass again, e.g. to rehearse a sick member."""
        self._healthy = healthy

    def snapshot(self) -> MemberSnapshot:
        with self._cond:
            m = self._model
            loads = m.load_averages(self._clock())
            return MemberSnapshot(
                ip=self.ip,
                utilisation=m.utilisation(),
                busy_seconds=m.busy_s,
                in_service=m.in_service,
                queued=m.queued,
                in_flight=m.runnable,
                served=m.served,
                errors=m.rejected + m.timed_out,
                rejected=m.rejected,
                timed_out=m.timed_out,
                load1=loads[0],
                healthy=self._healthy,
            )

    def metrics_text(self) -> str:
        with self._cond:
            now = self._clock()
            counters = self._model.counters(now)
            loads = self._model.load_averages(now)
            running = self._model.runnable
        return render_metrics(counters, loads, running, self._boot_wall, self._wall())

    # ---- request handling -----------------------------------------------------------------

    def run_load(self) -> tuple[int, str]:
        """Do one /load's modelled work: block (sleeping) until it finishes; (status, body)."""
        with self._cond:
            job = self._model.submit(self._clock(), self.work_s)
            while True:
                now = self._clock()
                self._model.advance(now)
                result = self._model.collect(job)
                if result is not None:
                    break
                if self._stopping:
                    return 503, "member stopping\n"
                finish = self._model.predict_finish(now, job)
                # Arrivals can only delay a processor-sharing job, so sleeping until the
                # predicted finish never oversleeps; waking early just re-predicts.
                self._cond.wait(timeout=max(0.001, (finish or now) - now))
        if result.outcome is Outcome.DONE:
            return 200, f"OK {result.finished - result.arrived:.3f}s\n"
        if result.outcome is Outcome.REJECTED:
            return 503, "busy: queue full\n"
        return 504, "timed out waiting for CPU\n"

    def _handle_app(self, handler: QuietHandler) -> None:
        path = urlsplit(handler.path).path
        if path == "/health":
            # Answered outside the CPU model: a health probe needs microseconds of CPU and
            # gets them even on a saturated box, like the real app's trivial handler.
            if self._healthy and not self._stopping:
                handler.send_text(200, "OK")
            else:
                handler.send_text(503, "unhealthy")
        elif path == "/load":
            status, body = self.run_load()
            handler.send_text(status, body)
        else:
            handler.send_text(404, "not found\n")

    def _handle_exporter(self, handler: QuietHandler) -> None:
        if urlsplit(handler.path).path == "/metrics":
            handler.send_text(200, self.metrics_text(), "text/plain; version=0.0.4; charset=utf-8")
        else:
            handler.send_text(404, "not found\n")

    @staticmethod
    def _handler_class(route: Callable[[QuietHandler], None]) -> type[QuietHandler]:
        class Handler(QuietHandler):
            def do_GET(self) -> None:
                route(self)

        return Handler
