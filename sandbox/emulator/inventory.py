"""Named account objects besides pools and their members: load balancers, security groups, IAM roles,
API keys, SSH keys and standalone instances (a monitoring VM). The emulator only lists them (for
`./dev acceptance`'s resource counts and leftovers listing); tests place them with `add` and `remove`.
Bodies follow the bundled openapi.json components (load-balancer, security-group, iam-role,
iam-api-key, ssh-key, the list-instances item).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KINDS = ("load-balancers", "security-groups", "iam-roles", "api-keys", "ssh-keys", "instances")


@dataclass(frozen=True)
class Item:
    kind: str
    id: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _nlb(item: Item, now: float) -> dict[str, Any]:
    return {"id": item.id, "name": item.name, "state": "running", "created-at": _iso(now),
            "ip": "127.0.3.1", "services": [], "labels": dict(item.labels)}


def _security_group(item: Item, _now: float) -> dict[str, Any]:
    return {"id": item.id, "name": item.name, "description": "", "rules": []}


def _iam_role(item: Item, _now: float) -> dict[str, Any]:
    return {"id": item.id, "name": item.name, "description": item.name, "editable": True, "labels": dict(item.labels),
            "permissions": [], "policy": {"default-service-strategy": "deny", "services": {}}}


def _api_key(item: Item, _now: float) -> dict[str, Any]:
    # API keys have no id: the key itself names them.
    return {"name": item.name, "key": "EXO" + item.id.replace("-", "")[:24], "role-id": str(uuid.UUID(int=0))}


def _ssh_key(item: Item, _now: float) -> dict[str, Any]:
    digest = hashlib.md5(item.name.encode()).hexdigest()  # the shape of a fingerprint, not security
    return {"name": item.name, "fingerprint": ":".join(digest[i:i + 2] for i in range(0, 32, 2))}


def _instance(item: Item, now: float) -> dict[str, Any]:
    from .render import INSTANCE_TYPE, TEMPLATE  # render imports the model, which owns an Inventory
    return {"id": item.id, "name": item.name, "state": "running", "public-ip": "127.0.3.2",
            "public-ip-assignment": "inet4", "created-at": _iso(now), "labels": dict(item.labels),
            "instance-type": {**INSTANCE_TYPE, "zones": ["at-vie-1"]}, "template": dict(TEMPLATE),
            "mac-address": "06:00:00:00:03:02", "security-groups": [], "private-networks": [], "ssh-keys": []}


RENDER: dict[str, Callable[[Item, float], dict[str, Any]]] = {
    "load-balancers": _nlb, "security-groups": _security_group, "iam-roles": _iam_role,
    "api-keys": _api_key, "ssh-keys": _ssh_key, "instances": _instance,
}


class Inventory:
    """Thread-safe: the HTTP threads list while a test adds or removes."""

    def __init__(self) -> None:
        self._items: dict[str, Item] = {}
        self._lock = threading.Lock()

    def add(self, kind: str, name: str, labels: dict[str, str] | None = None) -> Item:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        item = Item(kind, str(uuid.uuid4()), name, dict(labels or {}))
        with self._lock:
            self._items[item.id] = item
        return item

    def remove(self, item: Item) -> None:
        with self._lock:
            self._items.pop(item.id, None)

    def listing(self, kind: str, now: float) -> list[dict[str, Any]]:
        with self._lock:
            items = [i for i in self._items.values() if i.kind == kind]
        return [RENDER[kind](i, now) for i in items]
