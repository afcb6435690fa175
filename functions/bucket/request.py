"""One accepted scale request: its record in SOS and how it is read back.

Pure: building, encoding and reading back the JSON body of `requests/<pool>/...` objects (schema
1, read with functions/common/fields.py like every stored record), and the copies the scaler state
and history keep of it.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from functions.common.fields import Fields, require_schema

REQUEST_SCHEMA = 1
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
    trend: float | None = None
    # The pool's average CPU (0..1) over the same window as `value`, if known.
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
        return {"schema": REQUEST_SCHEMA, **asdict(self)}


    @classmethod
    def read(cls, f: Fields) -> ScaleRequest:
        return cls(f.choice("direction", _one_of(DIRECTIONS)), f.choice("source", _one_of(SOURCES)),
                   f.number("received_at"), f.opt_text("alertname"), f.opt_text("fingerprint"),
                   f.opt_number("value", 0), f.opt_integer("members", 1), f.opt_number("trend"),
                   f.opt_number("cpu", 0))


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(text)
        return text
    return parse


def from_json(body: Any, where: str = "request") -> ScaleRequest:
    """A stored request; ShapeError (a ValueError) naming the first field not of its shape."""
    f = Fields(body, where)
    require_schema(body, REQUEST_SCHEMA, where)
    request = ScaleRequest.read(f)
    f.done()
    return request


class Outcome(StrEnum):
    """What became of requests a tick used up: the `action` of their history record."""
    SCALE_UP = "scale-up"
    SCALE_DOWN = "scale-down"
    COVERED = "covered"      # the pool already has the size they ask for
    COOLDOWN = "cooldown"    # scale-down within the cooldown after an action
    AT_BOUND = "at-bound"    # the pool is at the bound they push against
    BUDGET = "budget"        # the spend cap refused the scale-up they asked for (scaler/tick/budget_rule.py)
    EXPIRED = "expired"      # pending longer than the request TTL
    REFUSED = "refused"      # the API answered the scaling call with a 4xx
    FAILED = "failed"        # the scaling call kept failing and was given up
    SUPERSEDED = "superseded"  # the pool changed by something else before the call: not made
    CORRUPT = "corrupt"      # the stored request could not be read


@dataclass(frozen=True)
class Pending:
    key: str
    request: ScaleRequest
