"""A user's load shape as a benchmark trace: `t_s,demand_members` CSV → demand per second.

The header row is `t_s,demand_members`; each row's demand (members' worth, ≥ 0; on
http-load-generator the requests in flight over the whole pool) holds from its `t_s` until the
next row's, and the last row's for HOLD_LAST_S more, so the policies can settle after it. Times are
whole seconds, the first is 0, and they strictly increase. Anything else is a `TraceError` naming
the file, the line and what is wrong, and no trace is built. A file whose name starts with one of
STEADY_PREFIXES holds steady load: the replay's aims expect 0 flaps on it.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from .traces import Trace

HEADER = ("t_s", "demand_members")
HOLD_LAST_S = 600
STEADY_PREFIXES = ("steady", "flat", "plateau")
MAX_DURATION_S = 7 * 24 * 3600  # a week at one step per second is already minutes of replay


class TraceError(ValueError):
    """A CSV that is not a trace; the message is one line: `file:line: what`."""


def _number(text: str, where: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TraceError(f"{where}: {what} {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise TraceError(f"{where}: {what} {text.strip()!r} is not finite")
    return value


def parse(text: str, name: str) -> Trace:
    """The trace in `text` (a CSV file's content), named `name`."""
    rows = list(csv.reader(io.StringIO(text)))
    numbered = [(i + 1, [cell.strip() for cell in row]) for i, row in enumerate(rows)
                if row and any(cell.strip() for cell in row)]
    if not numbered:
        raise TraceError(f"{name}: empty file, expected the header {','.join(HEADER)}")
    line, header = numbered[0]
    if tuple(header) != HEADER:
        raise TraceError(f"{name}:{line}: header must be {','.join(HEADER)}, got {','.join(header)}")
    points: list[tuple[int, float]] = []
    for line, row in numbered[1:]:
        where = f"{name}:{line}"
        if len(row) != 2:
            raise TraceError(f"{where}: expected 2 values (t_s,demand_members), got {len(row)}")
        t = _number(row[0], where, "t_s")
        demand = _number(row[1], where, "demand_members")
        if not t.is_integer() or t < 0:
            raise TraceError(f"{where}: t_s {row[0]!r} must be a whole number of seconds >= 0")
        if demand < 0:
            raise TraceError(f"{where}: demand_members {row[1]!r} must be >= 0")
        if not points and t != 0:
            raise TraceError(f"{where}: the first t_s must be 0, got {row[0]}")
        if points and t <= points[-1][0]:
            raise TraceError(f"{where}: t_s {row[0]} does not increase (previous {points[-1][0]})")
        if t > MAX_DURATION_S:
            raise TraceError(f"{where}: t_s {row[0]} is past the longest trace ({MAX_DURATION_S} s)")
        points.append((int(t), demand))
    if not points:
        raise TraceError(f"{name}: no rows after the header")
    demand_per_s: list[float] = []
    ends = [t for t, _ in points[1:]] + [points[-1][0] + HOLD_LAST_S]
    for (t, value), end in zip(points, ends, strict=True):
        demand_per_s.extend([value] * (end - t))
    return Trace(name, tuple(demand_per_s),
                 f"from {name}.csv: {len(points)} rows, last value held {HOLD_LAST_S} s",
                 steady=name.startswith(STEADY_PREFIXES))


def load(path: Path) -> Trace:
    """The trace in a CSV file, named after the file (its stem)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: cannot read: {exc}") from None
    return parse(text, path.stem)
