"""The bounds in force at a moment: hard bounds, the operator's bounds, then the schedule's rules.

While rules are in force the minimum is the largest of the operator's minimum and the rules'
minimums (a schedule raises the floor, it never lowers what the operator asked for); the maximum
is the largest `max` of the rules that set one, else the operator's; a maximum below the minimum
is lifted to it, and everything is clamped into the hard bounds (SCALER_MIN_SIZE..SCALER_MAX_SIZE).
Pure (reads only the zone database).
"""
from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from functions.common.bounds import effective_bounds

from .rules import Rule

HORIZON_S = 400 * 86400   # a yearly rule's next start is within reach
STARTS_PER_RULE = 200     # bounds the search for the next change of frequent rules


@dataclass(frozen=True)
class InForce:
    min: int
    max: int
    rules: tuple[str, ...]     # ids of the rules in force, in schedule order
    operator: tuple[int, int]  # the bounds without the schedule (hard and operator)

    @property
    def bounds(self) -> tuple[int, int]:
        return self.min, self.max


def combine(hard: tuple[int, int], settings: Mapping[str, Any] | None,
            active: Sequence[Rule]) -> InForce:
    low, high = effective_bounds(hard[0], hard[1], settings)
    if not active:
        return InForce(low, high, (), (low, high))
    floor = max([low, *(r.min for r in active)])
    ceilings = [r.max for r in active if r.max is not None]
    ceiling = max(max(ceilings) if ceilings else high, floor)
    return InForce(_clamp(floor, hard), _clamp(ceiling, hard), tuple(r.id for r in active), (low, high))


def _clamp(size: int, hard: tuple[int, int]) -> int:
    return min(max(size, hard[0]), hard[1])


def bounds_at(hard: tuple[int, int], settings: Mapping[str, Any] | None, rules: Sequence[Rule],
              ts: float) -> InForce:
    return combine(hard, settings, [r for r in rules if r.in_force(ts)])


@dataclass(frozen=True)
class Change:
    at: float
    to: InForce


class _Starts:
    """One rule's starts around a moment: the last one before it and the next ones after it."""

    def __init__(self, rule: Rule, ts: float) -> None:
        self.rule = rule
        last = rule.last_start(ts)
        self.before = [] if last is None else [last]
        self.after: list[float] = []
        for start in rule.starts_after(ts):
            if start > ts + HORIZON_S or len(self.after) >= STARTS_PER_RULE:
                break
            self.after.append(start)
        # Beyond this moment the list may be incomplete (only when STARTS_PER_RULE cut it short).
        self.known_until = (self.after[-1] if len(self.after) >= STARTS_PER_RULE
                            else ts + HORIZON_S)
        self.all = self.before + self.after

    def in_force(self, ts: float) -> bool:
        index = bisect.bisect_right(self.all, ts) - 1
        return index >= 0 and ts < self.all[index] + self.rule.duration_s

    def edges(self) -> list[float]:
        return [t for start in self.all for t in (start, start + self.rule.duration_s)]


def next_change(hard: tuple[int, int], settings: Mapping[str, Any] | None, rules: Sequence[Rule],
                ts: float) -> Change | None:
    """The first moment after `ts` at which the bounds in force differ from now (None: none known
    within the horizon, or before the search ran out of starts of a frequent rule)."""
    if not rules:
        return None
    starts = [_Starts(rule, ts) for rule in rules]
    until = min(s.known_until for s in starts)
    now = combine(hard, settings, [s.rule for s in starts if s.in_force(ts)])
    for edge in sorted({t for s in starts for t in s.edges() if ts < t <= until}):
        then = combine(hard, settings, [s.rule for s in starts if s.in_force(edge)])
        if then.bounds != now.bounds:
            return Change(edge, then)
    return None
