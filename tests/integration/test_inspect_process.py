"""The real `python -m functions.inspect` process against moto server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from functions.common import keys
from functions.common.store import Store

ROOT = Path(__file__).resolve().parents[2]


def inspect(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    full = {"PATH": os.environ.get("PATH", ""), "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull, **env}
    return subprocess.run([sys.executable, "-m", "functions.inspect", *argv], cwd=ROOT,
                          env=full, capture_output=True, text=True, timeout=30)


def test_status_process_fresh_then_after_a_tick(env: dict[str, str], store: Store) -> None:
    done = inspect(env, "status")
    assert done.returncode == 0 and done.stderr == ""
    assert "no tick yet" in done.stdout and "no discovery yet" in done.stdout

    pool = env["INSTANCEPOOL_ID"]
    now = time.time()
    store.put(keys.scaler_state(pool), {
        "schema": 3, "revision": 1, "last_tick_at": now - 3, "last_tick_by": "mon-1/1/aa",
        "last_action": None, "last_decision": {"at": now - 3, "action": "none",
                                               "reason": "no pending requests"},
        "cooldown_until": None, "pool": {"size": 2, "state": "running", "serving": 2,
                                         "observed_at": now - 3},
        "intent": None, "refusal": None, "bounds": {"min": 1, "max": 10}, "paused": False})
    done = inspect(env, "status", "--json")
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    assert view["tick"]["by"] == "mon-1/1/aa" and view["last_decision"]["action"] == "none"


def test_process_errors_are_one_line_without_traceback(env: dict[str, str]) -> None:
    done = inspect({**env, "SOS_BUCKET": "not-this-bucket"}, "status")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("inspect: error: bucket 'not-this-bucket' does not exist")
    assert done.stderr.count("\n") == 1
    missing = {k: v for k, v in env.items() if k != "EXOSCALE_SECRET"}
    done = inspect(missing, "status")
    assert done.returncode == 2
    assert done.stderr == "configuration error: EXOSCALE_SECRET is required but not set\n"


def test_inspect_reads_what_the_real_tick_writes_and_the_tick_honours_inspect(
        moto_endpoint: str, bucket: str) -> None:
    # Contract check against the other side: the real tick (in-process, API emulator).
    from functions.common.exo import PoolApi, make_client
    from functions.scaler.tick.run import Tick
    from tests.integration.tickkit import add_request, cfg_for, env_for, start_emulator

    emu, pool_id = start_emulator(2)
    try:
        env = env_for(moto_endpoint, bucket, emu, pool_id, SCALER_COOLDOWN_S="0")
        cfg = cfg_for(env)
        store = Store.from_config(cfg)
        assert inspect(env, "set-bounds", "--min", "2", "--max", "3").returncode == 0
        add_request(store, pool_id, "up")
        Tick(cfg, store, PoolApi(make_client(cfg), pool_id)).run()
        view = json.loads(inspect(env, "status", "--json").stdout)
        assert view["errors"] == [] and view["last_action"]["action"] == "scale-up"
        assert (view["last_action"]["from_size"], view["last_action"]["to_size"]) == (2, 3)
        assert view["bounds"] == {"min": 2, "max": 3, "source": "last-tick"}
        history = json.loads(inspect(env, "history", "--json").stdout)
        assert [r["action"] for r in history["records"]] == ["scale-up"]
        assert history["records"][0]["requests"] == 1 and history["errors"] == []

        assert inspect(env, "pause").returncode == 0
        add_request(store, pool_id, "up", fingerprint="later")
        Tick(cfg, store, PoolApi(make_client(cfg), pool_id)).run()
        view = json.loads(inspect(env, "status", "--json").stdout)
        assert view["paused"] is True and view["tick"]["paused"] is True
        assert view["pending"]["up"] == 1 and view["errors"] == []
    finally:
        emu.stop()


def test_two_pools_process(env: dict[str, str], store: Store) -> None:
    web, api = "00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000a2"
    two = {k: v for k, v in env.items() if k != "INSTANCEPOOL_ID"}
    two["INSTANCEPOOLS"] = f"web={web},api={api}:min=2"
    done = inspect(two, "pause")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "inspect: error: --pool NAME is required: this deployment scales web, api\n"
    done = inspect(two, "status", "--pool", "db")
    assert done.returncode == 2
    assert done.stderr == "inspect: error: no pool named 'db': this deployment scales web, api\n"

    assert inspect(two, "--pool", "api", "pause").returncode == 0
    done = inspect(two, "status")
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["POOL", "web", "api"]
    assert "paused" in lines[2] and "paused" not in lines[1]
    view = json.loads(inspect(two, "status", "--json").stdout)
    assert [(r["name"], r["pool_id"], r["paused"]) for r in view["pools"]] == [
        ("web", web, False), ("api", api, True)]
    full = json.loads(inspect(two, "status", "--pool", "api", "--json").stdout)
    assert full["pool_id"] == api and full["paused"] is True and full["bounds"]["min"] == 2
    settings = store.get(keys.settings(api))
    assert settings is not None and settings.body is not None and settings.body["paused"] is True
    assert store.get(keys.settings(web)) is None
