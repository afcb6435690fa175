"""IANA time zones by name, with one-line errors, and the calendar periods cost and caps use.

The zone database comes from the system (/usr/share/zoneinfo) or, on a machine without one, from
the `tzdata` package pinned in functions/requirements.txt, which `zoneinfo` falls back to
(https://docs.python.org/3/library/zoneinfo.html#data-sources).
"""
from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Period = Literal["day", "month"]


class ZoneError(ValueError):
    """Not a time zone this machine knows; the message names it."""


@functools.lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The zone called `name` (e.g. `Europe/Vienna`, `UTC`); ZoneError when it is unknown."""
    key = name.strip()
    if not key or key.startswith("/") or ".." in key:
        raise ZoneError(f"unknown time zone {name!r} (an IANA name like Europe/Vienna or UTC)")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ZoneError(f"unknown time zone {name!r} (an IANA name like Europe/Vienna or UTC)") from None


def known(name: str) -> str:
    """`name` without surrounding blanks, once it is known to be a zone (ZoneError otherwise)."""
    zone(name)
    return name.strip()


def local(ts: float, tz: str) -> datetime:
    return datetime.fromtimestamp(ts, tz=zone(tz))


def period_key(ts: float, tz: str, period: Period) -> str:
    """`2026-11-28` for a day, `2026-11` for a month, in the zone's calendar."""
    return local(ts, tz).strftime("%Y-%m-%d" if period == "day" else "%Y-%m")


def period_span(ts: float, tz: str, period: Period) -> tuple[float, float]:
    """(start, end) in Unix seconds of the day or month holding `ts`, in the zone's calendar.

    Both ends are local midnights converted through UTC, so a day with a daylight-saving change
    lasts 23 or 25 hours. A midnight that does not exist locally (a zone that changes at 00:00)
    resolves to the first instant after it, as zoneinfo's fold=0 does.
    """
    here = local(ts, tz)
    first = here.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        first = first.replace(day=1)
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    else:
        following = (first + timedelta(days=1)).replace(hour=0)
    return _instant(first), _instant(following)


def _instant(wall: datetime) -> float:
    # A wall time's timestamp via UTC: arithmetic on aware datetimes in one zone is wall-clock.
    return wall.astimezone(UTC).timestamp()
