"""The real `python -m functions.scaler.receiver` process on loopback against moto server."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.common import config
from functions.common.store import Store
from sandbox import procs
from tests.conftest import free_port, handler_env
from tests.httpjson import request
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
TOKEN = "process-test-token"


def start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    full = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, **env}
    return subprocess.Popen([sys.executable, "-m", "functions.scaler.receiver", *args], cwd=ROOT,
                            env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_healthy(proc: subprocess.Popen[bytes], port: int) -> None:
    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"receiver exited {proc.returncode}: {proc.stderr.read()!r}")
        try:
            return request(port, "GET", "/healthz")[0] == 200
        except OSError:
            return False

    wait_for("the receiver to answer /healthz", healthy)


@pytest.fixture
def running(moto_endpoint: str, bucket: str) -> Iterator[tuple[int, Store, subprocess.Popen[bytes]]]:
    port = free_port()
    env = handler_env(moto_endpoint, bucket, LISTEN_PORT=str(port), SCALER_TOKEN=TOKEN)
    proc = start(env)
    try:
        wait_healthy(proc, port)
        yield port, Store.from_config(config.load(env)), proc
    finally:
        procs.stop(proc)


def test_process_serves_and_stores(running: tuple[int, Store, subprocess.Popen[bytes]]) -> None:
    port, store, proc = running
    assert request(port, "GET", "/healthz") == (200, {"ok": True})
    body = (FIXTURES / "grafana_firing_up.json").read_bytes()
    status, answer = request(port, "POST", "/webhook", body,
                             {"Authorization": f"Bearer {TOKEN}",
                              "Content-Type": "application/json"})
    assert status == 202
    (key,) = answer["stored"]
    saved = store.get(key)
    assert saved is not None and saved.body is not None
    assert (saved.body["direction"], saved.body["source"]) == ("up", "grafana")

    status, answer = request(port, "POST", "/webhook", body, {"Authorization": "Bearer nope"})
    assert status == 401 and "token" in answer["error"]
    assert request(port, "GET", "/status")[0] == 401
    status, view = request(port, "GET", "/status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and view["pending"]["up"]["count"] == 1

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    log = proc.stderr.read().decode()
    assert "POST /webhook 202" in log and "POST /webhook 401" in log
    assert TOKEN not in log


def test_config_error_exits_2_naming_the_variable(moto_endpoint: str, bucket: str) -> None:
    env = handler_env(moto_endpoint, bucket, LISTEN_PORT=str(free_port()), SCALER_TOKEN=TOKEN)
    del env["SOS_BUCKET"]
    proc = start(env)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "SOS_BUCKET" in lines[0]
    assert TOKEN not in err.decode() and env["EXOSCALE_SECRET"] not in err.decode()


def test_bad_port_exits_2(moto_endpoint: str, bucket: str) -> None:
    proc = start(handler_env(moto_endpoint, bucket, LISTEN_PORT="99999"))
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and "LISTEN_PORT" in err.decode()


def test_two_pools_process_routes_by_pool(moto_endpoint: str, bucket: str) -> None:
    web, api = "00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000a2"
    port = free_port()
    env = handler_env(moto_endpoint, bucket, LISTEN_PORT=str(port), SCALER_TOKEN=TOKEN,
                      INSTANCEPOOLS=f"web={web},api={api}")
    del env["INSTANCEPOOL_ID"]
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    proc = start(env)
    try:
        wait_healthy(proc, port)
        body = (FIXTURES / "pools" / "grafana_two_pools.json").read_bytes()
        status, answer = request(port, "POST", "/webhook", body, auth)
        assert status == 202 and answer["ignored"] == {"resolved": 1, "unknown_pool": 2}
        assert sorted(k.split("/")[1] for k in answer["stored"]) == sorted([web, api])
        status, answer = request(port, "POST", "/up", b"", auth)
        assert status == 400 and answer["error"].endswith("this deployment scales web, api")
        assert request(port, "POST", "/up?pool=web", b"", auth)[0] == 202
        status, view = request(port, "GET", "/status", headers=auth)
        assert status == 200
        assert [(r["name"], r["pending"]["up"], r["pending"]["down"]) for r in view["pools"]] == [
            ("web", 2, 0), ("api", 0, 1)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        log = proc.stderr.read().decode()
        assert f"(pool web={web}, api={api}," in log
        assert "2 scale alert(s) name no configured pool (web, api): ignored" in log
        assert "pools=api,web" in log
    finally:
        procs.stop(proc)
