"""The pure core of inspect: time formatting, --since, history selection, settings merge, views."""
from __future__ import annotations

import pytest

from functions.common.store import Stored
from functions.inspect import settings as ops
from functions.inspect import tables, timefmt
from functions.views import objects, status

NOW = 1_760_000_000.0  # 2025-10-09T08:53:20Z


@pytest.mark.parametrize("delta, expected", [
    (0, "0s ago"), (42, "42s ago"), (192, "3m 12s ago"), (7500, "2h 05m ago"),
    (3 * 86400 + 4 * 3600, "3d 4h ago"), (-20, "in 20s"),
])
def test_age(delta: float, expected: str) -> None:
    assert timefmt.ago(delta) == expected


def test_iso_is_utc_with_z() -> None:
    assert objects.iso(NOW) == "2025-10-09T08:53:20Z"


@pytest.mark.parametrize("raw, expected", [
    ("90s", NOW - 90), ("30m", NOW - 1800), ("1h", NOW - 3600), ("2d", NOW - 172800),
    ("1w", NOW - 604800), ("2025-10-09T08:00:00Z", NOW - 3200),
    ("2025-10-09T08:00:00", NOW - 3200), ("2025-10-09T10:00:00+02:00", NOW - 3200),
    ("2025-10-09", NOW - 8 * 3600 - 3200),
])
def test_parse_since(raw: str, expected: float) -> None:
    assert timefmt.parse_since(raw, NOW) == pytest.approx(expected)


@pytest.mark.parametrize("raw", ["", "yesterday", "1y", "-1h", "h1"])
def test_parse_since_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        timefmt.parse_since(raw, NOW)


def test_history_selection_newest_first_limited_and_bounded_by_key_time() -> None:
    base = "history/p/2025-10-09/"
    names = [f"{base}{int((NOW - age) * 1000):013d}-scale-up-x{age}.json"
             for age in (10, 4000, 100, 7200)]
    problems: list[objects.Problem] = []
    chosen = objects.history_selection([*names, base + "junk.txt"], NOW - 5000, 2, problems)
    assert chosen == [names[0], names[2]]
    assert problems == [{"key": base + "junk.txt", "error": "unexpected history key name"}]


# set-bounds validation, table-driven: (stored, --min, --max) -> stored pair or error text
K = ops.KEEP


@pytest.mark.parametrize("current, new_min, new_max, expected", [
    (None, 2, 6, (2, 6)),
    (None, 3, K, (3, None)),
    (None, K, 4, (None, 4)),
    (None, 5, 5, (5, 5)),
    ({"min_size": 2, "max_size": 6}, K, 8, (2, 8)),          # omitted flag keeps the stored value
    ({"min_size": 2, "max_size": 6}, None, K, (None, 6)),    # none clears
    ({"min_size": 2, "max_size": 6}, None, None, (None, None)),
    ({"min_size": "x", "max_size": 6}, K, K, (None, 6)),     # malformed stored bound dropped
    (None, 20, 40, (20, 40)),                                # outside hard bounds: stored, warned
    (None, 6, 4, "min 6 is greater than max 4"),
    ({"max_size": 3}, 5, K, "min 5 is greater than max 3"),  # checked against the stored half
    ({"min_size": 7}, K, 2, "min 7 is greater than max 2"),
    ({"schema": 2}, 1, 2, "schema 2"),
])
def test_set_bounds_validation(current: dict | None, new_min: ops.Size, new_max: ops.Size,
                               expected: tuple | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            ops.merged(current, now=NOW, by="t", min_size=new_min, max_size=new_max)
        return
    got = ops.merged(current, now=NOW, by="t", min_size=new_min, max_size=new_max)
    assert (got["min_size"], got["max_size"]) == expected
    assert got["updated_at"] == NOW and got["updated_by"] == "t" and "schema" not in got


@pytest.mark.parametrize("raw, expected", [("3", 3), (" 12 ", 12), ("none", None), ("-", None)])
def test_parse_size(raw: str, expected: int | None) -> None:
    assert ops.parse_size(raw) == expected


@pytest.mark.parametrize("raw", ["0", "-2", "2.5", "many"])
def test_parse_size_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        ops.parse_size(raw)


def test_pause_keeps_bounds_and_unknown_fields() -> None:
    got = ops.merged({"schema": 1, "min_size": 2, "max_size": 5, "note": "x"}, now=NOW, by="t",
                     paused=True)
    assert got == {"paused": True, "min_size": 2, "max_size": 5, "note": "x",
                   "updated_at": NOW, "updated_by": "t"}


@pytest.mark.parametrize("stored, hard, warned", [
    ({"min_size": 2, "max_size": 6}, (1, 10), None),
    ({"min_size": None, "max_size": 20}, (1, 10), "effective bounds 1..10"),
    ({"min_size": 1, "max_size": 4}, (2, 10), "effective bounds 2..4"),
])
def test_bounds_warnings(stored: dict, hard: tuple[int, int], warned: str | None) -> None:
    notes = ops.bounds_warnings(stored, *hard)
    assert (notes == []) if warned is None else (warned in notes[0])


def _stored(key: str, body: dict | None, error: str | None = None) -> Stored:
    return Stored(key, body, '"etag"', error)


def test_status_view_reports_a_state_of_the_wrong_shape_and_shows_the_rest() -> None:
    scaler = _stored("state/p/scaler.json", {
        "schema": 3, "last_tick_at": NOW - 5, "last_tick_by": 7, "pool": [], "intent": "x"})
    req = _stored("requests/p/1.json", {"schema": 1, "direction": "up", "source": "manual",
                                        "received_at": NOW - 3})
    view = status.status_view("p", NOW, scaler=scaler, discovery=None, lease=None,
                              settings=None, requests=[req], hard_min=1, hard_max=10)
    assert view["tick"] is None and view["pool"] is None and view["intent"] is None
    assert view["errors"] == [{"key": "state/p/scaler.json",
                               "error": "state/p/scaler.json: 'last_tick_by' must be a string, got 7"}]
    assert view["bounds"] == {"min": 1, "max": 10, "source": "computed"}
    assert view["pending"]["up"] == 1
    assert "no tick yet" in tables.status_text(view)


def test_status_view_reports_unknown_schema_and_missing_required_field() -> None:
    view = status.status_view(
        "p", NOW, scaler=_stored("state/p/scaler.json", {"schema": 9, "last_tick_at": NOW}),
        discovery=_stored("state/p/discovery.json", {"targets": []}),
        lease=_stored("lease/p/tick", None, "corrupt object: x"), settings=None,
        requests=[], hard_min=1, hard_max=10)
    assert view["tick"] is None and view["discovery"] is None and view["lease"] is None
    assert sorted(e["key"] for e in view["errors"]) == [
        "lease/p/tick", "state/p/discovery.json", "state/p/scaler.json"]
    assert view["errors"][0]["error"] == "state/p/scaler.json: schema 9, this code reads only 3"


def test_intent_requests_are_claimed() -> None:
    body = {"schema": 1, "direction": "up", "source": "manual", "received_at": NOW - 3}
    req = _stored("requests/p/1.json", body)
    scaler = _stored("state/p/scaler.json", {"schema": 3, "last_tick_at": NOW, "intent": {
        "id": "i", "action": "scale-up", "from_size": 1, "target_size": 2, "evict": [],
        "requests": [{"key": "requests/p/1.json", **body}], "phase": "decided",
        "operation_id": None, "decided_at": NOW, "reason": "r"}})
    view = objects.requests_view("p", [req], scaler, NOW)
    assert view["requests"][0]["claimed"] is True
    shown = status.status_view("p", NOW, scaler=scaler, discovery=None, lease=None,
                               settings=None, requests=[req], hard_min=1, hard_max=10)
    assert shown["intent"]["requests"] == 1 and shown["errors"] == []


def test_receiver_status_keeps_its_field_names() -> None:
    view = status.status_view("p", NOW, scaler=None, discovery=None, lease=None, settings=None,
                              requests=[], hard_min=2, hard_max=7)
    assert status.receiver_status(view) == {
        "pool_id": "p", "now": objects.iso(NOW), "state_found": False, "pool": None,
        "pending": {"up": {"count": 0, "oldest_age_s": None},
                    "down": {"count": 0, "oldest_age_s": None}, "unreadable": 0},
        "last_tick_at": None, "last_action": None, "last_decision": None, "refusal": None,
        "paused": None, "cooldown_until": None, "intent": None,
        "bounds": {"min": 2, "max": 7}, "errors": []}
