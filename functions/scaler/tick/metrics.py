"""The tick's self-monitoring: its outcome as node-exporter textfile gauges (what the alerts read)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from functions.common import textfile
from functions.money import budget
from functions.money.ledger import Spend

from . import control_metrics
from .state import ScalerState
from .transition import Settings

HELP = {**control_metrics.HELP,
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


def started(now: float) -> str:
    return textfile.render({"autoscaler_tick_last_run_timestamp_seconds": now}, HELP)


def controls(state: ScalerState, settings: Settings, now: float) -> control_metrics.ControlFigures:
    """Cost, spend and the caps' projections at `now` (none before a size was recorded), the
    schedule rules in force and the outcome counters."""
    accounts, caps = state.accounts, settings.budget
    figures = control_metrics.ControlFigures(
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
            settings: Settings | None = None) -> str:
    last, decision, pool, bounds = state.last_action, state.last_decision, state.pool, state.bounds
    return textfile.render({
        **control_metrics.samples(controls(state, settings or Settings(), now)),
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
    }, HELP, control_metrics.TYPES)
