"""One simulated instance-pool member: the app (/health, /load) and a node-exporter /metrics on 127.0.1.N.

Owns the imperative shell around the app's pure model (`sandbox.apps`): a /load request is
submitted to the model and its handler thread *sleeps* until the modelled completion (no CPU is
burned, so a dozen members fit on a 2-core host). /metrics renders the model's counters and the
member's TCP table in node-exporter text format (pure function `render_metrics`), so Prometheus
sees modelled utilisation, load and connections. Both servers speak HTTP/1.1 with keep-alive, as
the Go servers of the real app and node exporter do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sandbox.apps import App, HttpLoadGenerator
from sandbox.apps.kernel import CpuCounters
from sandbox.loopback_http import QuietHandler, ServerThread, require_loopback
from sandbox.tcp_table import TcpTable

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
    in_flight: int  # /load requests the app holds (in service + queued)
    served: int  # /load answered 200
    errors: int  # rejected + timed_out
    rejected: int  # 503: queue full
    timed_out: int  # 504: not finished within timeout_s
    load1: float
    healthy: bool
    tcp_established: int  # node_netstat_Tcp_CurrEstab
    tcp_passive_opens: int  # node_netstat_Tcp_PassiveOpens


@dataclass(frozen=True)
class Netstat:
    curr_estab: int
    passive_opens: int


def render_metrics(
    counters: CpuCounters,
    loads: tuple[float, float, float],
    procs_running: int,
    boot_time: float,
    now_wall: float,
    netstat: Netstat,
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
    # The netstat collector exports every field untyped, help "Statistic <Proto><Field>."
    for field, value in (("CurrEstab", netstat.curr_estab), ("PassiveOpens", netstat.passive_opens)):
        lines += [f"# HELP node_netstat_Tcp_{field} Statistic Tcp{field}.",
                  f"# TYPE node_netstat_Tcp_{field} untyped", f"node_netstat_Tcp_{field} {value}"]
    lines += [
        "# HELP node_procs_running Number of processes in runnable state.",
        "# TYPE node_procs_running gauge",
        f"node_procs_running {procs_running}",
        "# HELP node_time_seconds System time in seconds since epoch (1970).",
        "# TYPE node_time_seconds gauge",
        f"node_time_seconds {now_wall:.3f}",
    ]
    return "\n".join(lines) + "\n"


class SimulatedVm:
    """A simulated VM running `app`: `start()` binds ip:app_port and ip:exporter_port, `stop()` releases them.

    Ports may be 0 (tests): the bound ports are then read from `app_port` / `exporter_port`.
    """

    def __init__(
        self,
        ip: str,
        *,
        app: App | None = None,
        app_port: int = 8080,
        exporter_port: int = 9100,
        vcpus: int = 1,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.ip = require_loopback(ip)
        self.app: App = app or HttpLoadGenerator()
        self._clock = clock
        self._wall = wall_clock
        self._cond = threading.Condition()
        self._model = self.app.model(clock(), vcpus)
        self.tcp = TcpTable()  # the node's kernel: both servers' connections, kept across restarts
        self._boot_wall = wall_clock()
        self._healthy = True
        self._stopping = False
        self._answering = 0  # /load handlers not yet done writing their answer
        self._app_port, self._exporter_port = app_port, exporter_port
        self._servers: list[ServerThread] = []

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._servers:
            raise RuntimeError("member already started")
        server_class = self.tcp.server_class()
        app = ServerThread(self.ip, self._app_port, self._handler_class(self._handle_app), server_class)
        try:
            exporter = ServerThread(self.ip, self._exporter_port, self._handler_class(self._handle_exporter),
                                    server_class)
        except OSError:
            app.server.server_close()
            raise
        self._servers = [app, exporter]
        self._stopping = False  # a stopped member may be started again, like a rebooted VM
        self._app_port, self._exporter_port = app.port, exporter.port
        for server in self._servers:
            server.start()

    def stop(self) -> None:
        """Stop both servers and drop open connections; requests still in the app are answered 503."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for stopper in [s.begin_stop() for s in self._servers]:
            stopper.join()
        with self._cond:  # the 503s go out before the connections are dropped (bounded wait)
            self._cond.wait_for(lambda: self._answering == 0, timeout=5.0)
        self.tcp.drop_all()  # after the listeners closed, so nothing new is accepted meanwhile
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
        established, passive_opens = self.tcp.counts()
        with self._cond:
            m = self._model
            loads = m.load_averages(self._clock())
            return MemberSnapshot(
                ip=self.ip,
                utilisation=m.utilisation(),
                busy_seconds=m.busy_s,
                in_service=m.in_service,
                queued=m.queued,
                in_flight=m.in_flight,
                served=m.served,
                errors=m.rejected + m.timed_out,
                rejected=m.rejected,
                timed_out=m.timed_out,
                load1=loads[0],
                healthy=self._healthy,
                tcp_established=established,
                tcp_passive_opens=passive_opens,
            )

    def metrics_text(self) -> str:
        with self._cond:
            now = self._clock()
            counters = self._model.counters(now)
            loads = self._model.load_averages(now)
            running = self._model.runnable
        netstat = Netstat(*self.tcp.counts())
        return render_metrics(counters, loads, running, self._boot_wall, self._wall(), netstat)

    # ---- request handling -----------------------------------------------------------------

    def run_load(self) -> tuple[int, str]:
        """One /load: block (sleeping) until the app's model answers it; (status, body)."""
        with self._cond:
            job = self._model.submit(self._clock())
            while True:
                now = self._clock()
                self._model.advance(now)
                result = self._model.collect(job)
                if result is not None:
                    break
                if self._stopping:
                    return 503, "member stopping\n"
                finish = self._model.predict_finish(now, job)
                # Arrivals can only delay a request (processor sharing) or not at all
                # (http-load-generator), so sleeping until the predicted finish never
                # oversleeps; waking early just re-predicts.
                self._cond.wait(timeout=max(0.001, (finish or now) - now))
        return self.app.answer(result)

    def _handle_app(self, handler: QuietHandler) -> None:
        path = urlsplit(handler.path).path
        if path == "/health":
            # Answered outside the CPU model: a health probe needs microseconds of CPU and
            # gets them even on a saturated box, like the real app's trivial handler.
            if self._healthy and not self._stopping:
                handler.send_text(200, self.app.health_body)
            else:
                handler.send_text(503, "unhealthy")
        elif path == "/load":
            with self._cond:
                self._answering += 1
            try:
                status, body = self.run_load()
                handler.send_text(status, body)
            finally:
                with self._cond:
                    self._answering -= 1
                    self._cond.notify_all()
        else:
            handler.send_text(404, self.app.not_found_body)

    def _handle_exporter(self, handler: QuietHandler) -> None:
        if urlsplit(handler.path).path == "/metrics":
            handler.send_text(200, self.metrics_text(), "text/plain; version=0.0.4; charset=utf-8")
        else:
            handler.send_text(404, "not found\n")

    @staticmethod
    def _handler_class(route: Callable[[QuietHandler], None]) -> type[QuietHandler]:
        class MemberHandler(QuietHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: Prometheus holds one scrape connection

            def do_GET(self) -> None:
                route(self)

        return MemberHandler
