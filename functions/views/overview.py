"""Pure: one summary per pool, from each pool's status view (status.py). The document behind
`inspect status` without --pool and the receiver's GET /status without ?pool= when a deployment
scales several pools: `{"now", "pools": [one row each, in the order configured], "errors"}`."""
from __future__ import annotations

from collections.abc import Sequence

from functions.common.store import Json

from .objects import iso


def pool_row(name: str, view: Json) -> Json:
    """The headline of one pool's status view: size, last action, pending, controls, lease."""
    pool, act, tick = view["pool"], view["last_action"], view["tick"]
    intent, lease, refusal = view["intent"], view["lease"], view["refusal"]
    return {
        "name": name,
        "pool_id": view["pool_id"],
        "size": None if pool is None else pool["size"],
        "state": None if pool is None else pool["state"],
        "serving": None if pool is None else pool["serving"],
        "bounds": {"min": view["bounds"]["min"], "max": view["bounds"]["max"]},
        "tick_age_s": None if tick is None else tick["age_s"],
        "last_action": None if act is None else {
            "action": act["action"], "from_size": act["from_size"], "to_size": act["to_size"],
            "at": act["at"], "age_s": act["age_s"]},
        "pending": {"up": view["pending"]["up"], "down": view["pending"]["down"]},
        "paused": view["paused"],
        "cooldown_remaining_s": view["cooldown"]["remaining_s"],
        "intent": None if intent is None else {
            "action": intent["action"], "phase": intent["phase"],
            "target_size": intent["target_size"]},
        "refusal": None if refusal is None else refusal["message"],
        "lease": None if lease is None else {"holder": lease["holder"], "held": lease["held"]},
        "errors": len(view["errors"]),
    }


def overview(views: Sequence[tuple[str, Json]], now: float) -> Json:
    """Every pool's row; `errors` gathers every pool's problems (each names its object's key,
    which names the pool's id)."""
    return {"now": iso(now), "pools": [pool_row(name, view) for name, view in views],
            "errors": [item for _, view in views for item in view["errors"]]}
