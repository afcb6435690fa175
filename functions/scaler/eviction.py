"""Whom a scale-down removes: pure ranking of the pool's members.

Members not yet serving go first, then the newest. `created-at` is parsed, not compared as text:
fractions of a second and offsets make string order wrong. A timestamp without an offset is UTC,
as the API's are. A member whose creation time is missing or unreadable has no evidence of being
new, so it ranks as the oldest (evicted after every dated member of its rank); the id breaks the
remaining ties, so the order is deterministic.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    id: str
    state: str
    created_at: str = ""

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


def _rank(m: Member) -> tuple[bool, bool, float, str]:
    at = created(m.created_at)
    return (m.serving, at is None, -(at or 0.0), m.id)


def evict_order(members: Sequence[Member], count: int) -> tuple[str, ...]:
    """The `count` members to remove: not yet serving first, then the newest."""
    ranked = sorted(members, key=_rank)
    return tuple(m.id for m in ranked[:max(count, 0)])
