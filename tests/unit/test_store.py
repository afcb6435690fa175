"""The SOS store and the lease over a real S3 protocol server (moto)."""
from __future__ import annotations

import pytest

from functions.common import keys, lease
from functions.common.store import Conflict, Store, StoreError


def test_round_trip_carries_schema(store: Store) -> None:
    etag = store.put("a/b.json", {"x": 1})
    got = store.get("a/b.json")
    assert got is not None and got.body == {"schema": keys.SCHEMA, "x": 1} and got.etag == etag


def test_missing_object_is_none(store: Store) -> None:
    assert store.get("nothing/here.json") is None


def test_if_none_match_refuses_existing(store: Store) -> None:
    store.put("k.json", {"v": 1}, if_none_match=True)
    with pytest.raises(Conflict):
        store.put("k.json", {"v": 2}, if_none_match=True)
    assert store.get("k.json").body["v"] == 1


def test_if_match_compare_and_swap(store: Store) -> None:
    first = store.put("s.json", {"rev": 1})
    second = store.put("s.json", {"rev": 2}, if_match=first)
    with pytest.raises(Conflict):
        store.put("s.json", {"rev": 3}, if_match=first)
    store.put("s.json", {"rev": 3}, if_match=second)
    assert store.get("s.json").body["rev"] == 3


def test_corrupt_object_is_reported_not_raised(store: Store) -> None:
    store.s3.put_object(Bucket=store.bucket, Key="bad.json", Body=b"{not json")
    got = store.get("bad.json")
    assert got is not None and got.body is None and got.error and "corrupt" in got.error


def test_read_all_in_key_order(store: Store) -> None:
    for name in ("p/2.json", "p/1.json", "p/3.json", "q/1.json"):
        store.put(name, {"n": name})
    assert [item.key for item in store.read_all("p/")] == ["p/1.json", "p/2.json", "p/3.json"]


def test_conditions_honoured_by_moto(store: Store) -> None:
    assert store.conditions_honoured("probe.json") is True


def test_missing_bucket_is_a_store_error(store: Store) -> None:
    other = Store(store.s3, "no-such-bucket-here")
    with pytest.raises(StoreError):
        other.put("x.json", {})
    with pytest.raises(StoreError):
        list(other.list_keys(""))


@pytest.mark.parametrize("current, holder, now, expected", [
    (None, "me", 10.0, True),
    ({"holder": "other", "expires_at": 20.0}, "me", 10.0, False),
    ({"holder": "other", "expires_at": 10.0}, "me", 10.0, True),
    ({"holder": "me", "expires_at": 20.0}, "me", 10.0, True),
    ({"holder": "other", "expires_at": "soon"}, "me", 10.0, True),
])
def test_may_take(current: dict | None, holder: str, now: float, expected: bool) -> None:
    assert lease.may_take(current, holder, now) is expected


def test_lease_excludes_second_holder_until_expiry_or_release(store: Store) -> None:
    first = lease.acquire(store, "lease/p/tick", "vm-a", now=100.0, ttl_s=50.0)
    assert first is not None
    assert lease.acquire(store, "lease/p/tick", "vm-b", now=120.0, ttl_s=50.0) is None
    assert lease.acquire(store, "lease/p/tick", "vm-b", now=151.0, ttl_s=50.0) is not None
    assert lease.acquire(store, "lease/p/tick", "vm-a", now=152.0, ttl_s=50.0) is None


def test_released_lease_is_free_at_once(store: Store) -> None:
    held = lease.acquire(store, "lease/p/tick", "vm-a", now=100.0, ttl_s=50.0)
    assert held is not None
    held.release(store, 100.5)
    assert lease.acquire(store, "lease/p/tick", "vm-b", now=101.0, ttl_s=50.0) is not None


def test_lease_race_has_one_winner(store: Store) -> None:
    # Both read "absent", both try the conditional create: exactly one may win.
    results = []
    for holder in ("vm-a", "vm-b"):
        try:
            results.append(store.put("lease/p/race", {"holder": holder}, if_none_match=True))
        except Conflict:
            results.append(None)
    assert sum(r is not None for r in results) == 1
