"""Unsigned loopback test hooks under /_emulator/: logs, faults and pool creation.

Routes (JSON in, JSON out):
  GET    /_emulator/health              {"ok": true}
  GET    /_emulator/state               pools and instances, as the model sees them
  GET    /_emulator/operations          {"operations": [operation log entries]}
  GET    /_emulator/requests            {"requests": [request log entries]}
  POST   /_emulator/reset-logs          clear both logs
  GET    /_emulator/faults              current fault configuration
  POST   /_emulator/faults              replace it (see faults.parse_config); DELETE clears it
  GET    /_emulator/pools               pool ids, sizes and states
  POST   /_emulator/pools               {"size": N, "name"?, "zone"?, "instance_prefix"?, "running"?: true}
  POST   /_emulator/instances/<id>/detach-public-ip   the member keeps running without a public IP
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import faults
from .entities import ModelError
from .logs import EventLog
from .model import Model

PREFIX = "/_emulator/"
ZONES = ("at-vie-1", "at-vie-2", "bg-sof-1", "ch-dk-2", "ch-gva-2", "de-fra-1", "de-muc-1", "hr-zag-1")


@dataclass
class AdminContext:
    model: Model
    operation_log: EventLog
    request_log: EventLog
    injector: faults.FaultInjector


def _json(body: bytes) -> Any:
    if not body.strip():
        return {}
    return json.loads(body)


def _create_pool(ctx: AdminContext, raw: Any) -> tuple[int, dict[str, Any]]:
    if not isinstance(raw, dict):
        return 400, {"message": "body must be an object"}
    unknown = set(raw) - {"size", "name", "zone", "instance_prefix", "running"}
    if unknown:
        return 400, {"message": f"unknown fields {sorted(unknown)}"}
    size = raw.get("size", 1)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return 400, {"message": "size must be an integer >= 0"}
    zone = raw.get("zone", "at-vie-1")
    if zone not in ZONES:
        return 400, {"message": f"zone must be one of {ZONES}"}
    name = raw.get("name", "autoscaler-pool")
    prefix = raw.get("instance_prefix", "pool")
    running = raw.get("running", True)
    if not isinstance(name, str) or not isinstance(prefix, str) or not isinstance(running, bool):
        return 400, {"message": "name and instance_prefix must be strings, running a boolean"}
    pool = ctx.model.create_pool(size, name=name, zone=zone, instance_prefix=prefix, running=running)
    return 201, {"id": pool.id, "name": pool.name, "zone": pool.zone, "size": pool.size, "state": pool.state,
                 "members": pool.members}


def handle(ctx: AdminContext, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """Answer one admin call: (status, JSON body)."""
    route = (method, path.split("?", 1)[0].rstrip("/"))
    try:
        raw = _json(body) if method in ("POST", "PUT") else None
    except ValueError:
        return 400, {"message": "body is not valid JSON"}
    if route == ("GET", "/_emulator/health"):
        return 200, {"ok": True}
    if route == ("GET", "/_emulator/state"):
        return 200, ctx.model.snapshot()
    if route == ("GET", "/_emulator/operations"):
        return 200, {"operations": ctx.operation_log.as_dicts()}
    if route == ("GET", "/_emulator/requests"):
        return 200, {"requests": ctx.request_log.as_dicts()}
    if route == ("POST", "/_emulator/reset-logs"):
        ctx.operation_log.clear()
        ctx.request_log.clear()
        return 200, {"ok": True}
    if route == ("GET", "/_emulator/faults"):
        return 200, faults.config_as_dict(ctx.injector.config)
    if route == ("POST", "/_emulator/faults"):
        try:
            ctx.injector.configure(faults.parse_config(raw, ctx.model.clock()))
        except faults.FaultConfigError as exc:
            return 400, {"message": str(exc)}
        return 200, faults.config_as_dict(ctx.injector.config)
    if route == ("DELETE", "/_emulator/faults"):
        ctx.injector.configure(faults.FaultConfig())
        return 200, faults.config_as_dict(ctx.injector.config)
    if route == ("GET", "/_emulator/pools"):
        return 200, {"pools": ctx.model.snapshot()["pools"]}
    if route == ("POST", "/_emulator/pools"):
        try:
            return _create_pool(ctx, raw)
        except ModelError as exc:
            return exc.status, {"message": exc.message}
    parts = route[1].split("/")
    if method == "POST" and len(parts) == 5 and parts[2] == "instances" and parts[4] == "detach-public-ip":
        try:
            inst = ctx.model.detach_public_ip(parts[3])
        except ModelError as exc:
            return exc.status, {"message": exc.message}
        return 200, {"id": inst.id, "public-ip": None}
    return 404, {"message": f"no admin route {method} {route[1]}"}
