"""The tick's figures for the operator's controls, as textfile metrics: cost, spend, the budget cap,
the schedule, and one counter per outcome (what the dashboard's annotations and the budget alert read).

The outcomes are a fixed set, one series each, and no metric carries a reason label: the number of
series stays constant however many decisions the tick makes.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from functions.common import textfile

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
