"""Effective pool-size bounds: the operator's bounds from the bucket clamped into the hard bounds.

Pure and shared: the tick applies it and `inspect status` shows the same result before any tick.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def operator_size(settings: Mapping[str, Any], name: str) -> int | None:
    """The operator's `min_size`/`max_size` when it is a whole number >= 1, else None (ignored)."""
    value = settings.get(name)
    # bool is an int subclass; a hand-edited `true` must not become a size of 1.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return None


def effective_bounds(hard_min: int, hard_max: int,
                     settings: Mapping[str, Any] | None) -> tuple[int, int]:
    """(min, max) the tick enforces.

    `settings` is the body of control/<pool>/settings.json, or None when absent or unreadable.
    Each operator bound (`min_size`, `max_size`) that is an int >= 1 replaces the hard bound and
    is then clamped into [hard_min, hard_max]; a missing, null or malformed one falls back to
    the hard bound. An operator pair with min > max (never written by inspect, only by hand)
    is ignored as a whole: guessing which half is meant could shrink a loaded pool.
    Clamping is monotonic, so the result always satisfies hard_min <= min <= max <= hard_max.
    """
    if hard_min > hard_max:
        raise ValueError(f"hard bounds inverted: {hard_min} > {hard_max}")
    if not settings:
        return hard_min, hard_max
    low = operator_size(settings, "min_size")
    high = operator_size(settings, "max_size")
    if low is not None and high is not None and low > high:
        return hard_min, hard_max
    low = hard_min if low is None else min(max(low, hard_min), hard_max)
    high = hard_max if high is None else min(max(high, hard_min), hard_max)
    # One-sided override: an operator min above the hard max is clamped to hard_max above,
    # and the remaining hard max is >= it, so low <= high holds here too.
    return low, high
