"""The tick's pure state machine: its invariants over generated states, pools and requests
(hypothesis), and the typed state's JSON round trip and strictness."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.bucket.accounts import Accounts
from functions.bucket.request import ScaleRequest
from functions.bucket.state import (
    Corrupt,
    Intent,
    LastAction,
    Phase,
    ScalerState,
    ShapeError,
)
from functions.common.fields import SchemaError
from functions.money import ledger as ledger_mod
from functions.money.budget import Budget
from functions.scaler.tick.policy import Action, Member, Outcome, Params, Pending, PoolView
from functions.scaler.tick.transition import (
    Called,
    CallFailed,
    Evict,
    Finished,
    Observed,
    ScaleTo,
    Settings,
    Superseded,
    call_for,
    step,
)

NOW = 1_760_000_000.0
# The budget's calendar: UTC, and zones whose date differs from UTC's at NOW (behind and ahead).
ZONES = ["UTC", "America/Los_Angeles", "Pacific/Kiritimati", "Asia/Kolkata", "Europe/Vienna"]


@st.composite
def pools(draw: st.DrawFn) -> PoolView:
    size = draw(st.integers(0, 9))
    members = tuple(Member(f"m{i:02d}", draw(st.sampled_from(["running"] * 3 + ["starting"])),
                           f"2025-10-09T08:{i:02d}:00Z") for i in range(size))
    return PoolView(size, draw(st.sampled_from(["running", "running", "scaling-up"])), members)


@st.composite
def requests(draw: st.DrawFn) -> tuple[Pending, ...]:
    found = []
    directions = draw(st.sampled_from([["up"], ["down"], ["up", "down"]]))
    for i in range(draw(st.integers(0, 8))):
        age = draw(st.floats(0, 400))  # some past the 300 s TTL
        measured = draw(st.booleans())
        found.append(Pending(f"requests/p/{int((NOW - age) * 1000):013d}-{i}.json", ScaleRequest(
            draw(st.sampled_from(directions)), "alertmanager", NOW - age, "A", f"f{i}",
            draw(st.floats(0, 3)) if measured else None,
            draw(st.integers(1, 12)) if measured else None)))
    return tuple(sorted(found, key=lambda p: p.key))


@st.composite
def settings_(draw: st.DrawFn) -> Settings:
    low = draw(st.integers(1, 3))
    high = draw(st.integers(low, 10))
    params = Params(draw(st.sampled_from([0.5, 0.6, 0.8])), draw(st.integers(1, 4)),
                    draw(st.sampled_from([0.0, 120.0])))
    caps = Budget(draw(st.none() | st.floats(0, 5)), draw(st.none() | st.floats(0, 60)),
                  draw(st.sampled_from(ZONES)))
    return Settings(params, (low, high), paused=draw(st.booleans()), budget=caps,
                    price_hourly=draw(st.sampled_from([0.0, 0.0153, 0.5])))


@st.composite
def states(draw: st.DrawFn) -> ScalerState:
    if not draw(st.booleans()):
        return ScalerState()
    at = NOW - draw(st.floats(1, 900))  # the last action, before or after its cooldown
    ledger = draw(st.none() | st.builds(ledger_mod.start, st.floats(NOW - 86400, NOW), st.integers(0, 9),
                                        st.sampled_from(ZONES)))
    return ScalerState(revision=draw(st.integers(0, 50)), last_tick_at=at,
                       last_action=LastAction(at, Action.UP, 1, 2, "r"),
                       accounts=Accounts(ledger, {"covered": draw(st.integers(0, 3))}))


def keys_of(entries: tuple) -> list[str]:
    return [e.key for e in entries]


@settings(max_examples=600, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(states(), pools(), requests(), settings_(), st.integers(0, 2),
       st.sampled_from(["called", "refused", "superseded"]))
def test_invariants_of_one_tick(state: ScalerState, pool: PoolView, pending: tuple[Pending, ...],
                                cfg: Settings, corrupt_n: int, call: str) -> None:
    corrupt = tuple(Corrupt(f"requests/p/bad{i}.json", "oops") for i in range(corrupt_n))
    low, high = cfg.bounds
    new, effects = step(state, Observed(pool, pending, corrupt, "t"), cfg, NOW)
    records = list(effects.history)
    gone = list(effects.delete)
    intent = new.intent
    # Consumed requests are a subset of what was pending (or unreadable).
    claimed = keys_of(intent.requests) if intent else []
    assert set(gone) | set(claimed) <= set(keys_of(pending)) | set(keys_of(corrupt))
    assert not set(gone) & set(claimed)
    if intent is not None:
        target = intent.target_size
        assert low <= target <= high
        correcting = not low <= pool.size <= high
        assert correcting or abs(target - pool.size) <= cfg.params.max_step
        if correcting:
            assert target == (low if pool.size < low else high)
        if intent.action == Action.DOWN:
            assert len(intent.evict) == pool.size - target  # the pools here list every member
        else:
            assert intent.evict == () and target > pool.size
        # Then the call, as the tick makes it: it goes out, is refused for good, or is not made
        # because something else changed the pool (to the size it had: only the record differs).
        if call == "refused":
            new, done = step(new, CallFailed("quota", refused=True), cfg, NOW)
        elif call == "superseded":
            new, done = step(new, Superseded(pool.size, "running"), cfg, NOW)
            assert new.last_action == state.last_action
        else:
            new, _ = step(new, Called("op-1"), cfg, NOW)
            new, done = step(new, Finished("t"), cfg, NOW)
        records += done.history
        gone += done.delete
        assert new.intent is None
    # Every consumed request is in exactly one history record, and only those are.
    recorded = Counter(e.key for r in records for e in r.requests)
    assert set(recorded.values()) <= {1} and set(recorded) == set(gone)
    assert len(gone) == len(set(gone))
    # Each record counts once under its outcome; the ledger bills the pool from now on.
    counts = Counter(str(r.action) for r in records) + Counter(state.accounts.outcomes)
    assert {k: v for k, v in new.accounts.outcomes.items() if v} == dict(counts)
    ledger, before = new.accounts.ledger, state.accounts.ledger
    assert ledger is not None and ledger.at == NOW and ledger.tz == cfg.budget.tz
    if before is not None and (before.tz, before.day) == (ledger.tz, ledger.day):
        assert ledger.day_s >= before.day_s  # a day's spend never falls within the day
    assert ledger.size == (intent.target_size if intent is not None and call == "called" else pool.size)
    held = any(r.action == Outcome.BUDGET for r in records) or (intent is not None and "budget trims" in
                                                                 intent.reason)
    assert new.accounts.budget_held == state.accounts.budget_held + held
    # What the tick writes reads back as it was.
    assert ScalerState.from_json(new.to_json()) == new
    for record in records:
        assert type(record).from_json(record.to_json()) == record


def test_paused_consumes_nothing_and_records_nothing() -> None:
    pending = (Pending("requests/p/1.json", ScaleRequest("up", "manual", NOW - 1)),)
    new, effects = step(ScalerState(), Observed(PoolView(2, "running"), pending), Settings(
        paused=True), NOW)
    assert effects.history == () and effects.delete == () and new.intent is None
    assert new.paused is True and new.last_decision is not None


def test_expired_and_corrupt_requests_get_one_record_each() -> None:
    old = Pending("requests/p/1.json", ScaleRequest("up", "manual", NOW - 400))
    bad = Corrupt("requests/p/2.json", "bad direction 'x'")
    _, effects = step(ScalerState(), Observed(PoolView(2, "running"), (old,), (bad,)),
                      Settings(), NOW)
    assert [(r.action, keys_of(r.requests)) for r in effects.history] == [
        (Outcome.EXPIRED, [old.key]), (Outcome.CORRUPT, [bad.key])]
    assert effects.delete == (old.key, bad.key)


def test_a_failing_call_is_retried_then_given_up() -> None:
    pending = (Pending("requests/p/1.json", ScaleRequest("up", "manual", NOW - 1)),)
    state, _ = step(ScalerState(), Observed(PoolView(2, "running"), pending), Settings(), NOW)
    for attempt in (1, 2):
        state, effects = step(state, CallFailed("503", refused=False), Settings(), NOW + attempt)
        assert state.intent is not None and state.intent.attempts == attempt
        assert effects.retry and effects.history == ()
    state, effects = step(state, CallFailed("503", refused=False), Settings(), NOW + 3)
    assert state.intent is None and state.refusal is not None
    assert state.refusal.message == "failed: 503"
    assert [r.action for r in effects.history] == [Outcome.FAILED]
    assert effects.delete == ("requests/p/1.json",)


def test_finishing_records_the_action_and_the_cooldown() -> None:
    pending = (Pending("requests/p/1.json", ScaleRequest("down", "manual", NOW - 1)),)
    pool = PoolView(3, "running", tuple(Member(f"m{i}", "running", f"2026-01-01T00:{i:02d}:00Z") for i in range(3)))
    state, _ = step(ScalerState(), Observed(pool, pending, by="a"), Settings(), NOW)
    state, _ = step(state, Called("op"), Settings(), NOW + 1)
    assert state.intent is not None and state.intent.phase == Phase.ACTED
    state, effects = step(state, Finished("b"), Settings(), NOW + 2)
    assert state.last_action == LastAction(NOW + 1, Action.DOWN, 3, 2, state.last_action.reason,
                                           ("m2",), "op", 1)
    assert state.cooldown_until == NOW + 1 + Params().cooldown_s
    assert (state.last_tick_at, state.last_tick_by) == (NOW + 2, "b")
    [record] = effects.history
    assert (record.action, record.name(), record.evicted) == (Outcome.SCALE_DOWN, record.id,
                                                              ("m2",))


def test_the_cooldown_counts_from_the_call_that_succeeded_not_from_the_decision() -> None:
    cfg = Settings(Params(cooldown_s=120.0))
    asked = (Pending("requests/p/1.json", ScaleRequest("up", "manual", NOW - 1)),)
    state, _ = step(ScalerState(), Observed(PoolView(2, "running"), asked), cfg, NOW)
    state, _ = step(state, CallFailed("503", refused=False), cfg, NOW)    # retried by the next tick
    state, _ = step(state, Called("op", at=NOW + 61), cfg, NOW + 60)
    state, _ = step(state, Finished("t"), cfg, NOW + 61)
    assert state.cooldown_until == NOW + 61 + 120 and state.last_action is not None
    assert state.last_action.at == NOW + 61
    members = tuple(Member(f"m{i}", "running", f"t{i}") for i in range(3))
    down = (Pending("requests/p/2.json", ScaleRequest("down", "alertmanager", NOW + 170, "A", "f", 0.1, 3)),)
    _, effects = step(state, Observed(PoolView(3, "running", members), down), cfg, NOW + 61 + 119)
    assert [r.action for r in effects.history] == [Outcome.COOLDOWN]


@pytest.mark.parametrize("event", [Called("x"), Finished(), CallFailed("x", True)])
def test_intent_events_need_an_intent(event: object) -> None:
    with pytest.raises(ValueError):
        step(ScalerState(), event, Settings(), NOW)


INTENT = Intent("i", Action.DOWN, 3, 1, NOW, "r", evict=("a", "b"))
UP_INTENT = replace(INTENT, action=Action.UP, target_size=4, evict=())
ABC = (Member("a", "running"), Member("b", "running"), Member("c", "running"))


@pytest.mark.parametrize("intent, pool, expected", [
    (UP_INTENT, PoolView(3, "running"), ScaleTo(4)),
    (UP_INTENT, PoolView(3, "scaling-up"), ScaleTo(4)),            # busy, but not with our size
    (UP_INTENT, PoolView(4, "running"), None),                     # our call's size: applied
    (UP_INTENT, PoolView(4, "scaling-up"), None),
    (UP_INTENT, PoolView(5, "running"), Superseded(5, "running")),  # someone else grew it
    (UP_INTENT, PoolView(2, "scaling-down"), Superseded(2, "scaling-down")),
    (INTENT, PoolView(3, "running", ABC), Evict(("a", "b"))),
    (INTENT, PoolView(1, "running", (Member("c", "running"),)), None),
    (INTENT, PoolView(1, "scaling-down", (Member("a", "destroying"), Member("b", "destroying"),
                                          Member("c", "running"))), None),
    # a named member gone while the size did not move: replaced, or evicted by someone else
    (INTENT, PoolView(3, "running", (Member("b", "running"), Member("c", "running"),
                                     Member("d", "running"))), Superseded(3, "running")),
    (INTENT, PoolView(3, "scaling-down", (Member("a", "running"),)), Superseded(3, "scaling-down")),
    (INTENT, PoolView(1, "running", ABC[:1]), Superseded(1, "running")),   # not the members we named
    (INTENT, PoolView(4, "running", ABC), Superseded(4, "running")),
])
def test_call_for_calls_skips_what_our_call_left_and_names_what_someone_else_did(
        intent: Intent, pool: PoolView, expected: object) -> None:
    assert call_for(intent, pool) == expected


def test_a_superseded_intent_is_recorded_as_seen_and_is_not_an_action() -> None:
    asked = (Pending("requests/p/1.json", ScaleRequest("up", "manual", NOW - 1)),)
    state, _ = step(ScalerState(), Observed(PoolView(3, "running"), asked), Settings(), NOW)
    assert state.intent is not None
    new, effects = step(state, Superseded(6, "scaling-up"), Settings(), NOW + 60)
    assert new.intent is None and new.last_action is None and new.cooldown_until is None
    [record] = effects.history
    assert (record.action, record.at, record.id) == (Outcome.SUPERSEDED, NOW, state.intent.id)
    assert (record.from_size, record.to_size) == (3, 6) and "size 6, scaling-up" in record.reason
    assert effects.delete == ("requests/p/1.json",) and new.accounts.outcomes == {"superseded": 1}
    ledger = new.accounts.ledger
    assert ledger is not None and ledger.size == 6 and ledger.total_s == 3 * 60


# --- the typed state: strict, one version ----------------------------------------------------

SHAPE = {  # schema 3, as the tick writes it
    "schema": 3, "revision": 4, "last_tick_at": NOW, "last_tick_by": "vm", "paused": False,
    "bounds": {"min": 1, "max": 6},
    "pool": {"size": 2, "state": "running", "serving": 2, "observed_at": NOW},
    "last_decision": {"at": NOW, "action": "scale-up", "reason": "1 up request(s)"},
    "history_pruned_on": "2025-10-09", "refusal": None, "cooldown_until": NOW - 10,
    "last_action": {"at": NOW - 130, "action": "scale-up", "from_size": 1, "to_size": 2,
                    "reason": "r", "evicted": [], "operation_id": "op", "requests": 1},
    "intent": {"id": "abc", "action": "scale-up", "from_size": 2, "target_size": 3, "evict": [],
               "requests": [{"key": "requests/p/1.json", "direction": "up", "source": "manual",
                             "received_at": NOW - 2, "alertname": None, "fingerprint": None,
                             "value": None, "members": None, "trend": None, "cpu": None}],
               "phase": "decided", "operation_id": None, "decided_at": NOW,
               "reason": "1 up request(s)", "attempts": 0, "acted_at": None},
    "accounts": {"ledger": None, "outcomes": {}, "budget_held": 0, "held": None},
}


def test_the_state_reads_back_as_it_was_written() -> None:
    state = ScalerState.from_json(SHAPE)
    assert state.intent is not None and state.intent.requests[0].request.direction == "up"
    assert state.to_json() == SHAPE


@pytest.mark.parametrize("change, message", [
    ({"surprise": 1}, "unknown field(s) 'surprise'"),
    ({"accounts": {"outcomes": {"scale-up": -1}}}, "accounts.outcomes: 'scale-up' must be an integer >= 0"),
    ({"accounts": {"ledger": {"schema": 1}}}, "scaler state.accounts.ledger: missing 'tz'"),
    ({"accounts": {"ledger": {"schema": 2}}}, "scaler state.accounts.ledger: schema 2, this code reads only 1"),
    ({"accounts": {"held": {"at": NOW}}}, "scaler state.accounts.held: missing 'message'"),
    ({"accounts": {"spent": 3}}, "unknown field(s) 'spent'"),
    ({"revision": "4"}, "'revision' must be an integer"),
    ({"pool": {"size": 2}}, "scaler state.pool: missing 'state'"),
    ({"bounds": {"min": 5, "max": 2}}, "needs 1 <= min <= max"),
    ({"last_decision": {"at": NOW, "action": "grow", "reason": ""}}, "'action' must be a known value"),
    ({"intent": {**SHAPE["intent"], "phase": "done"}}, "'phase' must be a known value"),
    ({"intent": {**SHAPE["intent"], "outcome": "acted"}}, "unknown field(s) 'outcome'"),
])
def test_strictness_names_the_first_wrong_field(change: dict, message: str) -> None:
    with pytest.raises(ShapeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ScalerState.from_json({**SHAPE, **change})


@pytest.mark.parametrize("schema", [1, 2, 4, None, "3"])
def test_a_state_of_another_version_is_refused_in_one_line_naming_it(schema: object) -> None:
    with pytest.raises(SchemaError) as err:
        ScalerState.from_json({**SHAPE, "schema": schema})
    assert str(err.value) == f"scaler state: schema {schema!r}, this code reads only 3"


STORED = {"schema": 1, "direction": "up", "source": "grafana", "received_at": NOW,
          "alertname": "PoolCpuHigh", "fingerprint": "fp", "value": 1.5, "members": 2,
          "trend": -0.004, "cpu": 0.817}


def test_a_stored_request_reads_back_as_it_was_written() -> None:
    from functions.bucket.request import from_json
    new = ScaleRequest("up", "grafana", NOW, "PoolCpuHigh", "fp", 1.5, 2, -0.004, 0.817)
    assert new.to_json() == STORED and from_json(STORED) == new
    assert from_json({**STORED, "cpu": 1}).cpu == 1.0


@pytest.mark.parametrize("change, message", [
    ({"schema": 2}, "request: schema 2, this code reads only 1"),
    ({"direction": "x"}, "request: 'direction' must be a known value, got 'x'"),
    ({"source": None}, "request: missing 'source'"),
    ({"received_at": "now"}, "request: 'received_at' must be a finite number"),
    ({"value": -0.1}, "request: 'value' must be a finite number >= 0"),
    ({"members": 0}, "request: 'members' must be an integer >= 1"),
    ({"members": True}, "request: 'members' must be an integer >= 1"),
    *[({"trend": bad}, "request: 'trend' must be a finite number") for bad in ("fast", True, math.nan, math.inf)],
    *[({"cpu": bad}, "request: 'cpu' must be a finite number >= 0") for bad in ("busy", True, math.nan, -0.1)],
    ({"alertname": 3}, "request: 'alertname' must be a string"),
    ({"extra": 1}, "request: unknown field(s) 'extra'"),
])
def test_a_stored_request_of_another_shape_is_refused_naming_the_field(change: dict, message: str) -> None:
    from functions.bucket.request import from_json
    with pytest.raises(ShapeError) as err:
        from_json({**STORED, **change})
    assert str(err.value).startswith(message)
