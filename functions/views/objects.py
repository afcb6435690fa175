"""Pure: bucket objects in, JSON-ready views out (the `--json` shapes of `inspect`, and GET /status).

Nothing here does I/O. A corrupt object, or one of the wrong shape, becomes an entry in the
view's `errors` list and the rest of the view is still built. The tick's objects are read with
their typed shapes (functions/bucket/state.py), the same the tick writes and the receiver reads.
The status view lives in status.py, the reads that feed them in reads.py.
"""
from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from functions.bucket import request as scale_request
from functions.bucket.state import HistoryRecord, ScalerState, ShapeError
from functions.common import keys
from functions.common.store import Json, Stored

Problem = dict[str, str]

_HISTORY_NAME_RE = re.compile(r"^(\d{13})-.+\.json$")


def iso(ts: float) -> str:
    """UTC, second precision, `Z` suffix: what an operator pastes into a log search."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def problem(key: str, error: str) -> Problem:
    return {"key": key, "error": error}


def body_of(item: Stored | None, problems: list[Problem]) -> Json | None:
    """The object's JSON body, or None (absent, or reported in `problems` as unreadable)."""
    if item is None:
        return None
    if item.body is None:
        problems.append(problem(item.key, item.error or "unreadable object"))
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


def state_of(item: Stored | None, problems: list[Problem]) -> ScalerState | None:
    """The tick's state object, typed; None when absent or reported as unreadable."""
    if item is None or item.body is None:
        body_of(item, problems)  # reports an unreadable object
        return None
    try:
        return ScalerState.from_json(item.body, item.key)
    except ShapeError as exc:
        problems.append(problem(item.key, str(exc)))
        return None


def when(ts: float | None, now: float) -> tuple[str | None, float | None]:
    """(ISO time, age in seconds, negative in the future) or (None, None)."""
    if ts is None:
        return None, None
    return iso(ts), round(now - ts, 1)


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
                     "value": req.value, "members": req.members, "trend": req.trend, "cpu": req.cpu,
                     "claimed": item.key in claimed})
    return rows


def requests_view(pool: str, items: list[Stored], scaler: Stored | None, now: float) -> Json:
    problems: list[Problem] = []
    state = state_of(scaler, [])  # scaler.json problems belong to `status`, not here
    claimed = {p.key for p in state.intent.requests} if state and state.intent else set()
    rows = request_rows(items, claimed, now, problems)
    return {"pool_id": pool, "now": iso(now), "requests": rows, "errors": problems}


# --- discovery ------------------------------------------------------------------------------

def discovery_summary(body: Json | None, key: str, now: float,
                      problems: list[Problem]) -> Json | None:
    if body is None:
        return None
    if num(body, "checked_at") is None:
        problems.append(problem(key, "missing or malformed 'checked_at'"))
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
    if body is None:
        return None
    try:
        record = HistoryRecord.from_json(body, item.key)
    except ShapeError as exc:
        problems.append(problem(item.key, str(exc)))
        return None
    at, age_s = when(record.at, now)
    return {"key": item.key, "at": at, "age_s": age_s, "action": str(record.action),
            "from_size": record.from_size, "to_size": record.to_size, "reason": record.reason,
            "requests": len(record.requests), "evicted": list(record.evicted),
            "operation_id": record.operation_id}


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
