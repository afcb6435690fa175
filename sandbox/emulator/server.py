"""The imperative shell: a loopback ThreadingHTTPServer that authenticates, injects faults,
logs every call and hands API calls to `api.serve` and admin calls to `admin.handle`.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import admin, api, faults, signature
from .entities import Callback, Callbacks, Clock, Instance
from .logs import EventLog, OperationRecord, RequestRecord
from .model import Model

MAX_BODY = 1 << 20
REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 413: "Payload Too Large",
           429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented",
           502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as requests.Session expects
    # One buffered write per response and no Nagle: otherwise headers and body leave in two
    # segments and delayed ACKs add ~40 ms to every call.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status, REASONS.get(status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self) -> None:
        emu = self.server.emulator
        started = time.monotonic()
        path, _, query = self.path.partition("?")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._send(413 if length > 0 else 400, {"message": "bad or oversized Content-Length"})
            return
        body = self.rfile.read(length) if length else b""
        if path.startswith(admin.PREFIX):
            self._send(*admin.handle(emu.admin_context, self.command, self.path, body))
            return
        status, fault, op_id = self._api(emu, path, query, body)
        emu.request_log.append(RequestRecord(
            time=emu.model.clock(), method=self.command, path=path, query=query, operation_id=op_id,
            status=status, fault=fault, duration_s=round(time.monotonic() - started, 6)))

    def _api(self, emu: EmulatorServer, path: str, query: str,
             body: bytes) -> tuple[int | None, str | None, str | None]:
        route, path_params = emu.router.match(self.command, path)
        op_id = route.operation_id if route else None
        decision = emu.injector.decide(op_id, emu.model.clock())
        if decision.latency_s:
            time.sleep(decision.latency_s)
        if decision.close:
            self.close_connection = True  # return without a byte: the client sees a dropped connection
            return None, decision.fault, op_id
        if decision.status is not None:
            # A rejected call never reaches the model, so it performs no mutation.
            extra = {"Retry-After": "1"} if decision.status == 429 else None
            self._send(decision.status, {"message": REASONS.get(decision.status, "injected fault")}, extra)
            return decision.status, decision.fault, op_id
        verdict = signature.verify(key=emu.key, secret=emu.secret, method=self.command, path=path,
                                   query_string=query, body=body,
                                   authorization=self.headers.get("Authorization"), now=emu.auth_clock())
        if not verdict.ok:
            self._send(403, {"message": f"authentication failed: {verdict.reason}"})
            return 403, None, op_id
        if route is None:
            self._send(404, {"message": f"no route {self.command} {path}"})
            return 404, None, None
        try:
            response = api.serve(emu.model, route, path_params, query, body, stuck=decision.stuck)
        except Exception:  # an emulator bug must answer, not hang the client on a dead socket
            traceback.print_exc()
            response = api.Response(500, {"message": "emulator internal error"})
        self._send(response.status, response.body)
        stuck = decision.stuck and op_id in api.MUTATIONS and response.status == 200
        return response.status, "stuck" if stuck else None, op_id

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _dispatch


def _guarded(callback: Callback | None) -> Callback | None:
    """A user callback that raises must not kill the ticker thread or fail an API call."""
    if callback is None:
        return None
    user_callback = callback

    def guarded(instance: Instance) -> None:
        try:
            user_callback(instance)
        except Exception:
            traceback.print_exc()

    return guarded


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    emulator: EmulatorServer


class EmulatorServer:
    """The Exoscale API emulator on 127.0.0.1 (or another loopback address)."""

    def __init__(self, key: str, secret: str, *, host: str = "127.0.0.1", port: int = 0,
                 boot_delay_s: float = 20.0, op_delay_s: float = 1.0, destroy_delay_s: float = 5.0,
                 clock: Clock = time.time, auth_clock: Clock = time.time, seed: int | None = None,
                 faults_config: faults.FaultConfig | dict[str, Any] | None = None,
                 on_member_added: Callback | None = None, on_member_running: Callback | None = None,
                 on_member_removed: Callback | None = None, tick_interval_s: float = 0.05,
                 verbose: bool = False) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the emulator only listens on loopback, not {host}")
        self.key, self.secret, self.host, self.verbose = key, secret, host, verbose
        self.auth_clock = auth_clock
        self.operation_log: EventLog[OperationRecord] = EventLog()
        self.request_log: EventLog[RequestRecord] = EventLog()
        self.model = Model(clock=clock, boot_delay_s=boot_delay_s, op_delay_s=op_delay_s,
                           destroy_delay_s=destroy_delay_s, seed=seed, operation_log=self.operation_log,
                           callbacks=Callbacks(_guarded(on_member_added), _guarded(on_member_running),
                                               _guarded(on_member_removed)))
        if isinstance(faults_config, dict):
            faults_config = faults.parse_config(faults_config, clock())
        self.injector = faults.FaultInjector(faults_config, seed=seed)
        self.router = api.Router()
        self.admin_context = admin.AdminContext(self.model, self.operation_log, self.request_log, self.injector)
        self._tick_interval_s = tick_interval_s
        self._requested_port = port
        self._httpd: _HTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # ---- lifecycle ------------------------------------------------------------------
    def start(self) -> EmulatorServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self._requested_port), _Handler)
        self._httpd.emulator = self
        self._stopping.clear()
        serve = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                 name="emulator-http", daemon=True)
        # The ticker makes boot/destroy transitions (and their callbacks) happen on time even
        # when nobody is polling the API.
        tick = threading.Thread(target=self._tick, name="emulator-tick", daemon=True)
        self._threads = [serve, tick]
        for t in self._threads:
            t.start()
        return self

    def _tick(self) -> None:
        while not self._stopping.wait(self._tick_interval_s):
            self.model.advance()

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        for t in self._threads:
            t.join(timeout=2)
        self._httpd = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- conveniences ---------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("emulator not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v2"

    @property
    def admin_url(self) -> str:
        return f"http://{self.host}:{self.port}/_emulator"

    def create_pool(self, size: int, **kwargs: Any) -> str:
        return self.model.create_pool(size, **kwargs).id

    def set_faults(self, config: faults.FaultConfig | dict[str, Any]) -> None:
        if isinstance(config, dict):
            config = faults.parse_config(config, self.model.clock())
        self.injector.configure(config)

    def operations(self) -> list[OperationRecord]:
        return self.operation_log.entries()

    def requests(self) -> list[RequestRecord]:
        return self.request_log.entries()

    def reset_logs(self) -> None:
        self.operation_log.clear()
        self.request_log.clear()


