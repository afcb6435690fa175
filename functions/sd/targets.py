"""Pure: from list_instances answers to file_sd groups, and back from the SOS snapshot."""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

Json = dict[str, Any]


def members_to_targets(instances: Iterable[Json]) -> tuple[list[Json], list[str]]:
    """Running members with a public IP as [{"instance_id", "ip"}] sorted by id; plus skipped ids."""
    targets: list[Json] = []
    skipped: list[str] = []
    for inst in instances:
        if inst.get("state") != "running":
            continue
        ip = inst.get("public-ip")
        if not ip:
            skipped.append(str(inst.get("id")))
            continue
        targets.append({"instance_id": str(inst["id"]), "ip": str(ip)})
    return sorted(targets, key=lambda t: t["instance_id"]), skipped


def groups(targets: Iterable[Json], *, port: int, pool_id: str, zone: str,
           pool_name: str | None = None) -> list[Json]:
    """file_sd groups, one per member so each carries its own instance label (and, given a pool
    name, the `pool` label every alert aggregates by)."""
    pool = {} if pool_name is None else {"pool": pool_name}
    return [{"targets": [f"{t['ip']}:{port}"],
             "labels": {"instance_id": t["instance_id"], "pool_id": pool_id, "zone": zone, **pool}}
            for t in targets]


def render(found: list[Json]) -> str:
    return json.dumps(found, indent=2, sort_keys=True) + "\n"


def file_sd(targets: Iterable[Json], *, port: int, pool_id: str, zone: str,
            pool_name: str | None = None) -> str:
    """The file_sd document of one pool."""
    return render(groups(targets, port=port, pool_id=pool_id, zone=zone, pool_name=pool_name))


def file_targets(text: str, pool_id: str) -> list[Json]:
    """One pool's targets in a file_sd document written before (none if it is not ours)."""
    try:
        found = json.loads(text)
    except ValueError:
        return []
    out = []
    for group in found if isinstance(found, list) else []:
        labels = group.get("labels") if isinstance(group, dict) else None
        hosts = group.get("targets") if isinstance(group, dict) else None
        if (isinstance(labels, dict) and labels.get("pool_id") == pool_id and isinstance(hosts, list)
                and len(hosts) == 1 and isinstance(labels.get("instance_id"), str)):
            out.append({"instance_id": labels["instance_id"], "ip": str(hosts[0]).rsplit(":", 1)[0]})
    return out


def snapshot_targets(body: Json | None) -> list[Json] | None:
    """Targets from a stored snapshot, or None when it is absent or not of our shape."""
    if not body or not isinstance(body.get("targets"), list):
        return None
    out = []
    for t in body["targets"]:
        if not (isinstance(t, dict) and isinstance(t.get("instance_id"), str)
                and isinstance(t.get("ip"), str)):
            return None
        out.append({"instance_id": t["instance_id"], "ip": t["ip"]})
    return out


def next_snapshot(previous: Json | None, targets: list[Json], now: float, pool_id: str,
                  heartbeat_s: float = 300.0) -> Json | None:
    """The snapshot to write now, or None: written on change and at least every heartbeat."""
    changed_at = now
    if previous is not None and snapshot_targets(previous) == targets:
        checked = previous.get("checked_at")
        if isinstance(checked, (int, float)) and now - checked < heartbeat_s:
            return None
        changed_at = previous.get("changed_at", now)
    return {"pool_id": pool_id, "targets": targets, "changed_at": changed_at, "checked_at": now}
