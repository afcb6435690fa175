"""The webhook receiver: HTTP in, durable scale requests in SOS out (`python -m functions.scaler.receiver`).

Owns the receiver's HTTP contract (docs/architecture.md, "The receiver"): POST /webhook,
GET|POST /up and /down, GET /healthz, GET /status (the `inspect status` view); JSON answers for
every status; one log line per delivery. The checks before any write (token, body limits,
content type) live in intake.py. Each request is stored under its pool (routing.py: the alert's
`pool` label; `?pool=NAME` on /up, /down and /status, required when several pools are configured).
A 2xx is sent only once every request of the delivery, whatever its pool, is stored in SOS
(conditional create); SOS trouble past the write deadline is a 503 so the sender re-delivers.
With SCALER_KICK_FILE set, a delivery that stored requests touches that file, and a watcher
(systemd's autoscaler-tick.path, the sandbox's tick timer) starts a tick at once.
Parsing lives in payload.py (pure); this module is the shell around it. Served by cheroot's
thread pool: a slow client occupies one worker, never the whole server.
"""
from __future__ import annotations

import argparse
import concurrent.futures as futures
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import bottle

from functions.bucket.request import ScaleRequest
from functions.common import config
from functions.common.kick import Kicker
from functions.common.store import Store, StoreError
from functions.views import overview
from functions.views import pools as choice
from functions.views.status import receiver_status

from . import payload, routing, sos
from .intake import (
    BODY_LIMIT,
    Refused,
    answer,
    authorized,
    check_content_type,
    declared_length,
    read_body,
)

log = logging.getLogger("receiver")

STOP_GRACE_S = 5.0         # SIGTERM → exit within this, even if a worker hangs
WRITE_DEADLINE_S = 8.0     # whole delivery; leaves room to answer inside the promised 10 s on a busy host
WRITE_WORKERS = 10         # = botocore's default connection pool, so no connection is thrown away
SERVER_THREADS = 32        # each slow client holds one; the rest keep serving
SOCKET_TIMEOUT_S = 5       # a client silent this long between two packets is dropped

Clock = Callable[[], float]


# ---------------------------------------------------------------------------- the app


class ReceiverApp(bottle.Bottle):
    """Bottle with JSON error pages, so 404/405 and anything unforeseen answer JSON too."""

    def default_error_handler(self, res: bottle.HTTPError) -> str:
        bottle.response.content_type = "application/json"
        if res.status_code >= 500:
            log.error("%s %s -> %d: %s", bottle.request.method, bottle.request.path,
                      res.status_code, res.exception or res.body)
        else:
            log.info("%s %s -> %d", bottle.request.method, bottle.request.path, res.status_code)
        return json.dumps({"error": str(res.status_line)}) + "\n"


def make_app(cfg: config.Config, store: Store, clock: Clock = time.time, *,
             write_deadline_s: float = WRITE_DEADLINE_S, body_limit: int = BODY_LIMIT,
             write_workers: int = WRITE_WORKERS) -> ReceiverApp:
    """The receiver as a WSGI app; `clock` gives unix seconds for the requests' received time."""
    app = ReceiverApp()
    pool_exec = futures.ThreadPoolExecutor(max_workers=write_workers,
                                           thread_name_prefix="sos-write")
    app.config["receiver.executor"] = pool_exec  # for shutdown by whoever serves the app
    kick = Kicker(cfg.kick_file) if cfg.kick_file else None
    by_name = {one.pool_name: one for one in cfg.each_pool()}
    names = tuple(by_name)

    def chosen(how: str = "pool=NAME") -> config.Config:
        try:
            return by_name[choice.pick(names, bottle.request.query.get("pool"), how)]
        except choice.PoolChoiceError as exc:
            raise Refused(400, str(exc)) from None

    def done(status: int, body: dict[str, Any], started: float, what: str) -> bottle.HTTPResponse:
        # One line per delivery: never the token, never the body.
        req = bottle.request
        log.info("%s %s %d %s from %s in %.0f ms", req.method, req.path, status, what,
                 req.environ.get("REMOTE_ADDR", "?"), (time.monotonic() - started) * 1000)
        return answer(status, body)

    def guard(handler: Callable[[float], bottle.HTTPResponse]) -> Callable[[], bottle.HTTPResponse]:
        def route() -> bottle.HTTPResponse:
            started = time.monotonic()
            try:
                # 413 before 401: answering 401 would make cheroot drain a huge declared body.
                length = declared_length(bottle.request.environ)
                if length is not None and length > body_limit:
                    raise Refused(413, f"body over {body_limit} bytes")
                # Raw environ: bottle.get_header re-decodes as UTF-8 and raises on other bytes.
                if not authorized(bottle.request.environ.get("HTTP_AUTHORIZATION"), cfg.token):
                    raise Refused(401, "missing or wrong bearer token")
                return handler(started)
            except Refused as exc:
                return done(exc.status, {"error": exc.error}, started, "refused")
            except (StoreError, TimeoutError) as exc:
                log.warning("SOS unavailable: %s", exc)
                return done(503, {"error": "state store unavailable, retry later"}, started,
                            "sos-unavailable")
        return route

    def save(requests: list[tuple[str, ScaleRequest]], ignored: dict[str, int],
             extra: dict[str, Any], started: float, source: str) -> bottle.HTTPResponse:
        counts = ",".join(f"{k}={v}" for k, v in sorted(ignored.items())) or "none"
        if not requests:
            return done(200, {"stored": [], "ignored": ignored, **extra,
                              "message": "nothing to scale in this delivery"},
                        started, f"{source} stored=0 ignored={counts}")
        remaining = write_deadline_s - (time.monotonic() - started)
        if remaining <= 0:
            raise TimeoutError("write deadline passed while reading the request")
        stored = sos.store_requests(store, [(by_name[name].pool_id, r) for name, r in requests],
                                pool_exec, remaining)
        if kick is not None:
            kick()  # only now: the tick it starts must find these requests in SOS
        directions = ",".join(sorted({r.direction for _, r in requests}))
        where = "" if len(names) == 1 else " pools=" + ",".join(sorted({n for n, _ in requests}))
        return done(202, {"stored": stored, "ignored": ignored, **extra}, started,
                    f"{source} stored={len(stored)} ({directions}){where} ignored={counts}")

    @guard
    def webhook(started: float) -> bottle.HTTPResponse:
        environ = bottle.request.environ
        # The length check precedes everything so an oversized body is never read.
        body = read_body(environ, body_limit)
        check_content_type(environ)
        try:
            parsed = payload.parse(body, clock())
        except payload.ParseError as exc:
            raise Refused(400, str(exc)) from None
        routed, ignored = routing.route(names, parsed.requests, parsed.pools, parsed.ignored)
        if routing.UNKNOWN_POOL in ignored:
            log.warning("%d scale alert(s) name no configured pool (%s): ignored",
                        ignored[routing.UNKNOWN_POOL], ", ".join(names))
        return save(routed, ignored, routing.bad_annotations(parsed), started, parsed.source)

    def manual(direction: str) -> Callable[[], bottle.HTTPResponse]:
        @guard
        def route(started: float) -> bottle.HTTPResponse:
            raw = bottle.request.query.get("value")
            value = payload.scale_value(raw)
            if raw is not None and value is None:
                raise Refused(400, "value must be a finite number >= 0")
            pool = chosen()
            req = ScaleRequest(direction=direction, source="manual", received_at=clock(),
                               value=value)
            return save([(pool.pool_name, req)], {}, {}, started, "manual")
        return route

    @guard
    def status(started: float) -> bottle.HTTPResponse:
        # The same view as `inspect status` (one row per pool when several pools are configured
        # and none is named), each pool's reads in parallel within the write deadline.
        whole = len(names) > 1 and not bottle.request.query.get("pool")
        targets = list(by_name.values()) if whole else [chosen()]
        now = clock()
        views = sos.read_views(store, targets, now, pool_exec, write_deadline_s)
        if whole:
            body = overview.overview([(one.pool_name, view) for one, view in
                                      zip(targets, views, strict=True)], now)
            return done(200, body, started, "status")
        return done(200, receiver_status(views[0]), started, "status")

    def healthz() -> bottle.HTTPResponse:
        return answer(200, {"ok": True})

    app.route("/webhook", "POST", webhook)
    app.route("/up", ["GET", "POST"], manual("up"))
    app.route("/down", ["GET", "POST"], manual("down"))
    app.route("/status", "GET", status)
    app.route("/healthz", "GET", healthz)
    return app


# ---------------------------------------------------------------------------- the shell


def make_server(app: Any, host: str, port: int, *, threads: int = SERVER_THREADS,
                timeout: int = SOCKET_TIMEOUT_S) -> Any:
    """cheroot's threaded WSGI server (the production server bottle's `server="cheroot"` runs)."""
    from cheroot import wsgi

    return wsgi.Server((host, port), app, numthreads=threads, timeout=timeout,
                       request_queue_size=128, shutdown_timeout=2,
                       server_name="autoscaler-receiver")


def receiver_store(cfg: config.Config) -> Store:
    # Two tries of at most ~5 s each: a hung SOS fails one write inside the delivery
    # deadline instead of racing it.
    return Store.from_config(cfg, connect_timeout=2.0, read_timeout=3.0, attempts=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m functions.scaler.receiver",
                                     description="Webhook receiver for the pool autoscaler.")
    parser.add_argument("--server", choices=("cheroot", "wsgiref"), default="cheroot",
                        help="wsgiref (single-threaded) exists only as a benchmark baseline")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    cfg = config.from_environ_or_exit()
    app = make_app(cfg, receiver_store(cfg), time.time)
    log.info("listening on %s:%d (pool %s, auth %s, server %s, kick %s)", cfg.listen_addr,
             cfg.listen_port, ", ".join(f"{one.pool_name}={one.pool_id}" for one in cfg.each_pool()),
             "on" if cfg.token else "OFF", args.server, cfg.kick_file or "off")
    if args.server == "wsgiref":
        bottle.run(app, server="wsgiref", host=cfg.listen_addr, port=cfg.listen_port, quiet=True)
        return 0

    server = make_server(app, cfg.listen_addr, cfg.listen_port)

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        server.prepare()
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", cfg.listen_addr, cfg.listen_port, exc)
        return 1
    try:
        server.serve()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        # A bounded stop: every answered request is already durable in SOS, so a worker that
        # does not finish within the grace period has nothing left to lose.
        stopper = threading.Thread(target=server.stop, name="stop", daemon=True)
        stopper.start()
        stopper.join(STOP_GRACE_S)
        app.config["receiver.executor"].shutdown(wait=False, cancel_futures=True)
        if stopper.is_alive():
            log.warning("workers still busy after %.0f s; exiting anyway", STOP_GRACE_S)
            logging.shutdown()
            os._exit(0)
    return 0
