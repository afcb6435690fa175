"""`inspect` against moto server: fresh, busy and corrupt buckets, errors, settings CAS."""
from __future__ import annotations

import io
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions.bucket.request import ScaleRequest
from functions.bucket.state import (
    Bounds,
    Decided,
    HistoryRecord,
    Intent,
    LastAction,
    PoolSeen,
    ScalerState,
)
from functions.common import config, keys, lease
from functions.common.store import Store
from functions.inspect import cli
from functions.scaler.tick.policy import Action, Outcome, Pending
from tests.conftest import free_port, handler_env

NOW = float(int(time.time()))
POOL = "00000000-0000-0000-0000-000000000001"
DAY = 86400.0


def run(env: dict[str, str], *argv: str, now: float = NOW,
        make_store: Any = cli.default_store) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(list(argv), env, now=lambda: now, out=out, err=err, make_store=make_store)
    return rc, out.getvalue(), err.getvalue()


def run_json(env: dict[str, str], *argv: str) -> dict[str, Any]:
    rc, out, err = run(env, *argv, "--json")
    assert rc == 0, err
    return json.loads(out)


# --- a busy bucket, as the receiver, the tick and sd leave it -------------------------------

def fill_busy(store: Store) -> dict[str, Any]:
    reqs = [ScaleRequest("up", "grafana", NOW - 40, "HighCPU", "fp1", 0.91, 3, 0.0125, 0.842),
            ScaleRequest("up", "alertmanager", NOW - 25, "HighCPU", "fp2", 0.88),
            ScaleRequest("down", "manual", NOW - 5)]
    req_keys = []
    for req in reqs:
        key = keys.request(POOL, req.received_ms, req.unique())
        store.put(key, req.to_json(), if_none_match=True)
        req_keys.append(key)
    store.put(keys.scaler_state(POOL), ScalerState(
        revision=17, last_tick_at=NOW - 42, last_tick_by="mon-1/812/ab12cd34",
        last_action=LastAction(NOW - 300, Action.UP, 2, 3, "2 up requests, avg demand 0.91",
                               operation_id="op-1", requests=2),
        last_decision=Decided(NOW - 42, Action.UP, "up requests pending"),
        cooldown_until=NOW + 45, pool=PoolSeen(3, "running", 3, NOW - 42),
        intent=Intent("i-9", Action.UP, 3, 4, NOW - 42, "up requests pending",
                      requests=(Pending(req_keys[0], reqs[0]),)),
        bounds=Bounds(2, 6)).to_json(), if_none_match=True)
    store.put(keys.discovery(POOL), {
        "pool_id": POOL, "changed_at": NOW - 600, "checked_at": NOW - 12,
        "targets": [{"instance_id": f"inst-{n}", "ip": f"192.0.2.{n}"} for n in (1, 2, 3)]})
    history = [(NOW - 3 * DAY - 60, "scale-up", 1, 2), (NOW - 2 * DAY, "expired", None, None),
               (NOW - DAY - 5, "refused", 2, 3), (NOW - 7200, "scale-down", 3, 2),
               (NOW - 1800, "failed", 2, 3), (NOW - 300, "scale-up", 2, 3)]
    for n, (at, action, a, b) in enumerate(history):
        record = HistoryRecord(at, Outcome(action), f"reason {n}",
                               (Pending(f"requests/{POOL}/r{n}.json", reqs[2]),), a, b, id=f"u{n}")
        store.put(record.key(POOL), record.to_json())
    store.put(keys.settings(POOL), {"paused": False, "min_size": 2, "max_size": 6,
                                    "updated_at": NOW - 900, "updated_by": "inspect:ops@laptop"})
    assert lease.acquire(store, keys.lease(POOL), "mon-1/812/ab12cd34", NOW - 10, 50.0)
    return {"requests": req_keys, "history": history}


@pytest.fixture
def busy(store: Store) -> dict[str, Any]:
    return fill_busy(store)


# --- fresh bucket: a normal state ------------------------------------------------------------

def test_status_on_fresh_bucket(env: dict[str, str]) -> None:
    rc, out, err = run(env, "status")
    assert rc == 0 and err == ""
    for phrase in ("no tick yet", "no discovery yet", "no lease yet", "pending      none",
                   "paused       no", "1..10 (computed", "schedule     no rules",
                   "cost         unknown (no tick has recorded the pool's size yet)", "budget       no cap"):
        assert phrase in out


@pytest.mark.parametrize("command, phrase", [
    ("requests", "no pending requests"), ("history", "no history"),
    ("discovery", "no discovery yet")])
def test_listings_on_fresh_bucket(env: dict[str, str], command: str, phrase: str) -> None:
    assert run(env, command) == (0, phrase + "\n", "")


def test_json_shapes_on_fresh_bucket(env: dict[str, str]) -> None:
    status = run_json(env, "status")
    assert status["tick"] is None and status["discovery"] is None and status["lease"] is None
    assert status["pending"] == {"total": 0, "up": 0, "down": 0, "oldest_at": None,
                                 "oldest_age_s": None, "unreadable": 0, "by_direction": {
                                     "up": {"count": 0, "oldest_age_s": None},
                                     "down": {"count": 0, "oldest_age_s": None}}}
    assert status["bounds"] == {"min": 1, "max": 10, "source": "computed"}
    assert run_json(env, "requests")["requests"] == []
    assert run_json(env, "history")["records"] == []
    assert run_json(env, "discovery")["discovery"] is None


# --- busy bucket ----------------------------------------------------------------------------

def test_status_on_busy_bucket(env: dict[str, str], busy: dict[str, Any]) -> None:
    rc, out, err = run(env, "status")
    assert rc == 0 and err == ""
    for phrase in ("42s ago) by mon-1/812/ab12cd34, revision 17",
                   "scale-up 2 -> 3 at", "5m 00s ago): 2 up requests, avg demand 0.91",
                   "45s remaining", "scale-up 3 -> 4, phase decided",
                   "3 (up 2, down 1), oldest 40s ago", "3 members, checked",
                   "(12s ago), changed 10m 00s ago", "held by mon-1/812/ab12cd34",
                   "(in 40s)", "2..6 (as used by the last tick)"):
        assert phrase in out, phrase


def test_status_json_on_busy_bucket(env: dict[str, str], busy: dict[str, Any]) -> None:
    view = run_json(env, "status")
    assert set(view) == {"pool_id", "now", "tick", "last_action", "last_decision", "cooldown",
                         "intent", "refusal", "pool", "pending", "discovery", "lease", "paused",
                         "settings", "bounds", "hard_bounds", "schedule", "money", "errors"}
    assert view["tick"]["age_s"] == 42.0 and view["tick"]["revision"] == 17
    assert view["last_action"]["reason"] == "2 up requests, avg demand 0.91"
    assert view["last_decision"] == {"at": view["tick"]["at"], "age_s": 42.0,
                                     "action": "scale-up", "reason": "up requests pending"}
    assert view["cooldown"]["remaining_s"] == 45.0
    assert view["pending"]["up"] == 2 and view["pending"]["down"] == 1
    assert view["discovery"]["members"] == 3 and view["discovery"]["checked_age_s"] == 12.0
    assert view["lease"]["held"] is True and view["lease"]["expires_in_s"] == 40.0
    assert view["settings"]["min_size"] == 2 and view["paused"] is False
    assert view["bounds"] == {"min": 2, "max": 6, "source": "last-tick"}
    assert view["errors"] == []


def test_requests_oldest_first_with_claimed_marker(env: dict[str, str],
                                                   busy: dict[str, Any]) -> None:
    rows = run_json(env, "requests")["requests"]
    assert [r["key"] for r in rows] == busy["requests"]
    assert [r["claimed"] for r in rows] == [True, False, False]
    assert set(rows[0]) == {"key", "received_at", "age_s", "direction", "source", "alertname",
                            "fingerprint", "value", "members", "trend", "cpu", "claimed"}
    # what the proportional sizing, its look-ahead and its occupancy fit use
    assert (rows[0]["members"], rows[0]["trend"], rows[0]["cpu"]) == (3, 0.0125, 0.842)
    assert (rows[2]["members"], rows[2]["trend"], rows[2]["cpu"]) == (None, None, None)
    rc, out, _ = run(env, "requests")
    lines = out.splitlines()
    assert rc == 0 and lines[0].split() == ["RECEIVED", "AGE", "DIR", "SOURCE", "ALERT",
                                            "VALUE", "MEMBERS", "TREND", "CPU", "STATE"]
    assert re.search(r"0\.91 +3 +0\.0125 +0\.842 +claimed by intent$", lines[1]), lines[1]
    assert "claimed by intent" in lines[1] and "40s ago" in lines[1] and "manual" in lines[3]


def test_history_newest_first_since_and_limit(env: dict[str, str],
                                              busy: dict[str, Any]) -> None:
    records = run_json(env, "history")["records"]
    assert [r["action"] for r in records] == ["scale-up", "failed", "scale-down", "refused",
                                              "expired", "scale-up"]
    assert set(records[0]) == {"key", "at", "age_s", "action", "from_size", "to_size",
                               "reason", "requests", "evicted", "operation_id"}
    assert [r["action"] for r in run_json(env, "history", "--since", "1h")["records"]] == [
        "scale-up", "failed"]
    assert len(run_json(env, "history", "--since", "2d")["records"]) == 5  # crosses day folders
    assert len(run_json(env, "history", "--limit", "2")["records"]) == 2
    since_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - 7300))
    assert len(run_json(env, "history", "--since", since_iso)["records"]) == 3
    rc, out, _ = run(env, "history", "--since", "3h")
    assert rc == 0 and re.search(r"ago +scale-up +2 -> 3 +1 +reason 5$", out.splitlines()[1])


def test_history_bad_since_is_one_line(env: dict[str, str]) -> None:
    rc, out, err = run(env, "history", "--since", "last tuesday")
    assert rc == 1 and out == "" and err.count("\n") == 1 and "--since" in err


def test_discovery_targets(env: dict[str, str], busy: dict[str, Any]) -> None:
    snap = run_json(env, "discovery")["discovery"]
    assert snap["targets"][0] == {"instance_id": "inst-1", "ip": "192.0.2.1"}
    rc, out, _ = run(env, "discovery")
    assert rc == 0 and "3 members" in out and "inst-3    192.0.2.3" in out


# --- corrupt objects: reported per object, the rest still shown, never a traceback ----------

def test_corrupt_objects_are_reported_and_the_rest_shown(env: dict[str, str], store: Store,
                                                         busy: dict[str, Any]) -> None:
    raw = store.s3.put_object
    raw(Bucket=store.bucket, Key=keys.discovery(POOL), Body=b"{truncated")
    raw(Bucket=store.bucket, Key=busy["requests"][1], Body=b'{"schema": 1, "direction": "sideways"}')
    raw(Bucket=store.bucket, Key=keys.lease(POOL), Body=b"[1, 2]")
    raw(Bucket=store.bucket, Key=keys.history(POOL, NOW - 60, "scale-up", "bad"),
        Body=b"\xff\xfe")
    raw(Bucket=store.bucket, Key=keys.settings(POOL),
        Body=b'{"schema": 1, "paused": "yes", "min_size": 0}')
    rc, out, err = run(env, "status")
    assert rc == 1 and "Traceback" not in err
    assert "revision 17" in out and "no discovery yet" in out and "2 (up 1, down 1)" in out
    assert f"inspect: {keys.discovery(POOL)}: corrupt object" in err
    assert f"inspect: {busy['requests'][1]}: not a scale request: request: 'direction' must be a known value" in err
    assert f"inspect: {keys.lease(POOL)}: corrupt object" in err
    assert "malformed 'paused'" in err and "malformed 'min_size'" in err
    rc, out, err = run(env, "history")
    assert rc == 1 and len(out.splitlines()) == 7 and "corrupt object" in err
    view = json.loads(run(env, "history", "--json")[1])
    assert len(view["records"]) == 6 and view["errors"][0]["key"].endswith("-bad.json")
    rc, out, err = run(env, "requests")
    assert rc == 1 and len(out.splitlines()) == 3 and err.count("\n") == 1


def test_pause_repairs_a_corrupt_settings_object(env: dict[str, str], store: Store) -> None:
    store.s3.put_object(Bucket=store.bucket, Key=keys.settings(POOL), Body=b"nope")
    rc, out, err = run(env, "pause")
    assert rc == 0 and "was unreadable" in err and "paused     yes" in out
    assert store.get(keys.settings(POOL)).body["paused"] is True


# --- pause / resume / set-bounds ------------------------------------------------------------

def test_pause_resume_round_trip_shown_by_status(env: dict[str, str], store: Store) -> None:
    rc, out, _ = run(env, "pause")
    assert rc == 0 and out.startswith("paused:")
    body = store.get(keys.settings(POOL)).body
    assert body["paused"] is True and body["schema"] == 1 and body["updated_at"] == NOW
    assert body["updated_by"].startswith("inspect:")
    assert run_json(env, "status")["paused"] is True
    assert run_json(env, "resume")["settings"]["paused"] is False
    assert run_json(env, "status")["paused"] is False


def test_status_says_when_the_tick_has_not_seen_a_pause(env: dict[str, str], store: Store,
                                                        busy: dict[str, Any]) -> None:
    run(env, "pause", now=NOW + 1)
    _rc, out, _ = run(env, "status", now=NOW + 1)
    assert "yes (settings by inspect:" in out and "not yet seen by the tick" in out
    assert "settings changed since, the next tick applies them" in out


@pytest.mark.parametrize("argv, rc, stored, effective, message", [
    (["--min", "2", "--max", "6"], 0, (2, 6), (2, 6), None),
    (["--max", "4"], 0, (None, 4), (1, 4), None),
    (["--min", "3", "--max", "20"], 0, (3, 20), (3, 10),
     "max 20 is outside the hard bounds 1..10"),
    (["--min", "5", "--max", "3"], 1, None, None, "refused: min 5 is greater than max 3"),
    (["--min", "0"], 2, None, None, "a bound must be >= 1"),
    (["--max", "lots"], 2, None, None, "expected a whole number or 'none'"),
    ([], 1, None, None, "set-bounds needs --min and/or --max"),
])
def test_set_bounds_table(env: dict[str, str], store: Store, capsys: pytest.CaptureFixture[str],
                          argv: list[str], rc: int, stored: tuple | None,
                          effective: tuple | None, message: str | None) -> None:
    if rc == 2:  # argparse usage error
        with pytest.raises(SystemExit) as exc:
            run(env, "set-bounds", *argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err
        return
    code, out, err = run(env, "set-bounds", *argv, "--json")
    assert code == rc
    got = store.get(keys.settings(POOL))
    if stored is None:
        assert got is None and out == "" and message in err and err.count("\n") == 1
        return
    view = json.loads(out)
    assert (view["settings"]["min_size"], view["settings"]["max_size"]) == stored
    assert (view["effective_bounds"]["min"], view["effective_bounds"]["max"]) == effective
    assert (got.body["min_size"], got.body["max_size"]) == stored
    assert (message in err) if message else err == ""
    status = run_json(env, "status")["bounds"]
    assert (status["min"], status["max"], status["source"]) == (*effective, "computed")


def test_set_bounds_keeps_omitted_and_clears_none(env: dict[str, str], store: Store) -> None:
    run(env, "pause")
    run(env, "set-bounds", "--min", "2", "--max", "6")
    run(env, "set-bounds", "--max", "8")
    body = store.get(keys.settings(POOL)).body
    assert (body["paused"], body["min_size"], body["max_size"]) == (True, 2, 8)
    run(env, "set-bounds", "--min", "none")
    body = store.get(keys.settings(POOL)).body
    assert (body["min_size"], body["max_size"]) == (None, 8)
    rc, _, err = run(env, "set-bounds", "--min", "9")  # against the stored max 8
    assert rc == 1 and "min 9 is greater than max 8" in err


class RacingStore(Store):
    """Lets another writer change settings.json between our read and our conditional put.

    Deterministic on purpose: moto checks If-Match and then writes without a lock, so racing
    real threads against it could lose an update in moto itself, not in inspect.
    """

    def __init__(self, base: Store, races: int, rival: Any) -> None:
        super().__init__(base.s3, base.bucket)
        self.races, self.rival, self.puts = races, rival, 0

    def put(self, key: str, body: dict, **cond: Any) -> str:
        self.puts += 1
        if key.startswith("control/") and self.races > 0:
            self.races -= 1
            self.rival()
        return super().put(key, body, **cond)


def test_pause_under_a_concurrent_writer_retries_and_keeps_both(
        env: dict[str, str], store: Store) -> None:
    run(env, "set-bounds", "--min", "2")
    bumps = iter(range(3, 10))
    racing = RacingStore(store, races=2, rival=lambda: cli.main(
        ["set-bounds", "--max", str(next(bumps))], env, out=io.StringIO(), err=io.StringIO()))
    rc, _out, err = run(env, "pause", make_store=lambda cfg: racing)
    assert rc == 0 and err == "" and racing.puts == 3  # two lost races, then the CAS wins
    body = store.get(keys.settings(POOL)).body
    assert (body["paused"], body["min_size"], body["max_size"]) == (True, 2, 4)


def test_cas_gives_up_with_one_line_after_repeated_races(env: dict[str, str],
                                                         store: Store) -> None:
    # Each rival write differs: an identical body would keep the ETag (a content hash) valid.
    counter = iter(range(100))
    racing = RacingStore(store, races=99, rival=lambda: store.put(
        keys.settings(POOL), {"paused": False, "updated_at": next(counter)}))
    rc, out, err = run(env, "pause", make_store=lambda cfg: racing)
    assert rc == 1 and out == "" and "kept changing under us (5 attempts)" in err
    assert store.get(keys.settings(POOL)).body["paused"] is False


def test_first_create_races_too(env: dict[str, str], store: Store) -> None:
    racing = RacingStore(store, races=1, rival=lambda: store.put(
        keys.settings(POOL), {"paused": False, "max_size": 5}))
    assert run(env, "pause", make_store=lambda cfg: racing)[0] == 0
    body = store.get(keys.settings(POOL)).body
    assert (body["paused"], body["max_size"]) == (True, 5)


# --- wrong bucket, unreachable endpoint, credentials, configuration --------------------------

@pytest.mark.parametrize("command", ["status", "requests", "history", "discovery", "pause"])
def test_wrong_bucket(moto_endpoint: str, command: str) -> None:
    rc, out, err = run(handler_env(moto_endpoint, "no-such-bucket-here"), command)
    assert rc == 1 and out == "" and err == (
        f"inspect: error: bucket 'no-such-bucket-here' does not exist at {moto_endpoint} "
        "(check SOS_BUCKET and SOS_ENDPOINT/EXOSCALE_ZONE)\n")


def test_unreachable_endpoint_is_one_line(bucket: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    rc, out, err = run(handler_env(dead, bucket), "status")
    assert rc == 1 and out == ""
    assert err == f"inspect: error: cannot reach SOS endpoint {dead} (EndpointConnectionError)\n"
    # An operator waits at a terminal: a few seconds of tries at most, never botocore's minute.
    assert cli.ATTEMPTS * (cli.CONNECT_TIMEOUT_S + cli.READ_TIMEOUT_S) <= 15


def _moto_auth(endpoint: str, count: str) -> None:
    urllib.request.urlopen(urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=count.encode(), method="POST",
        headers={"Content-Type": "text/plain"}), timeout=5)  # form encoding would eat the body


@pytest.fixture
def iam_checked(moto_endpoint: str, bucket: str) -> Iterator[dict[str, str]]:
    """moto server checking signatures and IAM policies, with one real key that has no policy."""
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="y")
    user = f"nobody-{bucket}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    _moto_auth(moto_endpoint, "0")
    try:
        yield {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    finally:
        _moto_auth(moto_endpoint, "inf")


@pytest.mark.parametrize("which, expected", [
    ("unknown-key", "does not know this key (InvalidAccessKeyId): check EXOSCALE_KEY"),
    ("wrong-secret", "rejected the signature (SignatureDoesNotMatch): check EXOSCALE_SECRET"),
    ("no-permission", "access denied to bucket '{bucket}' (AccessDenied)"),
])
def test_wrong_credentials(moto_endpoint: str, bucket: str, iam_checked: dict[str, str],
                           which: str, expected: str) -> None:
    key, secret = {"unknown-key": ("EXOunknownkey000000000000", "some-secret"),
                   "wrong-secret": (iam_checked["key"], "not-the-secret"),
                   "no-permission": (iam_checked["key"], iam_checked["secret"])}[which]
    env = handler_env(moto_endpoint, bucket, EXOSCALE_KEY=key, EXOSCALE_SECRET=secret)
    rc, out, err = run(env, "status")
    assert rc == 1 and out == "" and err.count("\n") == 1
    assert expected.format(bucket=bucket) in err and secret not in err


def test_missing_variable_exits_2_with_one_line(env: dict[str, str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    del env["SOS_BUCKET"]
    with pytest.raises(SystemExit) as exc:
        run(env, "status")
    assert exc.value.code == 2
    assert capsys.readouterr().err == "configuration error: SOS_BUCKET is required but not set\n"


def test_json_flag_before_or_after_the_subcommand(env: dict[str, str]) -> None:
    before = run(env, "--json", "requests")
    after = run(env, "requests", "--json")
    assert before == after and json.loads(before[1])["requests"] == []


def test_config_used_is_the_handlers(cfg: config.Config) -> None:
    # inspect builds its client from the same Config the handlers load, with shorter timeouts.
    store = cli.default_store(cfg)
    assert store.bucket == cfg.bucket
    assert store.s3.meta.config.connect_timeout == cli.CONNECT_TIMEOUT_S
