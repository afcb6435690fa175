"""The tick's self-monitoring as node-exporter textfile gauges (what the alerts read): its outcome,
and the figures for the operator's controls: cost, spend, the budget cap, the schedule, and one
counter per outcome (what the dashboard's annotations and the budget alert read).

The outcomes are a fixed set, one series each, and no metric carries a reason label: the number of
series stays constant however many decisions the tick makes. Every sample carries the label
`pool="<name>"` when given one: each pool has its own files, with the same HELP and TYPE text.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from functions.bucket.state import ScalerState
from functions.common import textfile
from functions.money import budget
from functions.money.ledger import Spend

from .transition import Settings

# Every `action` a history record can have; the annotation queries group them.
ACTIONS = ("scale-up", "scale-down")
REFUSALS = ("at-bound", "cooldown", "budget", "refused", "failed")
OUTCOMES = (*ACTIONS, "covered", *REFUSALS[:3], "expired", *REFUSALS[3:], "superseded", "corrupt")

HELP = {
    "autoscaler_cost_per_hour": "The pool's cost per hour at the size the last tick observed (price table).",
    "autoscaler_spend": "Spent so far in the current day or month of the budget's time zone (since the "
                        "first recorded size).",
    "autoscaler_budget_cap": "The operator's spend cap of the period (absent: no cap).",
    "autoscaler_budget_projected": "Projected spend of the period at the current size: spent + hourly cost "
                                   "× hours left.",
    "autoscaler_budget_held_total": "Ticks whose scale-up the spend cap trimmed or refused.",
    "autoscaler_outcomes_total": "History records written, by outcome (scaling actions and refusals).",
    "autoscaler_schedule_rules_in_force": "Schedule rules in force at the last tick.",
    "autoscaler_tick_last_success_timestamp_seconds": "Unix time of the last tick that completed.",
    "autoscaler_tick_last_run_timestamp_seconds": "Unix time the last tick started.",
    "autoscaler_pool_size": "Pool size the last tick observed.",
    "autoscaler_pool_serving": "Running members the last tick observed.",
    "autoscaler_pool_min_size": "Effective minimum pool size (hard and operator bounds).",
    "autoscaler_pool_max_size": "Effective maximum pool size (hard and operator bounds).",
    "autoscaler_last_action_timestamp_seconds": "Unix time of the last scaling action.",
    "autoscaler_last_action_info": "The last scaling action and its reason.",
    "autoscaler_last_decision_info": "What the last tick decided.",
    "autoscaler_pending_requests": "Scale requests left pending after the last tick.",
    "autoscaler_paused": "1 while the operator has paused scaling.",
}
TYPES = {"autoscaler_budget_held_total": "counter", "autoscaler_outcomes_total": "counter"}


@dataclass(frozen=True)
class ControlFigures:
    currency: str = "EUR"
    cost_per_hour: float | None = None                 # None: no size recorded yet (unknown, not 0)
    spend: Mapping[str, float] = field(default_factory=dict)        # period → spent so far
    caps: Mapping[str, float] = field(default_factory=dict)         # period → cap
    projected: Mapping[str, float] = field(default_factory=dict)    # period → projection now
    rules_in_force: int = 0
    outcomes: Mapping[str, int] = field(default_factory=dict)       # outcome → records since the start
    budget_held: int = 0


def samples(figures: ControlFigures) -> dict[str, textfile.Sample]:
    money = {"currency": figures.currency}

    def per_period(values: Mapping[str, float]) -> list[tuple[textfile.Labels, float]]:
        return [({**money, "period": period}, value) for period, value in sorted(values.items())]
    found: dict[str, textfile.Sample] = {
        "autoscaler_budget_held_total": figures.budget_held,
        # every outcome from the start at 0, so the first increment is a visible change
        "autoscaler_outcomes_total": [({"outcome": o}, figures.outcomes.get(o, 0)) for o in OUTCOMES],
        "autoscaler_schedule_rules_in_force": figures.rules_in_force,
    }
    if figures.cost_per_hour is not None:
        found["autoscaler_cost_per_hour"] = [(money, figures.cost_per_hour)]
    for name, values in (("autoscaler_spend", figures.spend), ("autoscaler_budget_cap", figures.caps),
                         ("autoscaler_budget_projected", figures.projected)):
        if values:
            found[name] = per_period(values)
    return found


def render(figures: ControlFigures) -> str:
    return textfile.render(samples(figures), HELP, TYPES)


def _pool(name: str | None) -> dict[str, str] | None:
    return None if name is None else {"pool": name}


def started(now: float, pool: str | None = None) -> str:
    return textfile.render({"autoscaler_tick_last_run_timestamp_seconds": now}, HELP,
                           const_labels=_pool(pool))


def controls(state: ScalerState, settings: Settings, now: float) -> ControlFigures:
    """Cost, spend and the caps' projections at `now` (none before a size was recorded), the
    schedule rules in force and the outcome counters."""
    accounts, caps = state.accounts, settings.budget
    figures = ControlFigures(
        currency=settings.currency, rules_in_force=len(settings.rules_in_force),
        outcomes=accounts.outcomes, budget_held=accounts.budget_held,
        caps=dict(caps.caps()))
    if accounts.ledger is None:
        return figures
    spend = Spend.of(accounts.ledger, now, settings.price_hourly, caps.tz)
    checks = budget.checks(caps, spend, spend.size, settings.price_hourly, now)
    return replace(figures, cost_per_hour=spend.hourly, spend={"day": spend.day, "month": spend.month},
                   projected={c.period: c.projected for c in checks})


def metrics(state: ScalerState, pending: Mapping[str, int], now: float,
            settings: Settings | None = None, pool_name: str | None = None) -> str:
    last, decision, pool, bounds = state.last_action, state.last_decision, state.pool, state.bounds
    return textfile.render({
        **samples(controls(state, settings or Settings(), now)),
        "autoscaler_tick_last_success_timestamp_seconds": now,
        "autoscaler_pool_size": pool.size if pool else 0,
        "autoscaler_pool_serving": pool.serving if pool else 0,
        "autoscaler_pool_min_size": bounds.min if bounds else 0,
        "autoscaler_pool_max_size": bounds.max if bounds else 0,
        "autoscaler_last_action_timestamp_seconds": last.at if last else 0,
        "autoscaler_last_action_info": [({"action": str(last.action) if last else "none",
                                          "reason": last.reason[:200] if last else ""}, 1)],
        # No reason label here: it changes every tick, and each value would be a new series.
        "autoscaler_last_decision_info": [({"action": str(decision.action) if decision
                                            else "none"}, 1)],
        "autoscaler_pending_requests": [({"direction": d}, pending.get(d, 0)) for d in ("up", "down")],
        "autoscaler_paused": 1 if state.paused else 0,
    }, HELP, TYPES, const_labels=_pool(pool_name))
