"""The leftovers listing and the resource counts, against the API emulator and moto's S3: a deployment's
objects are found by its own names and labels, nothing else in the account is counted."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from exoscale.api.v2 import Client

from acceptance.checks import CheckFailed, check_shape
from acceptance.leftovers import belongs, deployment_pattern, list_deployment, s3_buckets
from sandbox.emulator import EmulatorServer
from tests.acceptance.kit import Deployment, s3_client
from tests.conftest import KEY, SECRET

NAME = "acc-0a1b2c3d"


@pytest.mark.parametrize(("name", "labels", "expected"), [
    ("acc-0a1b2c3d", None, True),                     # the SSH key is named exactly the deployment
    ("acc-0a1b2c3d-nlb", None, True),
    ("acc-0a1b2c3d-app-1f2e3-00001", None, True),     # a pool member
    ("whatever", {"deployment": "acc-0a1b2c3d"}, True),
    ("acc-0a1b2c3dx-nlb", None, False),                # not 8 hex then a dash
    ("acc-0A1B2C3D-nlb", None, False),
    ("accx-0a1b2c3d-nlb", None, False),
    ("autoscaler-0a1b2c3d-nlb", None, False),          # a normal deployment is someone else's
    ("acc-nlb", None, False),
    ("x", {"deployment": "acc-other"}, False),
])
def test_belongs_by_name_or_label(name: str, labels: dict[str, str] | None, expected: bool) -> None:
    assert belongs(deployment_pattern("acc"), name, labels) is expected


@pytest.fixture()
def account(moto_endpoint: str) -> Iterator[dict[str, Any]]:
    with EmulatorServer(KEY, SECRET) as emu:
        s3 = s3_client(moto_endpoint)
        client = Client(KEY, SECRET, url=emu.url)
        # someone else's objects in the same account, never counted
        other = Deployment(emu, s3, "autoscaler-11112222")
        other.create()
        emu.model.inventory.add("security-groups", "default")
        emu.model.inventory.add("load-balancers", "acc-nlb")
        yield {"emu": emu, "s3": s3, "client": client, "buckets": s3_buckets(s3)}
        other.destroy()


def test_finds_every_object_of_the_deployment_and_nothing_else(account: dict[str, Any]) -> None:
    assert list_deployment(account["client"], account["buckets"], "acc") == []
    mine = Deployment(account["emu"], account["s3"], NAME)
    mine.create()
    found = list_deployment(account["client"], account["buckets"], "acc")
    assert sorted(f"{f.kind} {f.name}" for f in found) == sorted([
        "api-keys acc-0a1b2c3d-scaler", "buckets acc-0a1b2c3d-state", "iam-roles acc-0a1b2c3d-scaler",
        "instance-pools acc-0a1b2c3d-pool", "instances acc-0a1b2c3d-monitoring",
        f"instances {next(f.name for f in found if f.managed)}",
        "load-balancers acc-0a1b2c3d-nlb", "security-groups acc-0a1b2c3d-monitoring",
        "security-groups acc-0a1b2c3d-pool", "ssh-keys acc-0a1b2c3d",
    ])
    assert [f.name.startswith(f"{NAME}-app-") for f in found if f.managed] == [True]
    mine.destroy(keep=("security-groups",))          # a group that outlived its VMs is a leftover
    left = list_deployment(account["client"], account["buckets"], "acc")
    assert sorted(f.name for f in left) == ["acc-0a1b2c3d-monitoring", "acc-0a1b2c3d-pool"]
    assert {f.kind for f in left} == {"security-groups"}
    for item in mine.items:
        account["emu"].model.inventory.remove(item)
    assert list_deployment(account["client"], account["buckets"], "acc") == []


def test_counts_one_nlb_one_pool_one_other_vm(account: dict[str, Any]) -> None:
    mine = Deployment(account["emu"], account["s3"], NAME)
    mine.create()
    account["client"].scale_instance_pool(id=mine.pool_id, size=3)
    assert check_shape(account["client"], account["buckets"], "acc") == "1 NLB, 1 pool (3 members), 1 other VM"
    extra = account["emu"].model.inventory.add("load-balancers", f"{NAME}-nlb2")
    with pytest.raises(CheckFailed, match="found 2 NLB, 1 pool"):
        check_shape(account["client"], account["buckets"], "acc")
    account["emu"].model.inventory.remove(extra)
    mine.destroy()
    with pytest.raises(CheckFailed, match="found 0 NLB, 0 pool"):
        check_shape(account["client"], account["buckets"], "acc")
