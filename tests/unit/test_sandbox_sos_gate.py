"""The soak's SOS gate: the real store through it works while it is up (conditional writes,
listing, deletes, HEAD-less reads), fails with StoreError while it is down, and works again after."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from functions.common import config
from functions.common.store import Conflict, Store, StoreError
from sandbox.sos_gate import SosGate


@pytest.fixture
def gate(moto_endpoint: str) -> Iterator[SosGate]:
    g = SosGate(moto_endpoint).start()
    yield g
    g.stop()


def test_the_store_through_the_gate_and_an_outage(cfg: config.Config, gate: SosGate) -> None:
    through = Store.from_config(dataclasses.replace(cfg, sos_endpoint=gate.endpoint), attempts=2)
    etag = through.put("a.json", {"v": 1}, if_none_match=True)
    with pytest.raises(Conflict):  # the condition reaches moto unchanged
        through.put("a.json", {"v": 2}, if_none_match=True)
    through.put("a.json", {"v": 3}, if_match=etag)
    got = through.get("a.json")
    assert got is not None and got.body is not None and got.body["v"] == 3
    assert list(through.list_keys("a")) == ["a.json"]

    gate.down.set()
    with pytest.raises(StoreError):
        through.get("a.json")
    with pytest.raises(StoreError):
        through.put("b.json", {"v": 1})
    assert gate.refused >= 4  # both calls, each retried once by the SDK

    gate.down.clear()
    through.delete_many(["a.json"])
    assert through.get("a.json") is None and through.get("b.json") is None
