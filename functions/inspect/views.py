"""Pure core of `inspect`: bucket objects in, JSON-ready views out (the `--json` shapes).

Nothing here does I/O. Every reader is defensive: a corrupt object or a field of the wrong
type becomes an entry in the view's `errors` list and the rest of the view is still built.
"""
from __future__ import annotations

import math
import re
from typing import Any

from functions.common import keys
from functions.common.bounds import effective_bounds
from functions.common.store import Json, Stored
from functions.scaler import scale_request

from .timefmt import iso

Problem = dict[str, str]

_HISTORY_NAME_RE = re.compile(r"^(\d{13})-.+\.json$")


def problem(key: str, error: str) -> Problem:
    return {"key": key, "error": error}


def body_of(item: Stored | None, problems: list[Problem]) -> Json | None:
    """The object's JSON body, or None (absent, or reported in `problems` as unreadable)."""
    if item is None:
        return None
    if item.body is None:
        problems.append(problem(item.key, item.error or "unreadable object"))
        return None
    schema = item.body.get("schema")
    if schema is not None and schema != keys.SCHEMA:
        problems.append(problem(item.key, f"unsupported schema {schema!r} (this inspect reads "
                                          f"{keys.SCHEMA})"))
        return None
    return item.body


# Typed field readers: a wrong type reads as None, so one bad field never hides the others.
def num(body: Any, name: str) -> float | None:
    value = body.get(name) if isinstance(body, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def integer(body: Any, name: str) -> int | None:
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text(body: Any, name: str) -> str | None:
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def obj(body: Any, name: str) -> dict[str, Any] | None:
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, dict) else None


def strings(body: Any, name: str) -> list[str]:
    value = body.get(name) if isinstance(body, dict) else None
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def request_keys(body: Any, name: str) -> list[str]:
    """Request references in an intent: keys, or request bodies carrying their `key` (the tick)."""
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, list):
        return []
    found = [v if isinstance(v, str) else v.get("key") if isinstance(v, dict) else None
             for v in value]
    return [k for k in found if isinstance(k, str)]


def when(ts: float | None, now: float) -> tuple[str | None, float | None]:
    """(ISO time, age in seconds, negative in the future) or (None, None)."""
    if ts is None:
        return None, None
    return iso(ts), round(now - ts, 1)


def _need(body: Json, key: str, fields: dict[str, str], problems: list[Problem]) -> bool:
    """Check required fields ('num' | 'int' | 'str'); report the first failure of this object."""
    readers = {"num": num, "int": integer, "str": text}
    for name, kind in fields.items():
        if readers[kind](body, name) is None:
            problems.append(problem(key, f"missing or malformed {name!r}"))
            return False
    return True


# --- requests -------------------------------------------------------------------------------

def request_rows(items: list[Stored], claimed: set[str], now: float,
                 problems: list[Problem]) -> list[Json]:
    """Pending requests oldest first (keys sort by received time); `claimed` = in the intent."""
    rows: list[Json] = []
    for item in sorted(items, key=lambda i: i.key):
        body = body_of(item, problems)
        if body is None:
            continue
        try:
            req = scale_request.from_json(body)
        except ValueError as exc:
            problems.append(problem(item.key, f"not a scale request: {exc}"))
            continue
        at, age_s = when(req.received_at, now)
        rows.append({"key": item.key, "received_at": at, "age_s": age_s,
                     "direction": req.direction, "source": req.source,
                     "alertname": req.alertname, "fingerprint": req.fingerprint,
                     "value": req.value, "claimed": item.key in claimed})
    return rows


def requests_view(pool: str, items: list[Stored], scaler: Stored | None, now: float) -> Json:
    problems: list[Problem] = []
    state = body_of(scaler, [])  # scaler.json problems belong to `status`, not here
    claimed = set(request_keys(obj(state, "intent"), "requests"))
    rows = request_rows(items, claimed, now, problems)
    return {"pool_id": pool, "now": iso(now), "requests": rows, "errors": problems}


# --- discovery ------------------------------------------------------------------------------

def discovery_summary(body: Json | None, key: str, now: float,
                      problems: list[Problem]) -> Json | None:
    if body is None or not _need(body, key, {"checked_at": "num"}, problems):
        return None
    raw = body.get("targets")
    if not isinstance(raw, list):
        problems.append(problem(key, "missing or malformed 'targets'"))
        raw = []
    targets = []
    for entry in raw:
        if isinstance(entry, dict) and text(entry, "instance_id") and text(entry, "ip"):
            targets.append({"instance_id": entry["instance_id"], "ip": entry["ip"]})
        else:
            problems.append(problem(key, f"malformed target {entry!r}"))
    checked_at, checked_age = when(num(body, "checked_at"), now)
    changed_at, changed_age = when(num(body, "changed_at"), now)
    return {"checked_at": checked_at, "checked_age_s": checked_age, "changed_at": changed_at,
            "changed_age_s": changed_age, "members": len(targets), "targets": targets}


def discovery_view(pool: str, item: Stored | None, now: float) -> Json:
    problems: list[Problem] = []
    key = item.key if item else keys.discovery(pool)
    summary = discovery_summary(body_of(item, problems), key, now, problems)
    return {"pool_id": pool, "now": iso(now), "discovery": summary, "errors": problems}


# --- history --------------------------------------------------------------------------------

def history_selection(all_keys: list[str], since: float | None, limit: int,
                      problems: list[Problem]) -> list[str]:
    """Keys to read, newest first: the time is in the key, so nothing older is fetched."""
    dated: list[tuple[int, str]] = []
    for key in all_keys:
        match = _HISTORY_NAME_RE.match(key.rsplit("/", 1)[-1])
        if not match:
            problems.append(problem(key, "unexpected history key name"))
            continue
        ms = int(match.group(1))
        if since is None or ms >= since * 1000:
            dated.append((ms, key))
    dated.sort(reverse=True)
    return [key for _, key in dated[:limit]]


def history_record(item: Stored, now: float, problems: list[Problem]) -> Json | None:
    body = body_of(item, problems)
    if body is None or not _need(body, item.key, {"at": "num", "action": "str"}, problems):
        return None
    at, age_s = when(num(body, "at"), now)
    requests = body.get("requests")
    return {"key": item.key, "at": at, "age_s": age_s, "action": body["action"],
            "from_size": integer(body, "from_size"), "to_size": integer(body, "to_size"),
            "reason": text(body, "reason") or "",
            "requests": len(requests) if isinstance(requests, list) else 0,
            "evicted": strings(body, "evicted"), "operation_id": text(body, "operation_id")}


def history_view(pool: str, items: list[Stored], since: float | None, now: float,
                 problems: list[Problem]) -> Json:
    records = [r for r in (history_record(i, now, problems) for i in items) if r is not None]
    records.sort(key=lambda r: (r["at"], r["key"]), reverse=True)
    return {"pool_id": pool, "now": iso(now), "since": iso(since) if since is not None else None,
            "records": records, "errors": problems}


# --- settings -------------------------------------------------------------------------------

def settings_summary(body: Json | None, key: str, problems: list[Problem]) -> Json | None:
    if body is None:
        return None
    paused = body.get("paused", False)
    if not isinstance(paused, bool):
        problems.append(problem(key, "malformed 'paused'"))
        paused = False
    for name in ("min_size", "max_size"):
        value = body.get(name)
        if value is not None and (integer(body, name) is None or value < 1):
            problems.append(problem(key, f"malformed {name!r} (ignored by the tick)"))
    updated = num(body, "updated_at")
    return {"paused": paused, "min_size": integer(body, "min_size"),
            "max_size": integer(body, "max_size"),
            "updated_at": None if updated is None else iso(updated),
            "updated_by": text(body, "updated_by")}


# --- status ---------------------------------------------------------------------------------

def _action(entry: Any, now: float) -> Json | None:
    if not isinstance(entry, dict):
        return None
    at, age_s = when(num(entry, "at"), now)
    return {"at": at, "age_s": age_s, "action": text(entry, "action"),
            "from_size": integer(entry, "from_size"), "to_size": integer(entry, "to_size"),
            "reason": text(entry, "reason") or "", "requests": integer(entry, "requests"),
            "evicted": strings(entry, "evicted"), "operation_id": text(entry, "operation_id")}


def _decision(entry: Any, now: float) -> Json | None:
    if not isinstance(entry, dict):
        return None
    at, age_s = when(num(entry, "at"), now)
    return {"at": at, "age_s": age_s, "action": text(entry, "action"),
            "reason": text(entry, "reason") or ""}


def _intent(entry: Any, now: float) -> Json | None:
    if not isinstance(entry, dict):
        return None
    at, age_s = when(num(entry, "decided_at"), now)
    return {"id": text(entry, "id"), "action": text(entry, "action"),
            "from_size": integer(entry, "from_size"),
            "target_size": integer(entry, "target_size"), "evict": strings(entry, "evict"),
            "requests": len(request_keys(entry, "requests")), "phase": text(entry, "phase"),
            "decided_at": at, "age_s": age_s, "reason": text(entry, "reason") or "",
            "operation_id": text(entry, "operation_id")}


def _lease(body: Json | None, key: str, now: float, problems: list[Problem]) -> Json | None:
    if body is None:
        return None
    expires = num(body, "expires_at")
    if expires is None:
        problems.append(problem(key, "missing or malformed 'expires_at'"))
        return None
    acquired_at, _ = when(num(body, "acquired_at"), now)
    return {"holder": text(body, "holder"), "acquired_at": acquired_at,
            "expires_at": iso(expires), "expires_in_s": round(expires - now, 1),
            "held": expires > now}


def status_view(pool: str, now: float, *, scaler: Stored | None, discovery: Stored | None,
                lease: Stored | None, settings: Stored | None, requests: list[Stored],
                hard_min: int, hard_max: int) -> Json:
    problems: list[Problem] = []
    state = body_of(scaler, problems)
    if state is not None and not _need(state, keys.scaler_state(pool),
                                       {"last_tick_at": "num"}, problems):
        state = None

    pending_rows = request_rows(requests, set(), now, problems)
    up = sum(1 for r in pending_rows if r["direction"] == "up")
    oldest_at = pending_rows[0]["received_at"] if pending_rows else None
    oldest_age = pending_rows[0]["age_s"] if pending_rows else None

    control = settings_summary(body_of(settings, problems), keys.settings(pool), problems)
    tick: Json | None = None
    cooldown: Json = {"until": None, "remaining_s": 0.0}
    pool_info: Json | None = None
    refusal: Json | None = None
    if state is not None:
        at, age_s = when(num(state, "last_tick_at"), now)
        tick = {"at": at, "age_s": age_s, "by": text(state, "last_tick_by"),
                "revision": integer(state, "revision"), "paused": state.get("paused") is True}
        until = num(state, "cooldown_until")
        if until is not None:
            cooldown = {"until": iso(until), "remaining_s": round(max(0.0, until - now), 1)}
        raw_pool = obj(state, "pool")
        if raw_pool is not None:
            observed_at, observed_age = when(num(raw_pool, "observed_at"), now)
            pool_info = {"size": integer(raw_pool, "size"), "state": text(raw_pool, "state"),
                         "serving": integer(raw_pool, "serving"), "observed_at": observed_at,
                         "age_s": observed_age}
        raw_refusal = obj(state, "refusal")
        if raw_refusal is not None:
            r_at, r_age = when(num(raw_refusal, "at"), now)
            refusal = {"at": r_at, "age_s": r_age, "message": text(raw_refusal, "message") or ""}

    # The tick's record is authoritative once it exists: it used the VM's own hard bounds,
    # which this laptop's environment may not know. Before any tick, compute them the same way.
    recorded = obj(state, "bounds")
    if recorded is not None and integer(recorded, "min") and integer(recorded, "max"):
        bounds = {"min": recorded["min"], "max": recorded["max"], "source": "last-tick"}
        tick_at, updated = num(state, "last_tick_at"), num(settings.body if settings else None,
                                                            "updated_at")
        # Settings written after the last tick are not in its record yet.
        if tick_at is not None and updated is not None and updated > tick_at:
            bounds["source"] = "last-tick, settings changed since"
    else:
        low, high = effective_bounds(hard_min, hard_max, settings.body if settings and
                                     control is not None else None)
        bounds = {"min": low, "max": high, "source": "computed"}

    disc_problems_key = discovery.key if discovery else keys.discovery(pool)
    disc = discovery_summary(body_of(discovery, problems), disc_problems_key, now, problems)
    return {
        "pool_id": pool,
        "now": iso(now),
        "tick": tick,
        "last_action": _action(state.get("last_action") if state else None, now),
        "last_decision": _decision(state.get("last_decision") if state else None, now),
        "cooldown": cooldown,
        "intent": _intent(state.get("intent") if state else None, now),
        "refusal": refusal,
        "pool": pool_info,
        "pending": {"total": len(pending_rows), "up": up, "down": len(pending_rows) - up,
                    "oldest_at": oldest_at, "oldest_age_s": oldest_age},
        "discovery": None if disc is None else {k: v for k, v in disc.items() if k != "targets"},
        "lease": _lease(body_of(lease, problems), keys.lease(pool), now, problems),
        "paused": bool(control and control["paused"]),
        "settings": control,
        "bounds": bounds,
        "hard_bounds": {"min": hard_min, "max": hard_max},
        "errors": problems,
    }
