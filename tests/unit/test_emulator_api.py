"""HTTP behaviour of the API routes (400/404/501) and the admin routes, with the real client."""

from __future__ import annotations

import json

import pytest
from exoscale.api.exceptions import ExoscaleAPIClientException
from exoscale.api.v2 import Client

from sandbox.emulator import EmulatorServer

from .emulator_kit import FakeClock, admin, raw_request

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def scale_path(pool: str) -> str:
    return f"/v2/instance-pool/{pool}:scale"


@pytest.mark.parametrize("name,body", [
    ("missing body", b""),
    ("not json", b"{size: 3"),
    ("not an object", b"[3]"),
    ("missing size", b"{}"),
    ("size as string", b'{"size": "3"}'),
    ("size as float", b'{"size": 3.5}'),
    ("size as bool", b'{"size": true}'),
    ("negative size", b'{"size": -1}'),
    ("unknown field", b'{"size": 3, "force": true}'),
])
def test_bad_scale_bodies_are_400(emu: EmulatorServer, pool_id: str, name: str, body: bytes) -> None:
    resp = raw_request(emu, "PUT", scale_path(pool_id), body=body)
    assert resp.status == 400, name
    assert isinstance(resp.body["message"], str)
    assert emu.operations() == []


@pytest.mark.parametrize("name,body", [
    ("missing instances", b"{}"),
    ("instances not a list", b'{"instances": "x"}'),
    ("id not a uuid", b'{"instances": ["nope"]}'),
    ("empty list", b'{"instances": []}'),
    ("unknown field", b'{"instances": [], "all": true}'),
])
def test_bad_evict_bodies_are_400(emu: EmulatorServer, pool_id: str, name: str, body: bytes) -> None:
    resp = raw_request(emu, "PUT", f"/v2/instance-pool/{pool_id}:evict", body=body)
    assert resp.status == 400, name


@pytest.mark.parametrize("query", [
    "bogus=1",
    "manager-type=sks-nodepool",
    "manager-id=not-a-uuid",
    f"manager-id={UNKNOWN}&manager-id={UNKNOWN}",
])
def test_bad_query_parameters_are_400(emu: EmulatorServer, query: str) -> None:
    assert raw_request(emu, "GET", "/v2/instance", query=query).status == 400


def test_unknown_query_parameter_on_a_get_is_400(emu: EmulatorServer, pool_id: str) -> None:
    assert raw_request(emu, "GET", f"/v2/instance-pool/{pool_id}", query="verbose=1").status == 400


def test_malformed_path_id_is_400(emu: EmulatorServer) -> None:
    assert raw_request(emu, "GET", "/v2/instance-pool/not-a-uuid").status == 400


@pytest.mark.parametrize("method,path", [
    ("GET", f"/v2/instance-pool/{UNKNOWN}"),
    ("GET", f"/v2/instance/{UNKNOWN}"),
    ("GET", f"/v2/operation/{UNKNOWN}"),
    ("PUT", f"/v2/instance-pool/{UNKNOWN}:scale"),
    ("GET", "/v2/no-such-thing"),
    ("GET", "/elsewhere"),
    ("POST", f"/v2/instance-pool/{UNKNOWN}:scale"),   # wrong verb
])
def test_unknown_ids_and_routes_are_404(emu: EmulatorServer, method: str, path: str) -> None:
    body = b'{"size": 1}' if path.endswith(":scale") else b""
    assert raw_request(emu, method, path, body=body).status == 404


def test_known_but_unemulated_operation_is_501(client: Client) -> None:
    with pytest.raises(Exception) as err:
        client.list_elastic_ips()  # exists in the spec, not emulated
    assert err.value.response.status_code == 501


def test_evicting_a_non_member_is_4xx_and_changes_nothing(emu: EmulatorServer, client: Client,
                                                          pool_id: str) -> None:
    with pytest.raises(ExoscaleAPIClientException) as err:
        client.evict_instance_pool_members(id=pool_id, instances=[UNKNOWN])
    assert err.value.response.status_code == 400
    assert client.get_instance_pool(id=pool_id)["size"] == 2
    assert emu.operations() == []


def test_scale_and_evict_through_the_client(emu: EmulatorServer, client: Client, clock: FakeClock,
                                            pool_id: str) -> None:
    oldest = client.get_instance_pool(id=pool_id)["instances"][0]["id"]
    op = client.scale_instance_pool(id=pool_id, size=5)
    assert op["state"] == "pending" and op["reference"]["id"] == pool_id
    pool = client.get_instance_pool(id=pool_id)
    assert (pool["size"], pool["state"]) == (5, "scaling-up")
    clock.advance(30)
    assert client.get_operation(id=op["id"])["state"] == "success"
    assert client.get_instance_pool(id=pool_id)["state"] == "running"
    listing = client.list_instances(manager_id=pool_id, manager_type="instance-pool")["instances"]
    assert len({i["public-ip"] for i in listing}) == 5
    assert all(i["manager"] == {"id": pool_id, "type": "instance-pool"} for i in listing)
    newest = [i["id"] for i in listing][-2:]
    client.evict_instance_pool_members(id=pool_id, instances=newest)
    client.scale_instance_pool(id=pool_id, size=2)  # removes the oldest
    remaining = [i["id"] for i in client.get_instance_pool(id=pool_id)["instances"]]
    assert len(remaining) == 2 and oldest not in remaining and not set(newest) & set(remaining)
    log = emu.operations()
    assert [(e.operation, e.size_before, e.size_after) for e in log] == [
        ("scale-instance-pool", 2, 5), ("evict-instance-pool-members", 5, 3), ("scale-instance-pool", 3, 2)]


def test_list_instances_filters(emu: EmulatorServer, client: Client, pool_id: str) -> None:
    other = emu.create_pool(1)
    assert len(client.list_instances()["instances"]) == 3
    assert len(client.list_instances(manager_id=other)["instances"]) == 1
    ip = client.list_instances(manager_id=other)["instances"][0]["public-ip"]
    assert [i["manager"]["id"] for i in client.list_instances(ip_address=ip)["instances"]] == [other]
    assert client.list_instances(manager_id=UNKNOWN)["instances"] == []


def test_client_wait_polls_the_operation(client: Client, clock: FakeClock, pool_id: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import exoscale.api.v2 as v2

    monkeypatch.setattr(v2, "_sleep", lambda _start: clock.advance(1))
    op = client.scale_instance_pool(id=pool_id, size=3)
    assert client.wait(op["id"])["state"] == "success"


# ---- admin routes ---------------------------------------------------------------------------

def test_admin_pool_creation_logs_and_reset(emu: EmulatorServer, client: Client) -> None:
    created = admin(emu, "POST", "pools", {"size": 3, "name": "web", "zone": "ch-gva-2"})
    assert created.status == 201 and created.body["size"] == 3
    pid = created.body["id"]
    assert client.get_instance_pool(id=pid)["name"] == "web"
    client.scale_instance_pool(id=pid, size=4)
    ops = admin(emu, "GET", "operations").body["operations"]
    assert [(o["operation"], o["pool_id"], o["arguments"], o["size_before"], o["size_after"]) for o in ops] == [
        ("scale-instance-pool", pid, {"size": 4}, 3, 4)]
    assert set(ops[0]) >= {"time", "operation_id", "operation", "pool_id", "arguments", "size_before", "size_after"}
    reqs = admin(emu, "GET", "requests").body["requests"]
    assert [(r["method"], r["operation_id"], r["status"]) for r in reqs] == [
        ("GET", "get-instance-pool", 200), ("PUT", "scale-instance-pool", 200)]
    assert admin(emu, "GET", "pools").body["pools"][0]["id"] == pid
    assert admin(emu, "GET", "state").body["instances"]
    assert admin(emu, "POST", "reset-logs").status == 200
    assert emu.operations() == [] and emu.requests() == []


@pytest.mark.parametrize("payload", [{"size": -1}, {"size": "2"}, {"zone": "mars-1"}, {"bogus": 1}, [1]])
def test_admin_pool_creation_validates(emu: EmulatorServer, payload: object) -> None:
    assert admin(emu, "POST", "pools", payload).status == 400


def test_admin_unknown_route_and_bad_json(emu: EmulatorServer) -> None:
    assert admin(emu, "GET", "nothing").status == 404
    assert raw_request(emu, "POST", "/_emulator/faults", body=b"{", signed=False).status == 400
    assert admin(emu, "GET", "health").body == {"ok": True}


def test_admin_routes_need_no_signature_and_are_not_request_logged(emu: EmulatorServer) -> None:
    admin(emu, "GET", "operations")
    assert emu.requests() == []


def test_only_loopback_binds() -> None:
    with pytest.raises(ValueError):
        EmulatorServer("k", "s", host="0.0.0.0")


def test_json_content_type(emu: EmulatorServer, pool_id: str) -> None:
    resp = raw_request(emu, "GET", f"/v2/instance-pool/{pool_id}")
    assert resp.headers["Content-Type"] == "application/json"
    assert json.dumps(resp.body)


def test_server_ticker_fires_callbacks_without_polling(capsys: pytest.CaptureFixture[str]) -> None:
    import threading
    import time

    running = threading.Event()
    removed: list[str] = []

    def boom(_instance: object) -> None:
        raise RuntimeError("sandbox callback bug")

    with EmulatorServer("k", "s", clock=time.monotonic, boot_delay_s=0.1, op_delay_s=0.05, destroy_delay_s=0.05,
                        on_member_added=boom, on_member_running=lambda i: running.set(),
                        on_member_removed=lambda i: removed.append(i.id)) as server:
        pid = server.create_pool(0)
        c = Client("k", "s", url=server.url)
        assert c.scale_instance_pool(id=pid, size=1)["state"] == "pending"   # the raising callback is contained
        assert running.wait(timeout=120)                                     # fired by the ticker, nobody polled
        member = c.get_instance_pool(id=pid)["instances"][0]["id"]
        c.scale_instance_pool(id=pid, size=0)
        assert removed == [member]
    assert "sandbox callback bug" in capsys.readouterr().err
