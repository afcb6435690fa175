"""The operator's controls inside the pure transition: the spend cap trims or refuses a scale-up
(never below the minimum), the schedule's bounds scale the pool without a request, the ledger bills
each size from the moment it was asked for, and every history record counts once."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from functions.bucket.accounts import Accounts
from functions.bucket.request import ScaleRequest
from functions.bucket.state import ScalerState
from functions.common import config
from functions.money import ledger as lg
from functions.money.budget import Budget
from functions.scaler.tick.policy import Action, Member, Outcome, Params, Pending, PoolView
from functions.scaler.tick.transition import Called, Finished, Observed, Settings, step
from tests.conftest import handler_env

PRICE = 0.5                                         # EUR per member-hour: round figures
NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()   # a Monday; 12 h left in the UTC day
MIDNIGHT = datetime(2026, 11, 30, 0, 0, tzinfo=UTC).timestamp()
PROPORTIONAL = Params(target_utilization=0.5, cooldown_s=0.0)


def pool(size: int) -> PoolView:
    return PoolView(size, "running",
                    tuple(Member(f"m{i}", "running", f"2026-01-01T00:{i:02d}:00Z") for i in range(size)))


def up(members_worth: float) -> tuple[Pending, ...]:
    """One measured up request: total demand `members_worth` members' worth (proportional wants 2×)."""
    return (Pending("requests/p/1.json", ScaleRequest("up", "alertmanager", NOON - 5, "A", "f",
                                                       members_worth, 1)),)


def state_with(size: int) -> ScalerState:
    """A pool of `size` billed since midnight: spent = size × 12 h × 0.5 = 6 × size at noon."""
    return ScalerState(accounts=Accounts(lg.start(MIDNIGHT, size, "UTC")))


def settings(daily: float | None = None, bounds: tuple[int, int] = (1, 10)) -> Settings:
    return Settings(PROPORTIONAL, bounds, budget=Budget(daily=daily), price_hourly=PRICE)


# pool 2 since midnight: spent 12; each member for the 12 h left: 6
@pytest.mark.parametrize("case, daily, bounds, size, demand, intent_to, outcome", [
    ("no cap: proportional wants 6", None, (1, 10), 2, 3.0, 6, None),
    ("within the cap", 12 + 6 * 6, (1, 10), 2, 3.0, 6, None),
    ("trimmed to what the cap allows", 12 + 4 * 6 + 1, (1, 10), 2, 3.0, 4, None),
    ("refused: not one more member", 12 + 2 * 6 + 1, (1, 10), 2, 3.0, None, Outcome.BUDGET),
    ("already over the cap: refused, not shrunk", 5.0, (1, 10), 2, 3.0, None, Outcome.BUDGET),
    ("the minimum wins: a correction up is never held", 0.0, (4, 10), 2, 3.0, 4, None),
])
def test_the_cap_after_decide(case: str, daily: float | None, bounds: tuple[int, int], size: int,
                              demand: float, intent_to: int | None, outcome: Outcome | None) -> None:
    new, effects = step(state_with(size), Observed(pool(size), up(demand)), settings(daily, bounds), NOON)
    assert (new.intent.target_size if new.intent else None) == intent_to, case
    assert [r.action for r in effects.history] == ([outcome] if outcome else []), case
    limited = outcome is not None or (intent_to is not None and intent_to < 6 and bounds[0] < intent_to)
    assert new.accounts.budget_held == int(limited), case
    assert (new.accounts.held is not None) == limited
    if outcome is Outcome.BUDGET:
        (record,) = effects.history
        # the figures are in the record, the requests are used up like any refusal's
        assert record.reason.startswith(f"budget refuses {size} -> 6 (daily cap")
        assert "spent 12.00 + 6 × 0.5000/h × 12.0 h left" in record.reason
        assert effects.delete == ("requests/p/1.json",) and (record.from_size, record.to_size) == (2, 2)
        assert new.accounts.outcomes == {"budget": 1}
        assert new.last_decision is not None and new.last_decision.action == Action.NONE


def test_a_trimmed_scale_up_says_so_in_its_reason() -> None:
    new, _ = step(state_with(2), Observed(pool(2), up(3.0)), settings(12 + 4 * 6 + 1), NOON)
    assert new.intent is not None
    assert "; budget trims 2 -> 6 to 4 (daily cap 37.00 EUR: spent 12.00 + 6 × 0.5000/h" in new.intent.reason
    assert new.accounts.held is not None and new.accounts.held.message.startswith("budget trims 2 -> 6 to 4")


def test_the_ledger_bills_a_new_size_from_its_call_and_counts_each_record() -> None:
    cfg = settings()
    state, _ = step(ScalerState(), Observed(pool(2), up(3.0)), cfg, NOON)
    assert state.accounts.ledger == lg.start(NOON, 2, "UTC")
    state, _ = step(state, Called("op", at=NOON + 3), cfg, NOON)
    state, effects = step(state, Finished("t"), cfg, NOON)
    assert [r.action for r in effects.history] == [Outcome.SCALE_UP]
    state, _ = step(state, Observed(pool(6), ()), cfg, NOON + 63)
    ledger = state.accounts.ledger
    assert ledger is not None and ledger.total_s == 2 * 3 + 6 * 60 and ledger.size == 6
    assert state.accounts.outcomes == {"scale-up": 1}


def test_a_raised_minimum_scales_the_pool_without_a_request() -> None:
    env = handler_env("http://127.0.0.1:1", "bucket", SCALER_MAX_SIZE="8")
    cfg = config.load(env)
    operator = {"schedule": [{"id": "r1", "cron": "0 8 * * 1-5", "min": 3, "max": None,
                              "duration_s": 36000, "tz": "Europe/Vienna"}]}
    nine_vienna = datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp()       # 09:00 in Vienna
    morning = Settings.of(cfg, operator, nine_vienna)
    assert morning.bounds == (3, 8) and morning.rules_in_force == ("r1",)
    new, effects = step(ScalerState(), Observed(pool(1), ()), morning, nine_vienna)
    assert new.intent is not None and (new.intent.action, new.intent.target_size) == (Action.UP, 3)
    assert "below minimum 3" in new.intent.reason and effects.delete == ()
    evening = Settings.of(cfg, operator, nine_vienna + 10 * 3600)             # 19:00 in Vienna
    assert evening.bounds == (1, 8) and evening.rules_in_force == ()
    assert Settings.of(cfg, operator).bounds == (1, 8)                        # without a moment: no schedule


@pytest.mark.parametrize("operator, problem", [
    ({"schedule": [{"id": "r1", "cron": "0 99 * * *", "min": 2, "max": None, "duration_s": 60, "tz": "UTC"}]},
     "schedule ignored: schedule[0]: invalid cron expression"),
    ({"budget": {"daily": -1}}, "budget ignored: budget: 'daily' must be a finite number >= 0"),
])
def test_malformed_controls_are_ignored_and_named(operator: dict, problem: str) -> None:
    cfg = config.load(handler_env("http://127.0.0.1:1", "bucket"))
    got = Settings.of(cfg, operator, NOON)
    assert len(got.problems) == 1 and got.problems[0].startswith(problem)
    assert got.bounds == (1, 10) and got.budget == Budget()
    assert dataclasses.replace(got, problems=()) == dataclasses.replace(Settings.of(cfg, {}, NOON))


def test_the_price_comes_from_the_configured_table(tmp_path: object) -> None:
    cfg = config.load(handler_env("http://127.0.0.1:1", "bucket", SCALER_INSTANCE_TYPE="standard.small"))
    got = Settings.of(cfg, None, NOON)
    assert (got.price_hourly, got.currency) == (0.0278, "EUR")


def test_a_call_found_applied_by_a_later_tick_is_billed_from_its_decision() -> None:
    cfg = settings()
    state, _ = step(ScalerState(), Observed(pool(2), up(3.0)), cfg, NOON)       # killed after its call
    state, _ = step(state, Called(None, at=NOON + 70), cfg, NOON + 70)          # the next tick finds it applied
    state, _ = step(state, Finished("t"), cfg, NOON + 70)
    state, _ = step(state, Observed(pool(6), ()), cfg, NOON + 70)
    ledger = state.accounts.ledger
    assert ledger is not None and ledger.total_s == 6 * 70
