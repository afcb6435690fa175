"""One accepted scale request: its record in SOS and how it is read back.

Pure: building, encoding and validating the JSON body of `requests/<pool>/...` objects.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass
from typing import Any

DIRECTIONS = ("up", "down")
SOURCES = ("grafana", "alertmanager", "manual")


@dataclass(frozen=True)
class ScaleRequest:
    direction: str            # "up" | "down"
    source: str               # "grafana" | "alertmanager" | "manual"
    received_at: float        # unix seconds, receiver's clock
    alertname: str | None = None
    fingerprint: str | None = None
    value: float | None = None  # demand per serving member (fraction of one member), if known
    members: int | None = None  # how many members that average was taken over, if known
    # How fast the total demand grows, members' worth per second (negative: falling), if known.
    # Absent from requests stored before it existed: those read back as None (unknown).
    trend: float | None = None
    # The pool's average CPU (0..1) over the same window as `value`, if known; absent from
    # requests stored before it existed, which read back as None (unknown).
    cpu: float | None = None

    @property
    def received_ms(self) -> int:
        return int(self.received_at * 1000)

    def unique(self) -> str:
        """The key suffix: the alert's fingerprint when it has a safe one, else a fresh uuid."""
        fp = self.fingerprint or ""
        if fp and len(fp) <= 64 and all(c.isalnum() or c in "-_" for c in fp):
            return f"{fp}-{uuid.uuid4().hex[:8]}"
        return uuid.uuid4().hex

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def from_json(body: dict[str, Any]) -> ScaleRequest:
    """Validate a stored request; raises ValueError on anything not of our shape."""
    direction = body.get("direction")
    if direction not in DIRECTIONS:
        raise ValueError(f"bad direction {direction!r}")
    source = body.get("source")
    if source not in SOURCES:
        raise ValueError(f"bad source {source!r}")
    received = body.get("received_at")
    if not isinstance(received, (int, float)) or isinstance(received, bool):
        raise ValueError("bad received_at")
    value = _number(body, "value", non_negative=True)
    members = body.get("members")
    if members is not None and (not isinstance(members, int) or isinstance(members, bool)
                                or members < 1):
        raise ValueError("bad members")
    trend = _number(body, "trend", non_negative=False)
    cpu = _number(body, "cpu", non_negative=True)
    alertname = body.get("alertname")
    fingerprint = body.get("fingerprint")
    for name, item in (("alertname", alertname), ("fingerprint", fingerprint)):
        if item is not None and not isinstance(item, str):
            raise ValueError(f"bad {name}")
    return ScaleRequest(direction, source, float(received), alertname, fingerprint, value, members,
                        trend, cpu)


def _number(body: dict[str, Any], name: str, non_negative: bool) -> float | None:
    """An optional finite number field (None when absent); raises ValueError naming it."""
    item = body.get(name)
    if item is None:
        return None
    if (not isinstance(item, (int, float)) or isinstance(item, bool) or not math.isfinite(item)
            or (non_negative and item < 0)):
        raise ValueError(f"bad {name}")
    return float(item)
