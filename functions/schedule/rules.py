"""One schedule rule (control settings `schedule`): from a five-field cron expression in an IANA zone,
for a duration, the pool has at least `min` members (and at most `max`, when given).

Cron expressions are evaluated by cronsim (https://github.com/cuu508/cronsim), which follows
Debian's cron, daylight-saving changes included: a start in a skipped hour happens when the clock
jumps, a start in a repeated hour happens once. The duration is elapsed time from each start.
Pure, apart from reading the zone database.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cronsim import CronSim, CronSimError

from functions.common import tz as tzmod
from functions.common.fields import Fields, ShapeError

Json = dict[str, Any]
MIN_DURATION_S = 60            # the tick's granularity: a shorter window may never be seen
MAX_DURATION_S = 31 * 86400    # longer is a standing bound: use set-bounds
MAX_RULES = 20
ID_RE = re.compile(r"[a-z0-9-]{1,16}")
_DURATION_RE = re.compile(r"(\d+)([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_cron(expr: str) -> str:
    """The expression, normalised to single spaces; ValueError when it is not five valid fields."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"cron expression {expr!r} must have five fields (minute hour day month "
                         f"weekday), it has {len(fields)}")
    text = " ".join(fields)
    try:
        starts = CronSim(text, datetime(2000, 1, 1))
    except CronSimError as exc:
        raise ValueError(f"invalid cron expression {text!r}: {exc}") from None
    if next(starts, None) is None:
        raise ValueError(f"cron expression {text!r} never matches a date")
    return text


def parse_duration(text: str) -> int:
    """`90m`, `10h`, `1h30m`, `2d` → seconds, within MIN_DURATION_S..MAX_DURATION_S."""
    raw = text.strip().lower()
    parts = _DURATION_RE.findall(raw)
    if not raw or "".join(n + u for n, u in parts) != raw:
        raise ValueError(f"duration must be like 90m, 10h, 1h30m or 2d, got {text!r}")
    seconds = sum(int(n) * _UNIT_S[u] for n, u in parts)
    if not MIN_DURATION_S <= seconds <= MAX_DURATION_S:
        raise ValueError(f"duration must be between 1m and 31d, got {text!r}")
    return seconds


def duration_text(seconds: int) -> str:
    out, left = "", seconds
    for unit in ("d", "h", "m", "s"):
        count, left = divmod(left, _UNIT_S[unit])
        out += f"{count}{unit}" if count else ""
    return out or "0s"


@dataclass(frozen=True)
class Rule:
    id: str
    cron: str
    min: int
    max: int | None
    duration_s: int
    tz: str = "UTC"

    def __post_init__(self) -> None:
        # Types are checked where a rule is read (Fields) or parsed (the CLI); here only the values.
        if not ID_RE.fullmatch(self.id):
            raise ValueError(f"rule id must be 1-16 of a-z, 0-9 and -, got {self.id!r}")
        parse_cron(self.cron)
        tzmod.zone(self.tz)
        for name, value in (("min", self.min), ("max", self.max)):
            if value is not None and value < 1:
                raise ValueError(f"rule {self.id}: {name} must be a whole number >= 1, got {value!r}")
        if self.max is not None and self.max < self.min:
            raise ValueError(f"rule {self.id}: min {self.min} is greater than max {self.max}")
        if not MIN_DURATION_S <= self.duration_s <= MAX_DURATION_S:
            raise ValueError(f"rule {self.id}: duration must be 60..{MAX_DURATION_S} seconds, "
                             f"got {self.duration_s!r}")

    def to_json(self) -> Json:
        return {"id": self.id, "cron": self.cron, "min": self.min, "max": self.max,
                "duration_s": self.duration_s, "tz": self.tz}

    @classmethod
    def from_json(cls, body: Any, where: str = "rule") -> Rule:
        """Read like every stored record (functions/common/fields.py), then checked as any rule."""
        f = Fields(body, where)
        rule = cls(f.text("id"), f.text("cron"), f.integer("min"), f.opt_integer("max"),
                   f.integer("duration_s"), f.text("tz"))
        f.done()
        return rule

    def describe(self) -> str:
        bounds = f"min {self.min}" + ("" if self.max is None else f", max {self.max}")
        return f"{self.cron} ({self.tz}) for {duration_text(self.duration_s)}: {bounds}"

    def explain(self) -> str:
        """cronsim's English reading of the expression ('At 08:00 on Monday through Friday')."""
        try:
            return CronSim(self.cron, datetime(2000, 1, 1)).explain()
        except (CronSimError, ValueError, KeyError, IndexError):  # explain() is best effort upstream
            return self.cron

    # --- when it starts ---------------------------------------------------------------------
    def starts_after(self, ts: float) -> Iterator[float]:
        """Start times strictly after `ts`, in order (Unix seconds)."""
        for when in CronSim(self.cron, tzmod.local(ts, self.tz).replace(microsecond=0)):
            yield when.timestamp()

    def last_start(self, ts: float) -> float | None:
        """The latest start at or before `ts` (None if there was none within 50 years)."""
        # cronsim's reverse iteration excludes its starting second; one second later includes `ts`.
        when = next(CronSim(self.cron, tzmod.local(math.floor(ts) + 1, self.tz), reverse=True), None)
        return None if when is None else when.timestamp()

    def in_force(self, ts: float) -> bool:
        started = self.last_start(ts)
        return started is not None and ts < started + self.duration_s


def from_settings(settings: Mapping[str, Any] | None) -> tuple[Rule, ...]:
    """The rules in control settings; ValueError naming the first bad one."""
    raw = (settings or {}).get("schedule")
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_RULES:
        raise ValueError(f"schedule must be a list of at most {MAX_RULES} rules")
    rules = []
    for index, body in enumerate(raw):
        try:
            rules.append(Rule.from_json(body, f"schedule[{index}]"))
        except ShapeError:
            raise  # names schedule[index] already
        except ValueError as exc:
            raise ValueError(f"schedule[{index}]: {exc}") from None
    if len({r.id for r in rules}) != len(rules):
        raise ValueError("schedule rule ids must be unique")
    return tuple(rules)


def next_id(ids: Iterable[str]) -> str:
    """`r<n>` one above the highest such id in use."""
    numbers = [int(i[1:]) for i in ids if re.fullmatch(r"r\d{1,6}", i)]
    return f"r{max(numbers, default=0) + 1}"
