"""Pure: the status view, one document for `inspect status --json` and the receiver's GET /status.

Built from the tick's typed state (functions/bucket/state.py), the pending requests and, when
the caller read them, the discovery snapshot, the lease and the operator's settings.
`receiver_status()` projects it onto the receiver's /status fields (docs/architecture.md).
"""
from __future__ import annotations

from typing import Any

from functions.bucket.request import DIRECTIONS
from functions.bucket.state import ScalerState
from functions.common import keys
from functions.common.bounds import effective_bounds
from functions.common.store import Json, Stored

from . import controls
from .objects import (
    Problem,
    body_of,
    discovery_summary,
    iso,
    num,
    problem,
    request_rows,
    settings_summary,
    state_of,
    text,
    when,
)


def _tick_parts(state: ScalerState, now: float) -> Json:
    """The parts of the view that come from the tick's state object."""
    tick = None
    if state.last_tick_at is not None:
        at, age_s = when(state.last_tick_at, now)
        tick = {"at": at, "age_s": age_s, "by": state.last_tick_by, "revision": state.revision,
                "paused": state.paused}
    last_action = None
    if (act := state.last_action) is not None:
        at, age_s = when(act.at, now)
        last_action = {"at": at, "age_s": age_s, "action": str(act.action),
                       "from_size": act.from_size, "to_size": act.to_size, "reason": act.reason,
                       "requests": act.requests, "evicted": list(act.evicted),
                       "operation_id": act.operation_id}
    last_decision = None
    if (dec := state.last_decision) is not None:
        at, age_s = when(dec.at, now)
        last_decision = {"at": at, "age_s": age_s, "action": str(dec.action), "reason": dec.reason}
    cooldown: Json = {"until": None, "remaining_s": 0.0}
    if state.cooldown_until is not None:
        cooldown = {"until": iso(state.cooldown_until),
                    "remaining_s": round(max(0.0, state.cooldown_until - now), 1)}
    intent = None
    if (it := state.intent) is not None:
        at, age_s = when(it.decided_at, now)
        intent = {"id": it.id, "action": str(it.action), "from_size": it.from_size,
                  "target_size": it.target_size, "evict": list(it.evict),
                  "requests": len(it.requests), "phase": str(it.phase), "decided_at": at,
                  "age_s": age_s, "reason": it.reason, "operation_id": it.operation_id,
                  "attempts": it.attempts}
    refusal = None
    if state.refusal is not None:
        at, age_s = when(state.refusal.at, now)
        refusal = {"at": at, "age_s": age_s, "message": state.refusal.message}
    pool = None
    if state.pool is not None:
        at, age_s = when(state.pool.observed_at, now)
        pool = {"size": state.pool.size, "state": state.pool.state,
                "serving": state.pool.serving, "observed_at": at, "age_s": age_s}
    return {"tick": tick, "last_action": last_action, "last_decision": last_decision,
            "cooldown": cooldown, "intent": intent, "refusal": refusal, "pool": pool}


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


def _pending(rows: list[Json], unreadable: int) -> Json:
    by_direction: dict[str, Json] = {}
    for direction in DIRECTIONS:
        mine = [r for r in rows if r["direction"] == direction]  # oldest first
        by_direction[direction] = {"count": len(mine),
                                   "oldest_age_s": mine[0]["age_s"] if mine else None}
    up = by_direction["up"]["count"]
    return {"total": len(rows), "up": up, "down": len(rows) - up,
            "oldest_at": rows[0]["received_at"] if rows else None,
            "oldest_age_s": rows[0]["age_s"] if rows else None,
            "by_direction": by_direction, "unreadable": unreadable}


def status_view(pool: str, now: float, *, scaler: Stored | None, discovery: Stored | None,
                lease: Stored | None, settings: Stored | None, requests: list[Stored],
                hard_min: int, hard_max: int, price_hourly: float = 0.0, currency: str = "EUR",
                instance_type: str = "") -> Json:
    problems: list[Problem] = []
    state = state_of(scaler, problems)
    before = len(problems)
    pending_rows = request_rows(requests, set(), now, problems)
    unreadable = len(problems) - before
    operator = body_of(settings, problems)  # control/<pool>/settings.json; None: absent or unreadable
    control = settings_summary(operator, keys.settings(pool), problems)
    parts = _tick_parts(state or ScalerState(), now)

    # The tick's record is authoritative once it exists: it used the VM's own hard bounds,
    # which this laptop's environment may not know. Before any tick, compute them the same way.
    if state is not None and state.bounds is not None:
        bounds: Json = {"min": state.bounds.min, "max": state.bounds.max, "source": "last-tick"}
        updated = num(operator, "updated_at")
        # Settings written after the last tick are not in its record yet.
        if state.last_tick_at is not None and updated is not None and updated > state.last_tick_at:
            bounds["source"] = "last-tick, settings changed since"
    else:
        low, high = effective_bounds(hard_min, hard_max, operator)
        bounds = {"min": low, "max": high, "source": "computed"}

    # The controls as they stand now (the schedule moves with the clock) and the money so far.
    accounts = (state or ScalerState()).accounts
    held = None if accounts.held is None else {"at": iso(accounts.held.at), "message": accounts.held.message}
    money = controls.money_view(operator, accounts.ledger, price_hourly=price_hourly, currency=currency,
                                     instance_type=instance_type, now=now, held=held)
    schedule = controls.schedule_view(operator, (hard_min, hard_max), now)

    disc_key = discovery.key if discovery else keys.discovery(pool)
    disc = discovery_summary(body_of(discovery, problems), disc_key, now, problems)
    return {
        "pool_id": pool,
        "now": iso(now),
        **parts,
        "pending": _pending(pending_rows, unreadable),
        "discovery": None if disc is None else {k: v for k, v in disc.items() if k != "targets"},
        "lease": _lease(body_of(lease, problems), keys.lease(pool), now, problems),
        "paused": bool(control and control["paused"]),
        "settings": control,
        "bounds": bounds,
        "hard_bounds": {"min": hard_min, "max": hard_max},
        "schedule": schedule,
        "money": money,
        "errors": problems,
    }


def receiver_status(view: Json) -> dict[str, Any]:
    """The receiver's GET /status: the status view's fields under the names it has always used."""
    tick = view["tick"]
    pending = view["pending"]
    return {
        "pool_id": view["pool_id"],
        "now": view["now"],
        "pending": {**pending["by_direction"], "unreadable": pending["unreadable"]},
        "state_found": tick is not None,
        "pool": view["pool"],
        "last_tick_at": tick["at"] if tick else None,
        "last_action": view["last_action"],
        "last_decision": view["last_decision"],
        "refusal": view["refusal"],
        "paused": tick["paused"] if tick else None,  # as the last tick found it
        "cooldown_until": view["cooldown"]["until"],
        "intent": view["intent"],
        "bounds": {"min": view["bounds"]["min"], "max": view["bounds"]["max"]},
        "errors": view["errors"],
    }
