"""Pure time helpers for the operator's view: human durations and ages, `--since` parsing
(the views' UTC stamps come from functions/views/objects.py)."""
from __future__ import annotations

import re
from datetime import UTC, datetime

_SINCE_RE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration(seconds: float) -> str:
    s = round(abs(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def ago(age_s: float) -> str:
    """'42s ago', or 'in 42s' for a time in the future (an expiry, a cooldown end)."""
    return f"in {duration(age_s)}" if age_s < 0 else f"{duration(age_s)} ago"


def parse_since(text: str, now: float) -> float:
    """`90s`, `30m`, `1h`, `2d`, `1w`, or an ISO date/time (naive means UTC); raises ValueError."""
    raw = text.strip()
    match = _SINCE_RE.match(raw.lower())
    if match:
        return now - int(match.group(1)) * _UNIT_S[match.group(2)]
    try:
        when = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since must be like 30m, 1h, 2d or an ISO time, got {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()
