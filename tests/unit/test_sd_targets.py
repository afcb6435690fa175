"""Pure discovery: members to targets, the file_sd document, snapshot heartbeat."""
from __future__ import annotations

import json

import pytest

from functions.sd.targets import (
    file_sd,
    file_targets,
    members_to_targets,
    next_snapshot,
    snapshot_targets,
)


def inst(i: str, state: str = "running", ip: str | None = "127.0.1.1") -> dict:
    out = {"id": i, "state": state}
    if ip:
        out["public-ip"] = ip
    return out


def test_only_running_members_with_ip() -> None:
    targets, skipped = members_to_targets([
        inst("b", ip="127.0.1.2"), inst("a"), inst("c", "starting"), inst("d", ip=None),
        inst("e", "destroying", "127.0.1.5")])
    assert targets == [{"instance_id": "a", "ip": "127.0.1.1"},
                       {"instance_id": "b", "ip": "127.0.1.2"}]
    assert skipped == ["d"]


def test_file_sd_shape() -> None:
    doc = json.loads(file_sd([{"instance_id": "a", "ip": "10.0.0.1"}], port=9100, pool_id="p",
                             zone="at-vie-1"))
    assert doc == [{"targets": ["10.0.0.1:9100"],
                    "labels": {"instance_id": "a", "pool_id": "p", "zone": "at-vie-1"}}]


T = [{"instance_id": "a", "ip": "1.1.1.1"}]


@pytest.mark.parametrize("previous, targets, now, expected", [
    (None, T, 100.0, {"changed_at": 100.0, "checked_at": 100.0}),
    ({"targets": T, "changed_at": 10.0, "checked_at": 50.0}, T, 100.0, None),
    ({"targets": T, "changed_at": 10.0, "checked_at": 50.0}, T, 350.0,
     {"changed_at": 10.0, "checked_at": 350.0}),
    ({"targets": [], "changed_at": 10.0, "checked_at": 99.0}, T, 100.0,
     {"changed_at": 100.0, "checked_at": 100.0}),
    ({"targets": "junk"}, T, 100.0, {"changed_at": 100.0, "checked_at": 100.0}),
])
def test_next_snapshot(previous: dict | None, targets: list, now: float,
                       expected: dict | None) -> None:
    got = next_snapshot(previous, targets, now, "p")
    if expected is None:
        assert got is None
    else:
        assert got is not None and got["targets"] == targets
        assert {k: got[k] for k in expected} == expected


@pytest.mark.parametrize("body, expected", [
    (None, None), ({}, None), ({"targets": [{"instance_id": 1, "ip": "x"}]}, None),
    ({"targets": T}, T), ({"targets": []}, []),
])
def test_snapshot_targets(body: dict | None, expected: list | None) -> None:
    assert snapshot_targets(body) == expected


def test_every_target_names_its_pool_and_keeps_the_other_labels() -> None:
    doc = json.loads(file_sd([{"instance_id": "a", "ip": "10.0.0.1"}], port=9100, pool_id="p",
                             zone="at-vie-1", pool_name="web"))
    assert doc[0]["labels"] == {"instance_id": "a", "pool_id": "p", "zone": "at-vie-1", "pool": "web"}


@pytest.mark.parametrize("text, pool_id, expected", [
    (file_sd([{"instance_id": "a", "ip": "10.0.0.1"}, {"instance_id": "b", "ip": "10.0.0.2"}],
             port=9100, pool_id="p", zone="z", pool_name="web"),
     "p", [{"instance_id": "a", "ip": "10.0.0.1"}, {"instance_id": "b", "ip": "10.0.0.2"}]),
    (file_sd([{"instance_id": "a", "ip": "10.0.0.1"}], port=9100, pool_id="p", zone="z"), "q", []),
    ("", "p", []), ("{}", "p", []), ('[{"targets": "x", "labels": {"pool_id": "p"}}]', "p", []),
])
def test_a_pools_targets_read_back_from_the_file(text: str, pool_id: str, expected: list) -> None:
    assert file_targets(text, pool_id) == expected
