"""NLB stand-in: an HTTP proxy on 127.0.0.1 spreading requests over healthy pool members.

Owns the backend set (replaced at any time by `set_backends`), the active health checks
(GET /health at the deployed NLB service's interval and timeout, read from terraform/nlb.tf by
`deployed_healthcheck`; healthy after 2 passes, unhealthy after 2 failures) and the choice of
backend per request. Each check is a new connection to the member, as on Exoscale, so the
members' accepted-connection counters see them at the deployed rate.

Balancing defaults to round-robin over healthy backends: Exoscale's NLB is a layer-4 balancer
that spreads connections by a hash, blind to how busy a member is, so a load-aware choice
here would make the sandbox kinder than production and hide imbalance the scaler must cope
with. `strategy="least_outstanding"` is there for comparison.
"""

from __future__ import annotations

import http.client
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sandbox.loopback_http import QuietHandler, ServerThread, require_loopback

Backend = tuple[str, int]
STRATEGIES = ("round_robin", "least_outstanding")
NLB_TF = Path(__file__).resolve().parent.parent / "terraform" / "nlb.tf"


# ---- functional core ------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthCheck:
    interval_s: float
    timeout_s: float


def parse_healthcheck(tf: str) -> HealthCheck:
    """`interval` and `timeout` (seconds) of the healthcheck block of an exoscale_nlb_service."""
    block = re.search(r"healthcheck\s*\{([^}]*)\}", tf)
    if block is None:
        raise ValueError("no healthcheck block in the NLB service")
    values = dict(re.findall(r"^\s*(\w+)\s*=\s*(\d+)\s*$", block.group(1), re.MULTILINE))
    missing = [k for k in ("interval", "timeout") if k not in values]
    if missing:
        raise ValueError(f"the NLB healthcheck block sets no {', '.join(missing)}")
    return HealthCheck(float(values["interval"]), float(values["timeout"]))


def deployed_healthcheck(speedup: float = 1.0, path: Path = NLB_TF) -> HealthCheck:
    """The deployed NLB's health check (terraform/nlb.tf), its times divided by `speedup` (--fast)."""
    hc = parse_healthcheck(path.read_text())
    return HealthCheck(hc.interval_s / speedup, hc.timeout_s / speedup)


@dataclass(frozen=True)
class Health:
    healthy: bool = False  # a new backend serves only once it has passed its checks
    passes: int = 0  # consecutive
    failures: int = 0  # consecutive


def observe(state: Health, ok: bool, healthy_after: int = 2, unhealthy_after: int = 2) -> Health:
    """Fold one health-check result into the backend's state."""
    if ok:
        passes = state.passes + 1
        return Health(healthy=state.healthy or passes >= healthy_after, passes=passes, failures=0)
    failures = state.failures + 1
    return Health(healthy=state.healthy and failures < unhealthy_after, passes=0, failures=failures)


def choose(candidates: list[Backend], outstanding: dict[Backend, int], turn: int, strategy: str) -> Backend:
    """Pick a backend from a non-empty candidate list; `turn` is a counter the caller increments."""
    start = turn % len(candidates)
    rotated = candidates[start:] + candidates[:start]
    if strategy == "least_outstanding":
        # min() keeps the first of equals, so ties rotate like round-robin
        return min(rotated, key=lambda b: outstanding.get(b, 0))
    return rotated[0]


# ---- imperative shell -----------------------------------------------------------------------


@dataclass(frozen=True)
class BackendStatus:
    backend: Backend
    healthy: bool
    outstanding: int  # requests being proxied to it right now
    forwarded: int  # requests sent to it since it was added
    failed: int  # of those, ones it did not answer (connection error or timeout)


@dataclass
class _Entry:
    health: Health
    stop: threading.Event
    outstanding: int = 0
    forwarded: int = 0
    failed: int = 0


class Nlb:
    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        strategy: str = "round_robin",
        check_interval_s: float = 1.0,
        check_timeout_s: float = 0.8,
        healthy_after: int = 2,
        unhealthy_after: int = 2,
        backend_timeout_s: float = 30.0,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}")
        self.host = require_loopback(host)
        self.strategy = strategy
        self.check_interval_s = check_interval_s
        self.check_timeout_s = check_timeout_s
        self.healthy_after = healthy_after
        self.unhealthy_after = unhealthy_after
        self.backend_timeout_s = backend_timeout_s
        self._requested_port = port
        self._lock = threading.Lock()
        self._backends: dict[Backend, _Entry] = {}  # insertion order = rotation order
        self._turn = 0
        self._server: ServerThread | None = None
        self.no_backend = 0  # requests answered 503 because nothing was healthy

    @property
    def port(self) -> int:
        return self._server.port if self._server else self._requested_port

    def start(self) -> None:
        nlb = self

        class NlbHandler(QuietHandler):
            def do_GET(self) -> None:
                nlb._proxy(self)

        self._server = ServerThread(self.host, self._requested_port, NlbHandler)
        self._server.start()

    def stop(self) -> None:
        self.set_backends([])
        if self._server:
            self._server.begin_stop().join()
            self._server = None

    def set_backends(self, backends: list[Backend]) -> None:
        """Replace the backend set. Known backends keep their health; new ones start unhealthy."""
        wanted = [(require_loopback(ip), int(port)) for ip, port in backends]
        with self._lock:
            for backend in list(self._backends):
                if backend not in wanted:
                    self._backends.pop(backend).stop.set()
            for backend in wanted:
                if backend not in self._backends:
                    entry = _Entry(health=Health(), stop=threading.Event())
                    self._backends[backend] = entry
                    threading.Thread(
                        target=self._check_loop, args=(backend, entry), name=f"hc-{backend[0]}", daemon=True
                    ).start()

    def serving(self) -> list[Backend]:
        """Backends currently in rotation (healthy)."""
        with self._lock:
            return [b for b, e in self._backends.items() if e.health.healthy]

    def snapshot(self) -> list[BackendStatus]:
        with self._lock:
            return [
                BackendStatus(b, e.health.healthy, e.outstanding, e.forwarded, e.failed)
                for b, e in self._backends.items()
            ]

    # ---- health checks --------------------------------------------------------------------

    def _check_loop(self, backend: Backend, entry: _Entry) -> None:
        while not entry.stop.is_set():
            ok = self._probe(backend)
            with self._lock:
                entry.health = observe(entry.health, ok, self.healthy_after, self.unhealthy_after)
            entry.stop.wait(self.check_interval_s)

    def _probe(self, backend: Backend) -> bool:
        conn = http.client.HTTPConnection(*backend, timeout=self.check_timeout_s)
        try:
            conn.request("GET", "/health")
            resp = conn.getresponse()
            resp.read()
            return resp.status == 200
        except (OSError, http.client.HTTPException):  # refused, reset, timeout, garbage
            return False
        finally:
            conn.close()

    # ---- proxying -------------------------------------------------------------------------

    def _proxy(self, handler: QuietHandler) -> None:
        with self._lock:
            candidates = [b for b, e in self._backends.items() if e.health.healthy]
            if not candidates:
                self.no_backend += 1
                backend = None
            else:
                backend = choose(candidates, {b: self._backends[b].outstanding for b in candidates},
                                 self._turn, self.strategy)
                self._turn += 1
                entry = self._backends[backend]
                entry.outstanding += 1
                entry.forwarded += 1
        if backend is None:
            handler.send_text(503, "no healthy backend\n")
            return
        path = urlsplit(handler.path)
        target = path.path + (f"?{path.query}" if path.query else "")
        conn = http.client.HTTPConnection(*backend, timeout=self.backend_timeout_s)
        failed = False
        try:
            conn.request("GET", target, headers={"X-Forwarded-For": handler.client_address[0]})
            resp = conn.getresponse()
            body = resp.read()
            status, ctype = resp.status, resp.getheader("Content-Type", "text/plain")
        except TimeoutError:
            failed, status, body, ctype = True, 504, b"backend timeout\n", "text/plain"
        except (OSError, http.client.HTTPException):
            # The member went away between health checks, as on a real scale-in.
            failed, status, body, ctype = True, 502, b"backend unreachable\n", "text/plain"
        finally:
            conn.close()
            with self._lock:
                entry.outstanding -= 1
                entry.failed += failed
        handler.send_text(status, body.decode(errors="replace"), ctype)
