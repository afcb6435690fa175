"""`inspect` with several pools (functions/inspect/pools.py) against moto server: `--pool NAME`
on every command, `status` without it lists every pool one line each, and the usage errors that
name the pools; with one pool --pool is optional and changes nothing."""
from __future__ import annotations

import json
from typing import Any

import pytest

from functions.bucket.request import ScaleRequest
from functions.common import keys
from functions.common.store import Store
from tests.conftest import handler_env
from tests.unit.test_inspect import NOW, fill_busy, run

WEB = "00000000-0000-0000-0000-0000000000a1"
API = "00000000-0000-0000-0000-0000000000a2"
POOLS = "web, api"

# Every command, with the arguments it needs (the nested `schedule` verbs included).
COMMANDS = [["status"], ["requests"], ["history"], ["discovery"], ["pause"], ["resume"],
            ["set-bounds", "--min", "2"], ["set-budget", "--daily", "3"], ["schedule", "list"],
            ["schedule", "add", "0 8 * * 1-5", "--min", "2", "--duration", "1h"],
            ["schedule", "remove", "nope"]]
ID = [" ".join(c[:2]) for c in COMMANDS]


@pytest.fixture
def two(moto_endpoint: str, bucket: str) -> dict[str, str]:
    env = handler_env(moto_endpoint, bucket, INSTANCEPOOLS=f"web={WEB}:max=4,api={API}:min=2")
    del env["INSTANCEPOOL_ID"]
    return env


def put_request(store: Store, pool_id: str, direction: str, at: float) -> None:
    req = ScaleRequest(direction, "manual", at)
    store.put(keys.request(pool_id, req.received_ms, req.unique()), req.to_json())


@pytest.mark.parametrize("argv", [c for c in COMMANDS if c != ["status"]], ids=ID[1:])
def test_every_command_but_status_needs_pool_when_several(two: dict[str, str], store: Store,
                                                           argv: list[str]) -> None:
    assert run(two, *argv) == (2, "", f"inspect: error: --pool NAME is required: this deployment "
                                      f"scales {POOLS}\n")
    assert list(store.list_keys("")) == []  # nothing written


@pytest.mark.parametrize("argv", COMMANDS, ids=ID)
def test_an_unknown_pool_is_a_usage_error_naming_the_pools(two: dict[str, str],
                                                           argv: list[str]) -> None:
    assert run(two, *argv, "--pool", "db") == (
        2, "", f"inspect: error: no pool named 'db': this deployment scales {POOLS}\n")


@pytest.mark.parametrize("argv", COMMANDS, ids=ID)
def test_every_command_takes_pool_before_or_after_it(two: dict[str, str], argv: list[str]) -> None:
    # `schedule remove nope` fails on the missing rule (1), after choosing the pool.
    expected = 1 if argv[:2] == ["schedule", "remove"] else 0
    assert run(two, *argv, "--pool", "api")[0] == expected
    assert run(two, "--pool", "web", *argv)[0] == expected


def test_steering_one_pool_leaves_the_other_alone(two: dict[str, str], store: Store) -> None:
    assert run(two, "pause", "--pool", "api")[0] == 0
    assert run(two, "set-bounds", "--pool", "web", "--max", "3")[0] == 0
    api = store.get(keys.settings(API))
    web = store.get(keys.settings(WEB))
    assert api is not None and api.body is not None and api.body["paused"] is True
    assert "max_size" not in api.body or api.body["max_size"] is None
    assert web is not None and web.body is not None and web.body["max_size"] == 3
    assert not web.body.get("paused")
    status = json.loads(run(two, "status", "--pool", "api", "--json")[1])
    assert status["pool_id"] == API and status["paused"] is True
    assert status["hard_bounds"] == {"min": 2, "max": 10}


def test_status_without_pool_lists_every_pool(two: dict[str, str], store: Store) -> None:
    put_request(store, WEB, "up", NOW - 20)
    put_request(store, API, "down", NOW - 10)
    put_request(store, API, "down", NOW - 5)
    assert run(two, "pause", "--pool", "api")[0] == 0
    rc, out, err = run(two, "status")
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("POOL")
    assert lines[1].startswith("web ") and "up 1, down 0" in lines[1] and "1..4" in lines[1]
    assert lines[2].startswith("api ") and "up 0, down 2" in lines[2] and "2..10" in lines[2]
    assert "paused" in lines[2] and "paused" not in lines[1]

    rc, out, err = run(two, "status", "--json")
    doc = json.loads(out)
    assert (rc, err, set(doc)) == (0, "", {"now", "pools", "errors"})
    assert [(r["name"], r["pool_id"], r["pending"], r["paused"]) for r in doc["pools"]] == [
        ("web", WEB, {"up": 1, "down": 0}, False), ("api", API, {"up": 0, "down": 2}, True)]


def test_status_without_pool_exits_1_on_any_pools_unreadable_object(two: dict[str, str],
                                                                     store: Store) -> None:
    store.s3.put_object(Bucket=store.bucket, Key=keys.scaler_state(API), Body=b"{not json")
    rc, out, err = run(two, "status")
    assert rc == 1 and out.splitlines()[2].startswith("api ") and "1 error" in out
    assert err.startswith(f"inspect: {keys.scaler_state(API)}: ")


# --- one pool: --pool is optional and changes nothing --------------------------------------------

def test_one_pool_status_is_the_same_with_or_without_its_name(env: dict[str, str],
                                                              store: Store) -> None:
    fill_busy(store)
    full = run(env, "status")
    assert full[0] == 0 and full[1].startswith("pool ")  # the full view, as always
    assert run(env, "status", "--pool", "default") == full
    assert run(env, "--pool", "default", "status", "--json") == run(env, "status", "--json")


@pytest.mark.parametrize("argv", COMMANDS, ids=ID)
def test_one_pool_refuses_another_name(env: dict[str, str], argv: list[str]) -> None:
    assert run(env, *argv, "--pool", "web") == (
        2, "", "inspect: error: no pool named 'web': this deployment scales default\n")


def test_one_named_pool_answers_to_its_name(env: dict[str, str], store: Store) -> None:
    named: dict[str, Any] = {**env, "INSTANCEPOOL_NAME": "app"}
    assert run(named, "pause", "--pool", "app")[0] == 0
    stored = store.get(keys.settings(env["INSTANCEPOOL_ID"]))
    assert stored is not None and stored.body is not None and stored.body["paused"] is True
    assert run(named, "resume", "--pool", "default")[0] == 2
