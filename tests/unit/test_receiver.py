"""The receiver's HTTP contract (functions/scaler/receiver/server.py) against a real moto S3 server.

Most tests call the bottle app as plain WSGI in-process; durability, SOS outages and slow
clients go through the real cheroot server on loopback.
"""
from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from wsgiref.util import setup_testing_defaults

import pytest

from functions.common import config, keys
from functions.common import kick as kick_mod
from functions.common.kick import Kicker
from functions.common.store import Store
from functions.scaler.receiver import server as receiver
from tests import httpjson
from tests.conftest import handler_env
from tests.tcpproxy import TcpProxy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOKEN = "s3cret-token-value"
NOW = 1_740_823_200.0
Answer = tuple[int, dict[str, str], Any]


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


class NoRead(io.RawIOBase):
    """A request stream that must never be read (the answer comes from the headers)."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("body was read")


def call(app: Any, method: str, path: str, body: bytes | None = b"",
         headers: dict[str, str] | None = None, *, stream: Any = None,
         length: str | None = "auto") -> Answer:
    """One request through the WSGI interface; returns status, headers and decoded JSON."""
    target = urlsplit(path)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": target.path, "QUERY_STRING": target.query,
        "wsgi.input": stream if stream is not None else io.BytesIO(body or b""),
        "wsgi.errors": io.StringIO(), "REMOTE_ADDR": "127.0.0.1",
    }
    if length == "auto":
        if body:
            environ["CONTENT_LENGTH"] = str(len(body))
    elif length is not None:
        environ["CONTENT_LENGTH"] = length
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    setup_testing_defaults(environ)
    got: dict[str, Any] = {}

    def start_response(status: str, hdrs: list[tuple[str, str]], exc_info: Any = None) -> None:
        got["status"] = int(status[:3])
        got["headers"] = dict(hdrs)

    raw = b"".join(app(environ, start_response))
    assert got["headers"]["Content-Type"].startswith("application/json"), raw
    return got["status"], got["headers"], json.loads(raw) if raw else None


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


@pytest.fixture
def tcfg(env: dict[str, str]) -> config.Config:
    return config.load({**env, "SCALER_TOKEN": TOKEN})


@pytest.fixture
def app(tcfg: config.Config, store: Store) -> Any:
    return receiver.make_app(tcfg, store, lambda: NOW)


def stored_bodies(store: Store, cfg: config.Config) -> dict[str, dict[str, Any]]:
    return {item.key: item.body for item in store.read_all(keys.requests_prefix(cfg.pool_id))}


# ---------------------------------------------------------------------------- 2xx


def test_grafana_delivery_is_stored_before_202(app: Any, store: Store, tcfg: config.Config) -> None:
    status, _, body = call(app, "POST", "/webhook", fixture("grafana_firing_up"), bearer())
    assert status == 202
    assert body["ignored"] == {}
    assert len(body["stored"]) == 1
    key = body["stored"][0]
    assert key.startswith(f"requests/{tcfg.pool_id}/{int(NOW * 1000):013d}-57c6d9296de2ad39-")
    saved = stored_bodies(store, tcfg)
    assert saved[key] == {"schema": 1, "direction": "up", "source": "grafana", "received_at": NOW,
                          "alertname": "PoolCpuHigh", "fingerprint": "57c6d9296de2ad39",
                          "value": 0.93, "members": 3, "trend": 0.0042, "cpu": 0.931}


def test_alertmanager_mixed_delivery(app: Any, store: Store, tcfg: config.Config) -> None:
    status, _, body = call(app, "POST", "/webhook", fixture("alertmanager_mixed"), bearer())
    assert status == 202
    assert body["ignored"] == {"resolved": 1, "no_scale_label": 1}
    saved = stored_bodies(store, tcfg)
    assert sorted(saved) == sorted(body["stored"])
    assert sorted((b["direction"], b["source"], b["value"], b["members"]) for b in saved.values()) == [
        ("down", "alertmanager", 0.11, 4), ("up", "alertmanager", None, None)]


def test_bad_scale_value_is_stored_without_value_and_reported(app: Any, store: Store,
                                                              tcfg: config.Config) -> None:
    status, _, body = call(app, "POST", "/webhook", fixture("grafana_mixed"), bearer())
    assert status == 202
    assert body["bad_scale_value"] == 1
    # the leftover template in scale_members is reported the same way, and the alert still scales
    assert body["bad_scale_members"] == 1
    assert [(b["value"], b["members"]) for b in stored_bodies(store, tcfg).values()] == [(None, None)]


@pytest.mark.parametrize("annotation,good,field,stored,bad", [
    ("scale_trend", "0.01250", "trend", 0.0125, '{{ printf "%.5f" $values.E.Value }}'),
    ("scale_cpu", "0.817", "cpu", 0.817, '{{ printf "%.3f" $values.F.Value }}'),
])
def test_an_optional_figure_is_stored_and_a_bad_one_is_counted_without_losing_the_request(
        app: Any, store: Store, tcfg: config.Config, annotation: str, good: str, field: str,
        stored: float, bad: str) -> None:
    doc = json.loads(fixture("grafana_firing_up"))
    doc["alerts"][0]["annotations"][annotation] = good
    status, _, body = call(app, "POST", "/webhook", json.dumps(doc).encode(), bearer())
    assert status == 202 and f"bad_{annotation}" not in body
    doc["alerts"][0]["annotations"][annotation] = bad   # a template Grafana left unexpanded
    status, _, body = call(app, "POST", "/webhook", json.dumps(doc).encode(), bearer())
    assert status == 202 and body[f"bad_{annotation}"] == 1
    saved = stored_bodies(store, tcfg).values()
    assert sorted((b["direction"], b["value"], b[field] is None) for b in saved) == [
        ("up", 0.93, False), ("up", 0.93, True)]
    assert [b[field] for b in saved if b[field] is not None] == [stored]


@pytest.mark.parametrize("name,ignored", [
    ("grafana_resolved", {"resolved": 1}),
    ("grafana_nodata", {"datasource_alert": 1}),
])
def test_nothing_to_scale_is_200_and_writes_nothing(app: Any, store: Store, tcfg: config.Config,
                                                     name: str, ignored: dict[str, int]) -> None:
    status, _, body = call(app, "POST", "/webhook", fixture(name), bearer())
    assert (status, body["stored"], body["ignored"]) == (200, [], ignored)
    assert "nothing to scale" in body["message"]
    assert stored_bodies(store, tcfg) == {}


def test_redelivery_stores_a_second_request(app: Any, store: Store, tcfg: config.Config) -> None:
    # A re-sent alert is a new request; the tick consumes all pending at once, so they never stack.
    first = call(app, "POST", "/webhook", fixture("grafana_firing_up"), bearer())[2]["stored"]
    second = call(app, "POST", "/webhook", fixture("grafana_firing_up"), bearer())[2]["stored"]
    assert first != second
    assert sorted(stored_bodies(store, tcfg)) == sorted(first + second)


def test_existing_object_counts_as_stored(app: Any, store: Store, tcfg: config.Config,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.bucket import request as scale_request
    monkeypatch.setattr(scale_request.ScaleRequest, "unique", lambda self: "fixed")
    first = call(app, "POST", "/webhook", fixture("grafana_firing_up"), bearer())
    again = call(app, "POST", "/webhook", fixture("grafana_firing_up"), bearer())
    assert first[0] == again[0] == 202
    assert first[2]["stored"] == again[2]["stored"]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("direction", ["up", "down"])
def test_manual_requests(app: Any, store: Store, tcfg: config.Config, method: str,
                         direction: str) -> None:
    status, _, _body = call(app, method, f"/{direction}", b"", bearer())
    assert status == 202
    (saved,) = stored_bodies(store, tcfg).values()
    assert (saved["direction"], saved["source"], saved["value"]) == (direction, "manual", None)


def test_manual_request_with_value(app: Any, store: Store, tcfg: config.Config) -> None:
    assert call(app, "POST", "/up?value=1.7", b"", bearer())[0] == 202
    assert [b["value"] for b in stored_bodies(store, tcfg).values()] == [1.7]
    status, _, body = call(app, "GET", "/down?value=-1", b"", bearer())
    assert status == 400 and "value" in body["error"]


def test_healthz_is_open(app: Any) -> None:
    assert call(app, "GET", "/healthz")[:3:2] == (200, {"ok": True})


def test_status_without_state(app: Any, tcfg: config.Config) -> None:
    status, _, body = call(app, "GET", "/status", None, bearer())
    assert status == 200
    assert body["state_found"] is False
    assert body["pending"] == {"up": {"count": 0, "oldest_age_s": None},
                               "down": {"count": 0, "oldest_age_s": None}, "unreadable": 0}
    assert body["bounds"] == {"min": tcfg.min_size, "max": tcfg.max_size}


def test_status_with_state_and_pending(tcfg: config.Config, store: Store) -> None:
    clock = iter([NOW - 30, NOW - 10, NOW - 5, NOW])
    app = receiver.make_app(tcfg, store, lambda: next(clock))
    call(app, "GET", "/up", None, bearer())
    call(app, "GET", "/up", None, bearer())
    call(app, "GET", "/down", None, bearer())
    store.put(keys.request(tcfg.pool_id, 1, "junk"), {"direction": "sideways"})
    state = {"schema": 3, "revision": 3, "last_tick_at": NOW - 40, "last_tick_by": "vm",
             "last_action": {"at": NOW - 400, "action": "scale-up", "from_size": 1, "to_size": 2,
                             "reason": "r", "evicted": [], "operation_id": None, "requests": 1},
             "last_decision": {"at": NOW - 40, "action": "none", "reason": "cooldown"},
             "cooldown_until": NOW + 20, "pool": {"size": 2, "state": "running", "serving": 2,
                                                  "observed_at": NOW - 40},
             "intent": None, "refusal": {"at": NOW - 100, "message": "quota"},
             "bounds": {"min": 1, "max": 5}, "paused": True}
    store.put(keys.scaler_state(tcfg.pool_id), state, if_none_match=True)
    status, _, body = call(app, "GET", "/status", None, bearer())
    assert status == 200
    assert body["pending"] == {"up": {"count": 2, "oldest_age_s": 30.0},
                               "down": {"count": 1, "oldest_age_s": 5.0}, "unreadable": 1}
    assert body["pool"]["size"] == 2 and body["pool"]["state"] == "running"
    assert body["last_action"]["action"] == "scale-up"
    assert body["refusal"]["message"] == "quota"
    assert body["paused"] is True and body["bounds"] == {"min": 1, "max": 5}


# ---------------------------------------------------------------------------- 4xx


ROUTES = [("POST", "/webhook"), ("GET", "/up"), ("POST", "/up"), ("GET", "/down"),
          ("POST", "/down"), ("GET", "/status")]


@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
    f"Bearer {TOKEN[:-1]}", "Bearer \xe9\xe8", f"{TOKEN}",
])
def test_missing_or_wrong_token_is_401(app: Any, store: Store, tcfg: config.Config,
                                       method: str, path: str, header: str | None) -> None:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Authorization"] = header
    status, _, body = call(app, method, path, fixture("grafana_firing_up"), headers)
    assert status == 401 and "token" in body["error"]
    assert stored_bodies(store, tcfg) == {}


def test_token_scheme_is_case_insensitive(app: Any) -> None:
    assert call(app, "POST", "/up", b"", {"Authorization": f"bearer {TOKEN}"})[0] == 202


def test_no_token_configured_means_open(cfg: config.Config, store: Store) -> None:
    app = receiver.make_app(cfg, store, lambda: NOW)
    assert call(app, "POST", "/webhook", fixture("grafana_firing_up"))[0] == 202


@pytest.mark.parametrize("body", [b"{", b"not json", b"\xff\xfe", b"[]", b'{"alerts": 1}',
                                  b'{"alerts": [{"status": "firing", "labels": {"scale": 1}}]}'])
def test_malformed_is_400(app: Any, body: bytes) -> None:
    status, _, answer = call(app, "POST", "/webhook", body, bearer())
    assert status == 400 and answer["error"]


def test_empty_body_is_400(app: Any) -> None:
    assert call(app, "POST", "/webhook", b"", bearer())[0] == 400


def test_bad_content_length_is_400(app: Any) -> None:
    assert call(app, "POST", "/webhook", b"{}", bearer(), length="12x")[0] == 400
    assert call(app, "POST", "/webhook", b"{}", bearer(), length="10")[0] == 400  # short body


def test_non_json_content_type_is_415(app: Any) -> None:
    headers = {**bearer(), "Content-Type": "text/plain"}
    assert call(app, "POST", "/webhook", fixture("grafana_firing_up"), headers)[0] == 415
    headers["Content-Type"] = "application/json; charset=utf-8"
    assert call(app, "POST", "/webhook", fixture("grafana_firing_up"), headers)[0] == 202


def test_oversized_declared_length_is_413_without_reading(app: Any) -> None:
    for headers in (bearer(), {}):  # also before the token check
        status, _, body = call(app, "POST", "/webhook", None, headers, stream=NoRead(),
                               length=str(receiver.BODY_LIMIT + 1))
        assert status == 413 and "bytes" in body["error"]


def test_oversized_chunked_body_is_413_and_read_is_capped(app: Any) -> None:
    stream = io.BytesIO(b" " * (10 * receiver.BODY_LIMIT))
    headers = {**bearer(), "Transfer-Encoding": "chunked"}
    assert call(app, "POST", "/webhook", None, headers, stream=stream, length=None)[0] == 413
    assert stream.tell() <= receiver.BODY_LIMIT + 1


def test_chunked_body_within_limit_is_read(app: Any) -> None:
    headers = {**bearer(), "Transfer-Encoding": "chunked"}
    stream = io.BytesIO(fixture("alertmanager_firing_up"))
    assert call(app, "POST", "/webhook", None, headers, stream=stream, length=None)[0] == 202


def test_body_at_the_limit_is_accepted(app: Any) -> None:
    body = fixture("alertmanager_firing_up")
    padded = body[:-2] + b" " * (receiver.BODY_LIMIT - len(body)) + body[-2:]
    assert len(padded) == receiver.BODY_LIMIT
    assert call(app, "POST", "/webhook", padded, bearer())[0] == 202


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/nope", 404), ("POST", "/", 404), ("GET", "/webhook", 405), ("PUT", "/webhook", 405),
    ("POST", "/healthz", 405), ("DELETE", "/up", 405), ("POST", "/status", 405),
])
def test_unknown_routes_and_methods_answer_json(app: Any, method: str, path: str,
                                                status: int) -> None:
    got, headers, body = call(app, method, path, b"", bearer())
    assert got == status and body["error"]
    if status == 405:
        assert headers.get("Allow")


def test_unexpected_error_is_a_json_500_not_a_crash(tcfg: config.Config, store: Store) -> None:
    def broken_clock() -> float:
        raise RuntimeError("boom")
    app = receiver.make_app(tcfg, store, broken_clock)
    status, _, body = call(app, "POST", "/up", b"", bearer())
    assert status == 500 and body["error"]


def test_one_log_line_per_delivery_without_the_token(app: Any, caplog: pytest.LogCaptureFixture
                                                     ) -> None:
    with caplog.at_level(logging.INFO, logger="receiver"):
        call(app, "POST", "/webhook", fixture("alertmanager_mixed"), bearer())
        call(app, "POST", "/webhook", b"{}", bearer("wrong-" + TOKEN))
    lines = [r.getMessage() for r in caplog.records if r.name == "receiver"]
    assert len(lines) == 2
    assert "202" in lines[0] and "stored=2" in lines[0] and "resolved=1" in lines[0]
    assert "401" in lines[1]
    assert TOKEN not in caplog.text


# ---------------------------------------------------------------------------- real server


class Served:
    def __init__(self, app: Any, **server_args: Any) -> None:
        self.server = receiver.make_server(app, "127.0.0.1", 0, **server_args)
        self.server.prepare()
        self.port = int(self.server.bind_addr[1])
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 15) -> tuple[int, Any]:
        return httpjson.request(self.port, method, path, body, headers, timeout)

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def served(app: Any) -> Iterator[Served]:
    srv = Served(app)
    yield srv
    srv.stop()


def test_object_exists_when_the_answer_arrives(served: Served, tcfg: config.Config) -> None:
    import boto3
    s3 = boto3.client("s3", endpoint_url=tcfg.sos_endpoint, region_name=tcfg.zone,
                      aws_access_key_id=tcfg.key, aws_secret_access_key=tcfg.secret)
    for _ in range(5):
        status, body = served.request("POST", "/webhook", fixture("alertmanager_mixed"), bearer())
        assert status == 202
        for key in body["stored"]:
            # A separate client, right after the answer: the write was done before the 2xx.
            assert json.loads(s3.get_object(Bucket=tcfg.bucket, Key=key)["Body"].read())["schema"] == 1


def test_real_server_oversized_and_chunked(served: Served) -> None:
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000000000\r\n\r\n")
    head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 413")
    sock.close()
    body = fixture("grafana_firing_up")
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 100]), body[i:i + 100])
                       for i in range(0, len(body), 100)) + b"0\r\n\r\n"
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + TOKEN.encode() +
                 b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    assert data.startswith(b"HTTP/1.1 202"), data[:200]
    sock.close()


# -- slow clients


def slow_client(port: int, stop: threading.Event, interval: float, headers_too: bool,
                started: threading.Semaphore) -> None:
    """Slowloris: the body (and with headers_too, the headers as well) one byte at a time."""
    head = (b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n")
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if headers_too:
            sock.sendall(head[:1])
            started.release()
            for i in range(1, len(head)):
                if stop.is_set():
                    break
                sock.sendall(head[i:i + 1])
                stop.wait(interval)
        else:
            sock.sendall(head)
            started.release()
        while not stop.is_set():
            sock.sendall(b" ")
            stop.wait(interval)
        sock.close()
    except OSError:
        pass


def test_slow_clients_do_not_block_others(app: Any) -> None:
    # The server never drops a slow client here (socket timeout 120 s), so the requests below
    # can only be answered if the 20 slow ones, all in flight, do not hold every worker.
    srv = Served(app, timeout=120)
    stop = threading.Event()
    started = threading.Semaphore(0)
    slow = [threading.Thread(target=slow_client, args=(srv.port, stop, 0.2, i % 2 == 0, started),
                             daemon=True) for i in range(20)]
    for thread in slow:
        thread.start()
    try:
        for _ in slow:
            assert started.acquire(timeout=60)
        for _ in range(10):
            status, _ = srv.request("POST", "/webhook", fixture("grafana_firing_up"), bearer(),
                                    timeout=60)
            assert status == 202
            assert srv.request("GET", "/healthz", timeout=60)[0] == 200
        assert all(thread.is_alive() for thread in slow)  # still sending: none was answered
    finally:
        stop.set()
        for thread in slow:
            thread.join(5)
        srv.stop()


def test_a_stalled_client_is_dropped_after_the_socket_timeout(app: Any) -> None:
    srv = Served(app, threads=1, timeout=1)
    try:
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        # The only worker is held by the stalled client, which never sends the rest: this is
        # answered only once the server drops it after its 1 s socket timeout.
        assert srv.request("GET", "/healthz", timeout=60)[0] == 200
        sock.close()
    finally:
        srv.stop()


# -- SOS outage


def test_sos_outage_is_503_within_10_s_then_redelivery_is_stored(
        moto_endpoint: str, bucket: str) -> None:
    proxy = TcpProxy(moto_endpoint)
    try:
        cfg = config.load(handler_env(proxy.endpoint, bucket, SCALER_TOKEN=TOKEN))
        store = receiver.receiver_store(cfg)  # the production client timeouts
        srv = Served(receiver.make_app(cfg, store, time.time))
        try:
            assert srv.request("POST", "/up", b"", bearer())[0] == 202  # warm connections
            proxy.blackhole = True
            # Answered by the write deadline (within the promised 10 s; how fast is measured by
            # benchmarks, not asserted here), long before the sender's own 30 s timeout.
            assert receiver.WRITE_DEADLINE_S < 10
            status, body = srv.request("POST", "/webhook", fixture("grafana_firing_up"), bearer(),
                                       timeout=120)
            assert status == 503 and "unavailable" in body["error"]
            proxy.blackhole = False
            status, body = srv.request("POST", "/webhook", fixture("grafana_firing_up"), bearer())
            assert status == 202
            direct = Store.from_config(config.load(handler_env(moto_endpoint, bucket)))
            assert direct.get(body["stored"][0]) is not None
        finally:
            srv.stop()
    finally:
        proxy.close()


def test_write_deadline_answers_503_even_when_the_client_would_wait_longer(
        moto_endpoint: str, bucket: str, caplog: pytest.LogCaptureFixture) -> None:
    proxy = TcpProxy(moto_endpoint)
    proxy.blackhole = True
    try:
        cfg = config.load(handler_env(proxy.endpoint, bucket))
        slow_store = Store.from_config(cfg, connect_timeout=300, read_timeout=300, attempts=1)
        app = receiver.make_app(cfg, slow_store, time.time, write_deadline_s=0.5)
        with caplog.at_level(logging.WARNING, logger="receiver"):
            status, _, _body = call(app, "POST", "/webhook", fixture("alertmanager_mixed"))
            assert status == 503
            status, _, _ = call(app, "GET", "/status")
            assert status == 503
        # Both ended by the deadline, not by the store's (300 s) timeouts.
        reasons = [r.getMessage() for r in caplog.records if "SOS unavailable" in r.getMessage()]
        assert len(reasons) == 2 and "did not confirm" in reasons[0]
        assert "did not answer the status reads in time" in reasons[1]
    finally:
        proxy.close()


def test_sos_refusing_connections_is_503(bucket: str) -> None:
    from tests.conftest import free_port
    cfg = config.load(handler_env(f"http://127.0.0.1:{free_port()}", bucket))
    app = receiver.make_app(cfg, receiver.receiver_store(cfg), time.time)
    assert call(app, "POST", "/down", b"")[0] == 503
    assert call(app, "GET", "/status")[0] == 503


def test_missing_bucket_is_503(moto_endpoint: str) -> None:
    cfg = config.load(handler_env(moto_endpoint, "no-such-bucket-here"))
    app = receiver.make_app(cfg, receiver.receiver_store(cfg), time.time)
    assert call(app, "POST", "/webhook", fixture("grafana_firing_up"))[0] == 503


# -- the kick file (SCALER_KICK_FILE): a tick starts as soon as a request is stored


@pytest.fixture
def kick_file(tmp_path: Path) -> Path:
    return tmp_path / "run" / "kick"


@pytest.fixture
def kicked_app(env: dict[str, str], store: Store, kick_file: Path) -> Any:
    kick_file.parent.mkdir()
    cfg = config.load({**env, "SCALER_TOKEN": TOKEN, "SCALER_KICK_FILE": str(kick_file)})
    return receiver.make_app(cfg, store, lambda: NOW)


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/webhook", fixture("grafana_firing_up")), ("POST", "/up", b""), ("GET", "/down", b"")])
def test_stored_request_touches_the_kick_file(kicked_app: Any, kick_file: Path, method: str,
                                              path: str, body: bytes) -> None:
    assert call(kicked_app, method, path, body, bearer())[0] == 202
    assert kick_file.exists()


def test_kick_bumps_the_mtime_of_an_existing_file(kicked_app: Any, kick_file: Path) -> None:
    import os  # local: keeps this block apart from the module's imports

    kick_file.touch()
    old = time.time_ns() - 10**9
    os.utime(kick_file, ns=(old, old))
    assert call(kicked_app, "POST", "/up", b"", bearer())[0] == 202
    assert kick_file.stat().st_mtime_ns > old


@pytest.mark.parametrize("method,path,body,headers,status", [
    ("POST", "/webhook", fixture("grafana_resolved"), bearer(), 200),   # nothing to scale
    ("POST", "/webhook", b"{", bearer(), 400),
    ("POST", "/up", b"", bearer("wrong"), 401),
    ("POST", "/up?value=-1", b"", bearer(), 400),
    ("GET", "/status", b"", bearer(), 200),
    ("GET", "/healthz", b"", {}, 200),
])
def test_no_kick_without_a_stored_request(kicked_app: Any, kick_file: Path, method: str, path: str,
                                          body: bytes, headers: dict[str, str], status: int) -> None:
    assert call(kicked_app, method, path, body, headers)[0] == status
    assert not kick_file.exists()


def test_no_kick_when_sos_fails(bucket: str, tmp_path: Path) -> None:
    from tests.conftest import free_port
    kick = tmp_path / "kick"
    cfg = config.load(handler_env(f"http://127.0.0.1:{free_port()}", bucket,
                                  SCALER_KICK_FILE=str(kick)))
    app = receiver.make_app(cfg, receiver.receiver_store(cfg), time.time)
    assert call(app, "POST", "/up", b"")[0] == 503
    assert not kick.exists()


def test_an_unwritable_kick_file_never_fails_the_answer(env: dict[str, str], store: Store,
                                                        tmp_path: Path) -> None:
    # The directory does not exist (e.g. RuntimeDirectory missing): the request is still stored.
    cfg = config.load({**env, "SCALER_KICK_FILE": str(tmp_path / "absent" / "kick")})
    app = receiver.make_app(cfg, store, lambda: NOW)
    assert call(app, "POST", "/up", b"")[0] == 202
    assert len(stored_bodies(store, cfg)) == 1


def test_kicks_within_the_interval_collapse_into_one_deferred_kick(
        monkeypatch: pytest.MonkeyPatch) -> None:
    touched: list[float] = []
    scheduled: list[tuple[float, Any]] = []
    now = [100.0]
    monkeypatch.setattr(kick_mod, "touch", lambda path: touched.append(now[0]))
    kicker = Kicker("/run/kick", min_interval_s=3.0, clock=lambda: now[0],
                    schedule=lambda delay, action: scheduled.append((delay, action)))
    kicker()
    assert touched == [100.0] and scheduled == []
    now[0] = 101.0
    kicker()
    now[0] = 102.5
    kicker()  # covered by the deferred kick already waiting
    assert touched == [100.0] and [delay for delay, _ in scheduled] == [2.0]
    now[0] = 103.0
    scheduled.pop()[1]()  # the interval has ended: the one deferred kick for both calls
    assert touched == [100.0, 103.0]
    now[0] = 104.0
    kicker()  # within the interval of the deferred kick: deferred again
    assert touched == [100.0, 103.0] and [delay for delay, _ in scheduled] == [2.0]
    now[0] = 106.0
    scheduled.pop()[1]()
    now[0] = 120.0
    kicker()  # long after the last kick: at once
    assert touched == [100.0, 103.0, 106.0, 120.0] and scheduled == []
