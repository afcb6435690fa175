"""Responses validate against the bundled openapi.json; the OpenAPI 3.0 adapter is right."""

from __future__ import annotations

import pytest
from exoscale.api.v2 import Client

from sandbox.emulator import EmulatorServer, spec

from .emulator_kit import FakeClock


def errors(validator, value) -> list[str]:
    return [e.message for e in validator.iter_errors(value)]


# ---- the adapter ------------------------------------------------------------------------

def test_nullable_type_accepts_null_only_when_nullable() -> None:
    assert errors(spec.validator({"type": "string", "nullable": True}), None) == []
    assert errors(spec.validator({"type": "string"}), None) != []


def test_nullable_enum_accepts_null() -> None:
    v = spec.validator({"type": "string", "enum": ["a"], "nullable": True})
    assert errors(v, None) == [] and errors(v, "b") != []


def test_nullable_beside_ref_accepts_null_and_still_checks_the_ref() -> None:
    v = spec.validator({"$ref": "#/components/schemas/manager", "nullable": True})
    assert errors(v, None) == []
    assert errors(v, {"type": "bogus"}) != []


def test_ref_resolves_into_components_recursively() -> None:
    v = spec.component_validator("instance")
    assert errors(v, {"manager": {"type": "instance-pool"}}) == []
    assert errors(v, {"manager": {"type": "bogus"}}) != []      # manager -> enum
    assert errors(v, {"state": "bogus"}) != []                  # instance-state component
    assert errors(v, {"public-ip": "300.1.1.1"}) != []          # format ipv4
    assert errors(v, {"created-at": "yesterday"}) != []         # format date-time
    assert errors(v, {"id": "not-a-uuid"}) != []                # format uuid


def test_openapi30_boolean_exclusive_minimum() -> None:
    pool = spec.component_validator("instance-pool")   # size: minimum 0, exclusiveMinimum true
    assert errors(pool, {"size": 1}) == []
    assert errors(pool, {"size": 0}) != []
    body = spec.request_body_validator("scale-instance-pool")  # minimum 0, exclusiveMinimum false
    assert body is not None and errors(body, {"size": 0}) == []


def test_nullable_properties_in_the_real_spec_are_adapted() -> None:
    adapted = spec.adapt(spec.load_spec())
    assert '"nullable"' not in str(adapted).replace("'", '"')


def test_strict_mode_rejects_undeclared_keys() -> None:
    assert errors(spec.component_validator("operation", strict=True), {"id2": "x"}) != []
    assert errors(spec.component_validator("operation"), {"id2": "x"}) == []


# ---- emulator responses -------------------------------------------------------------------

def check(operation_id: str, body: object) -> None:
    problems = errors(spec.response_validator(operation_id, strict=True), body)
    assert problems == [], f"{operation_id}: {problems}"


def test_every_endpoint_through_the_lifecycle_matches_the_spec(
        emu: EmulatorServer, client: Client, clock: FakeClock, pool_id: str) -> None:
    def check_all() -> None:
        check("get-instance-pool", client.get_instance_pool(id=pool_id))
        check("list-instance-pools", client.list_instance_pools())
        listing = client.list_instances(manager_id=pool_id, manager_type="instance-pool")
        check("list-instances", listing)
        check("list-instances", client.list_instances())
        for inst in listing["instances"]:
            check("get-instance", client.get_instance(id=inst["id"]))

    check_all()                                               # running
    op = client.scale_instance_pool(id=pool_id, size=4)
    check("scale-instance-pool", op)
    check("get-operation", client.get_operation(id=op["id"]))  # pending
    check_all()                                               # scaling-up, starting members
    clock.advance(60)
    check("get-operation", client.get_operation(id=op["id"]))  # success
    victim = client.get_instance_pool(id=pool_id)["instances"][0]["id"]
    ev = client.evict_instance_pool_members(id=pool_id, instances=[victim])
    check("evict-instance-pool-members", ev)
    check_all()                                               # scaling-down, destroying member
    check("get-instance", client.get_instance(id=victim))


@pytest.mark.parametrize("route", ["get-instance-pool", "get-instance", "get-operation"])
def test_error_bodies_carry_a_message(emu: EmulatorServer, client: Client, route: str) -> None:
    from exoscale.api.exceptions import ExoscaleAPIClientException

    with pytest.raises(ExoscaleAPIClientException) as err:
        getattr(client, route.replace("-", "_"))(id="00000000-0000-4000-8000-000000000000")
    assert err.value.response.status_code == 404
    assert set(err.value.response.json()) == {"message"}
