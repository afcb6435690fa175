"""The receiver's HTTP contract with several pools (functions/scaler/receiver/server.py, routing.py)
against a real moto S3 server: each alert of a delivery is stored under its pool, an alert of no
configured pool is counted and never refuses the delivery, `?pool=NAME` on /up, /down and /status,
and 202 only once every pool's requests are stored."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from functions.common import config, keys
from functions.common.store import Json, Store, StoreError
from functions.scaler.receiver import server as receiver
from tests.conftest import handler_env
from tests.unit.test_receiver import NOW, call, fixture

TWO_POOLS = (Path(__file__).resolve().parents[1] / "fixtures" / "pools" /
             "grafana_two_pools.json").read_bytes()
WEB = "00000000-0000-0000-0000-0000000000a1"
API = "00000000-0000-0000-0000-0000000000a2"
JSON = {"Content-Type": "application/json"}  # no SCALER_TOKEN here: the receiver is open


@pytest.fixture
def two(moto_endpoint: str, bucket: str) -> config.Config:
    env = handler_env(moto_endpoint, bucket, INSTANCEPOOLS=f"web={WEB}:max=4,api={API}:min=2")
    del env["INSTANCEPOOL_ID"]
    return config.load(env)


@pytest.fixture
def app2(two: config.Config, store: Store) -> Any:
    return receiver.make_app(two, store, lambda: NOW)


def pending(store: Store, pool_id: str) -> list[Json]:
    return [item.body for item in store.read_all(keys.requests_prefix(pool_id))
            if item.body is not None]


def test_a_mixed_delivery_is_stored_under_each_alerts_pool(app2: Any, store: Store) -> None:
    status, _, body = call(app2, "POST", "/webhook", TWO_POOLS, JSON)
    assert status == 202
    assert body["ignored"] == {"resolved": 1, "unknown_pool": 2}
    assert sorted(k.split("/")[1] for k in body["stored"]) == sorted([WEB, API])
    assert [(b["direction"], b["fingerprint"]) for b in pending(store, WEB)] == [
        ("up", "a1b2c3d4e5f60001")]
    assert [(b["direction"], b["fingerprint"]) for b in pending(store, API)] == [
        ("down", "a1b2c3d4e5f60002")]
    # Nothing was written anywhere else: the unknown pool has no prefix of its own.
    assert sorted(store.list_keys("requests/")) == sorted(body["stored"])


def test_a_delivery_of_unknown_pools_only_is_answered_200_and_stores_nothing(
        app2: Any, store: Store) -> None:
    # A delivery of the one-pool fixtures: no pool label, so no configured pool of two.
    status, _, body = call(app2, "POST", "/webhook", fixture("grafana_firing_up"), JSON)
    assert (status, body["stored"], body["ignored"]) == (200, [], {"unknown_pool": 1})
    assert list(store.list_keys("requests/")) == []


@pytest.mark.parametrize("direction", ["up", "down"])
def test_manual_requests_name_their_pool(app2: Any, store: Store, direction: str) -> None:
    status, _, body = call(app2, "POST", f"/{direction}?pool=api&value=2", b"", JSON)
    assert status == 202 and body["stored"][0].startswith(f"requests/{API}/")
    assert [(b["direction"], b["value"]) for b in pending(store, API)] == [(direction, 2.0)]
    assert pending(store, WEB) == []


@pytest.mark.parametrize("query,error", [
    ("", "pool=NAME is required: this deployment scales web, api"),
    ("?pool=", "pool=NAME is required: this deployment scales web, api"),
    ("?pool=db", "no pool named 'db': this deployment scales web, api"),
    ("?pool=Web", "no pool named 'Web': this deployment scales web, api"),
])
@pytest.mark.parametrize("path", ["/up", "/down"])
def test_manual_requests_without_a_known_pool_are_400(app2: Any, store: Store, path: str,
                                                       query: str, error: str) -> None:
    assert call(app2, "GET", path + query, None, JSON)[::2] == (400, {"error": error})
    assert list(store.list_keys("requests/")) == []


def test_status_of_one_pool_and_of_every_pool(app2: Any, store: Store) -> None:
    assert call(app2, "POST", "/up?pool=web", b"", JSON)[0] == 202
    status, _, body = call(app2, "GET", "/status?pool=web", None, JSON)
    assert status == 200 and body["pool_id"] == WEB
    assert body["pending"]["up"]["count"] == 1 and body["bounds"] == {"min": 1, "max": 4}
    status, _, body = call(app2, "GET", "/status?pool=api", None, JSON)
    assert status == 200 and body["pool_id"] == API
    assert body["pending"]["up"]["count"] == 0 and body["bounds"] == {"min": 2, "max": 10}

    status, _, body = call(app2, "GET", "/status", None, JSON)
    assert status == 200 and set(body) == {"now", "pools", "errors"}
    assert [(r["name"], r["pool_id"], r["pending"]) for r in body["pools"]] == [
        ("web", WEB, {"up": 1, "down": 0}), ("api", API, {"up": 0, "down": 0})]
    assert [r["bounds"] for r in body["pools"]] == [{"min": 1, "max": 4}, {"min": 2, "max": 10}]
    assert body["errors"] == []

    status, _, body = call(app2, "GET", "/status?pool=db", None, JSON)
    assert status == 400 and "web, api" in body["error"]


class FailsFor(Store):
    """moto, except that every write under one prefix fails as an unreachable SOS would."""
    prefix = ""

    def put(self, key: str, body: Json, *, if_match: str | None = None,
            if_none_match: bool = False) -> str:
        if key.startswith(self.prefix):
            raise StoreError(f"cannot write {key}")
        return super().put(key, body, if_match=if_match, if_none_match=if_none_match)


def test_a_delivery_is_503_when_any_pools_request_cannot_be_stored(two: config.Config) -> None:
    store = FailsFor.from_config(two)
    assert isinstance(store, FailsFor)
    store.prefix = keys.requests_prefix(API)
    app = receiver.make_app(two, store, lambda: NOW)
    status, _, body = call(app, "POST", "/webhook", TWO_POOLS, JSON)
    assert status == 503 and "unavailable" in body["error"]
    # The other pool alone is still accepted.
    assert call(app, "POST", "/up?pool=web", b"", JSON)[0] == 202
    assert call(app, "POST", "/up?pool=api", b"", JSON)[0] == 503


# --- one pool: the label and ?pool= change nothing ----------------------------------------------

def test_one_pool_stores_every_alert_whatever_its_pool_label(cfg: config.Config,
                                                             store: Store) -> None:
    app = receiver.make_app(cfg, store, lambda: NOW)
    status, _, body = call(app, "POST", "/webhook", TWO_POOLS, JSON)
    assert (status, body["ignored"]) == (202, {"resolved": 1})
    assert len(body["stored"]) == 4
    assert all(k.startswith(f"requests/{cfg.pool_id}/") for k in body["stored"])


def test_one_pool_takes_its_own_name_and_refuses_another(cfg: config.Config, store: Store) -> None:
    app = receiver.make_app(cfg, store, lambda: NOW)
    assert call(app, "POST", "/up?pool=default", b"", JSON)[0] == 202
    status, _, body = call(app, "POST", "/up?pool=web", b"", JSON)
    assert (status, body) == (400, {"error": "no pool named 'web': this deployment scales default"})
    status, _, body = call(app, "GET", "/status?pool=default", None, JSON)
    assert status == 200 and body["pending"]["up"]["count"] == 1
    assert call(app, "GET", "/status", None, JSON)[2] == body
