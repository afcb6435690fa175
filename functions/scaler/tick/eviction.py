"""Whom a scale-down removes: pure ranking of the pool's members.

Exoscale's NLB forwards to the pool as a whole, so a member cannot be drained before it goes;
what the scaler chooses is whom to evict: members not yet serving first, then those holding the
fewest requests in flight (read from each member by the tick: in_flight.py), then
the newest. A member without a figure ranks after every member with one (it may be busy); with no
figures at all (no member answered) the order is readiness, then age. A scale-down the policy asks
for takes only the members that hold no request (`spare`); one that corrects the bounds takes
whom the ranking names.

`created-at` is parsed, not compared as text: fractions of a second and offsets make string
order wrong. A timestamp without an offset is UTC, as the API's are. A member whose creation time
is missing or unreadable has no evidence of being new, so it ranks as the oldest (evicted after
every dated member of its rank); the id breaks the remaining ties, so the order is deterministic.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Member:
    id: str
    state: str
    created_at: str = ""
    ip: str = ""                     # public IP (list-instances): the key of the in-flight figures
    in_flight: float | None = None   # requests it holds now; None = unknown

    @property
    def serving(self) -> bool:
        return self.state == "running"


def created(text: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 `created-at`, or None when there is none."""
    try:
        at = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.timestamp()


def _rank(m: Member) -> tuple[bool, float, bool, float, str]:
    at = created(m.created_at)
    busy = math.inf if m.in_flight is None else m.in_flight
    return (m.serving, busy, at is None, -(at or 0.0), m.id)


def evict_order(members: Sequence[Member], count: int) -> tuple[str, ...]:
    """The `count` members to remove: not yet serving, then fewest in flight, then newest."""
    ranked = sorted(members, key=_rank)
    return tuple(m.id for m in ranked[:max(count, 0)])


def spare(members: Sequence[Member], victims: Sequence[str]) -> tuple[str, ...]:
    """The victims a scale-down can take without cutting a request: those not yet serving or known
    to hold none. With no figure for any member there is nothing to go by: all of them."""
    if all(m.in_flight is None for m in members):
        return tuple(victims)
    by_id = {m.id: m for m in members}
    return tuple(v for v in victims
                 if not by_id[v].serving or (by_id[v].in_flight is not None and by_id[v].in_flight == 0))


def with_in_flight(members: Sequence[Member], by_ip: Mapping[str, float]) -> tuple[Member, ...]:
    """The members with their figures from `by_ip` (a member missing from it: unknown)."""
    return tuple(replace(m, in_flight=by_ip.get(m.ip)) for m in members)
