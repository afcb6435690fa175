"""Model objects → API JSON bodies, shaped like the bundled openapi.json (pure functions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .entities import Instance, Operation, Pool

# Fixed ids: the emulator has one instance type and one template, like a pool built by terraform.
INSTANCE_TYPE = {"id": "b6cd1ff5-3a2f-4e9d-a4d1-8988c1191fe8", "family": "standard", "size": "small",
                 "cpus": 2, "memory": 4294967296, "authorized": True}
TEMPLATE = {"id": "6c0f2d4c-3a7e-4f4e-9b25-1f1b2ad0c9a1", "name": "Linux Ubuntu 24.04 LTS 64-bit"}
DISK_SIZE_GB = 10


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mac(instance_id: str) -> str:
    # Locally administered prefix plus bytes of the id: stable and distinct enough.
    raw = instance_id.replace("-", "")[:10]
    return "06:" + ":".join(raw[i:i + 2] for i in range(0, 10, 2))


def pool(p: Pool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": p.id,
        "name": p.name,
        "size": p.size,
        "state": p.state,
        "instances": [{"id": i} for i in p.members],
        "instance-prefix": p.instance_prefix,
        "instance-type": {"id": INSTANCE_TYPE["id"]},
        "template": {"id": TEMPLATE["id"]},
        "disk-size": DISK_SIZE_GB,
        "public-ip-assignment": "inet4",
        "ipv6-enabled": False,
        "labels": {},
        "security-groups": [],
        "anti-affinity-groups": [],
        "min-available": 0,
    }
    if p.description:
        body["description"] = p.description
    return body


def instance(i: Instance, zone: str, *, listing: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": i.id,
        "name": i.name,
        "state": i.state,
        "public-ip": i.public_ip,
        "public-ip-assignment": "inet4",
        "created-at": iso(i.created_at),
        "manager": {"id": i.pool_id, "type": "instance-pool"},
        "instance-type": {**INSTANCE_TYPE, "zones": [zone]},
        "template": dict(TEMPLATE),
        "mac-address": _mac(i.id),
        "labels": {},
        "security-groups": [],
        "private-networks": [],
        "ssh-keys": [],
    }
    if not i.public_ip:
        # The API omits the address of an instance without one.
        del body["public-ip"]
        body["public-ip-assignment"] = "none"
    if not listing:
        # list-instances items carry a reduced shape in the spec: no disk-size there.
        body["disk-size"] = DISK_SIZE_GB
    return body


def operation(op: Operation, now: float) -> dict[str, Any]:
    return {
        "id": op.id,
        "state": op.state(now),
        "reference": {"id": op.pool_id, "link": f"/v2/instance-pool/{op.pool_id}", "command": "get-instance-pool"},
    }


def error(message: str) -> dict[str, Any]:
    return {"message": message}
