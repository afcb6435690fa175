"""The emulator's listed-only objects (load balancers, security groups, IAM roles and keys, SSH keys,
standalone instances): listed through the real client, bodies valid against the bundled spec."""
from __future__ import annotations

import pytest
from exoscale.api.v2 import Client

from sandbox.emulator import EmulatorServer, spec
from sandbox.emulator.inventory import KINDS

LISTS = {"load-balancers": "list_load_balancers", "security-groups": "list_security_groups",
         "iam-roles": "list_iam_roles", "api-keys": "list_api_keys", "ssh-keys": "list_ssh_keys",
         "instances": "list_instances"}


@pytest.fixture()
def emu_client() -> tuple[EmulatorServer, Client]:
    with EmulatorServer("EXOtestkey", "testsecret") as emu:
        yield emu, Client("EXOtestkey", "testsecret", url=emu.url)


@pytest.mark.parametrize("kind", KINDS)
def test_added_objects_are_listed_in_the_spec_shape_and_removed_ones_are_not(
        emu_client: tuple[EmulatorServer, Client], kind: str) -> None:
    emu, client = emu_client
    item = emu.model.inventory.add(kind, f"dep-0a1b2c3d-{kind}", {"deployment": "dep-0a1b2c3d"})
    body = getattr(client, LISTS[kind])()
    problems = [e.message for e in spec.response_validator(f"list-{kind}", strict=True).iter_errors(body)]
    assert problems == []
    assert [o["name"] for o in body[kind]] == [item.name]
    emu.model.inventory.remove(item)
    assert getattr(client, LISTS[kind])()[kind] == []


def test_standalone_instances_never_appear_in_a_pool_listing(emu_client: tuple[EmulatorServer, Client]) -> None:
    emu, client = emu_client
    pool_id = emu.create_pool(2)
    emu.model.inventory.add("instances", "monitoring")
    assert len(client.list_instances()["instances"]) == 3
    assert len(client.list_instances(manager_id=pool_id, manager_type="instance-pool")["instances"]) == 2


def test_unknown_kind_is_refused() -> None:
    with EmulatorServer("EXOtestkey", "testsecret") as emu, pytest.raises(ValueError, match="kind must be one of"):
        emu.model.inventory.add("buckets", "x")
