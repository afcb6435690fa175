"""The operator's controls end to end in-process: `inspect` writes them (moto server), the real tick
honours them against the API emulator: a spend cap holds the pool back (trimmed, then refused, with
the figures in the history, the status and the metrics) and a schedule raises the minimum without any
alert, whatever the cap says."""
from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from functions.inspect import cli
from functions.money import budget
from functions.scaler.tick import metrics as tick_metrics
from functions.scaler.tick.run import Tick
from sandbox.money import budget_cap, budget_zone
from tests.integration.tickkit import World, add_request, history, pending_keys, tick_world, wait_running


@pytest.fixture
def world(moto_endpoint: str, bucket: str) -> Iterator[World]:
    with tick_world(moto_endpoint, bucket, SCALER_COOLDOWN_S="0") as w:
        wait_running(w.emu, w.pool)
        yield w


def inspect(world: World, *argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(list(argv), world.env, out=out, err=err) == 0, err.getvalue()
    return out.getvalue()


def test_a_cap_trims_then_refuses_and_says_so_everywhere(world: World) -> None:
    now = time.time()
    zone = budget_zone(now)               # early in its day: many hours left, no midnight in the test
    cap = budget_cap(now, zone, 3, world.cfg.price_hourly)
    inspect(world, "set-budget", "--daily", f"{cap}", "--tz", zone)
    add_request(world.store, world.pool, "up", value=2.0)       # 2 serving × 2.0 / 0.7 → 6 (step 4 allows 6)
    tick = world.tick()
    state = tick.run()
    assert world.size() == 3
    [scaled] = history(world.store, world.pool)
    assert scaled["action"] == "scale-up" and scaled["to_size"] == 3
    assert "budget trims 2 -> 6 to 3 (daily cap" in scaled["reason"]
    wait_running(world.emu, world.pool)
    add_request(world.store, world.pool, "up", value=2.0, fingerprint="again")
    tick = world.tick()
    state = tick.run()
    assert world.size() == 3 and pending_keys(world.store, world.pool) == []
    refused = next(r for r in history(world.store, world.pool) if r["action"] == "budget")
    assert refused["reason"].startswith("budget refuses 3 -> ")
    assert f"daily cap {budget.amount(cap)} EUR" in refused["reason"]
    assert (refused["from_size"], refused["to_size"]) == (3, 3) and len(refused["requests"]) == 1
    assert state.accounts.budget_held == 2 and state.accounts.outcomes == {"scale-up": 1, "budget": 1}
    # the operator sees it ...
    status = inspect(world, "status")
    assert "held a scale-up back at" in status and "budget refuses 3 ->" in status
    assert "0.0459 EUR/h now (3 × standard.tiny at 0.0153/h)" in status
    # ... and so does Prometheus
    text = tick_metrics.metrics(state, tick.pending_left, time.time(), tick.settings)
    assert 'autoscaler_outcomes_total{outcome="budget"} 1.0' in text
    assert "autoscaler_budget_held_total 2.0" in text
    assert f'autoscaler_budget_cap{{currency="EUR",period="day"}} {float(cap)!r}' in text


def test_a_schedule_raises_the_minimum_without_an_alert_and_the_cap_cannot_stop_it(world: World) -> None:
    here = datetime.fromtimestamp(time.time(), UTC)
    # starts this very minute, for an hour: in force at the tick below
    inspect(world, "schedule", "add", f"{here.minute} {here.hour} * * *", "--min", "4", "--duration", "1h")
    inspect(world, "set-budget", "--daily", "0")               # nothing may be spent
    state = world.tick().run()
    assert world.size() == 4 and pending_keys(world.store, world.pool) == []
    [scaled] = history(world.store, world.pool)
    assert scaled["action"] == "scale-up" and "below minimum 4" in scaled["reason"]
    assert scaled["requests"] == []
    assert state.bounds is not None and (state.bounds.min, state.bounds.max) == (4, 10)
    assert state.accounts.budget_held == 0                      # a correction up is never held
    listing = inspect(world, "schedule", "list")
    assert "bounds now  4..10 (rule r1); next change" in listing
    # with the pool at its raised minimum, a scale-up request now meets the zero cap
    wait_running(world.emu, world.pool)
    add_request(world.store, world.pool, "up", value=2.0)
    state = world.tick().run()
    assert world.size() == 4 and state.accounts.outcomes.get("budget") == 1


def at(world: World, now: float) -> Tick:
    tick = world.tick()
    tick.clock = lambda: now
    return tick


def test_a_scale_up_keeps_the_days_spend_where_the_local_date_is_not_utcs(world: World) -> None:
    evening = datetime(2026, 11, 29, 2, 0, tzinfo=UTC).timestamp()   # 18:00 on the 28th in Los Angeles
    inspect(world, "set-budget", "--daily", "100", "--tz", "America/Los_Angeles")
    at(world, evening).run()                                          # a pool of 2: the ledger starts
    add_request(world.store, world.pool, "up", value=2.0, at=evening + 600)
    state = at(world, evening + 600).run()
    assert world.size() > 2
    ledger = state.accounts.ledger
    assert ledger is not None and (ledger.tz, ledger.day) == ("America/Los_Angeles", "2026-11-28")
    assert ledger.day_s == 2 * 600 and ledger.month_s == 2 * 600


def test_a_tick_that_finishes_a_leftover_intent_exports_the_real_budget_and_pending(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.scaler.tick import run as tick_module

    class Crash(Exception):
        pass

    def crash_after_intent(name: str) -> None:
        if name == "intent-written":
            raise Crash()

    inspect(world, "set-budget", "--daily", "100")
    add_request(world.store, world.pool, "up", value=2.0)
    monkeypatch.setattr(tick_module, "checkpoint", crash_after_intent)
    with pytest.raises(Crash):
        world.tick().run()
    monkeypatch.undo()
    add_request(world.store, world.pool, "up", value=2.0, fingerprint="late")
    add_request(world.store, world.pool, "down", fingerprint="later")
    tick = world.tick()
    state = tick.run()                                  # the leftover intent's call: this tick's one
    assert world.size() > 2 and state.intent is None
    text = tick_metrics.metrics(state, tick.pending_left, time.time(), tick.settings)
    assert 'autoscaler_budget_cap{currency="EUR",period="day"} 100.0' in text
    assert 'autoscaler_pending_requests{direction="up"} 1.0' in text
    assert 'autoscaler_pending_requests{direction="down"} 1.0' in text
