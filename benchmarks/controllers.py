"""The policies the benchmark replays: the tick's real state machine around the real decide()
(`DecideController`) and the classic ±1 on every delivered alert (`BaselineController`)."""
from __future__ import annotations

from collections import Counter
from typing import Protocol

from functions.bucket.request import ScaleRequest
from functions.bucket.state import ScalerState
from functions.common.config import Config
from functions.scaler.tick import transition
from functions.scaler.tick.policy import NONE, UP, Outcome, Params, Pending
from functions.scaler.tick.transition import Called, Finished, Observed, Settings

from .simpool import SimPool


class Controller(Protocol):
    name: str
    uses_tick: bool
    tick_on_webhook: bool  # a stored delivery starts a tick in the same second (the kick)
    tick_on_members: bool  # sd seeing the running members change starts a tick (sd's kick)
    outcomes: Counter[str]

    def webhook(self, t: int, direction: str, value: float | None, members: int | None,
                pool: SimPool, trend: float | None = None, cpu: float | None = None) -> str | None: ...

    def tick(self, t: int, pool: SimPool, trigger: str = "timer") -> str | None: ...


class DecideController:
    """The tick's own state machine (`transition.step`, with the real decide()) on a tick: requests
    accumulate between ticks and are consumed as the tick consumes them.
    `kicked`: each stored delivery also starts a tick at once (deployed), besides the timer;
    `sd_kicked` (default: as `kicked`): so does a discovery cycle that sees the members change;
    `with_cpu` False stores requests without the delivery's `scale_cpu` (no occupancy fit)."""
    uses_tick = True

    def __init__(self, name: str, params: Params, bounds: tuple[int, int],
                 ttl_s: float = Config.request_ttl_s, kicked: bool = False,
                 sd_kicked: bool | None = None, with_cpu: bool = True) -> None:
        self.name = name
        self.with_cpu = with_cpu
        self.settings = Settings(params, bounds, ttl_s)
        self.tick_on_webhook = kicked
        self.tick_on_members = kicked if sd_kicked is None else sd_kicked
        self.pending: list[Pending] = []
        self.state = ScalerState()
        self.outcomes: Counter[str] = Counter()
        # (time, pool size, reason, trigger) of ticks with requests
        self.log: list[tuple[int, int, str, str]] = []
        self._n = 0

    def webhook(self, t: int, direction: str, value: float | None, members: int | None,
                pool: SimPool, trend: float | None = None, cpu: float | None = None) -> str | None:
        self._n += 1
        alert = "PoolCpuHigh" if direction == "up" else "PoolCpuLow"
        request = ScaleRequest(direction, "alertmanager", float(t), alert, alert, value,
                               members, trend, cpu if self.with_cpu else None)
        self.pending.append(Pending(f"requests/sim/{t:09d}-{self._n}.json", request))
        return None  # stored only; the tick acts

    def tick(self, t: int, pool: SimPool, trigger: str = "timer") -> str | None:
        now = float(t)
        state, effects = transition.step(self.state, Observed(pool.view(t), tuple(self.pending)),
                                         self.settings, now)
        decision = effects.decision
        assert decision is not None
        expired = sum(len(r.requests) for r in effects.history if r.action == Outcome.EXPIRED)
        live = len(self.pending) - expired
        if live or decision.action != NONE:
            self.log.append((t, pool.size, decision.reason, trigger))
        self.outcomes["expired"] += expired
        gone = set(effects.delete)
        moved = None
        if state.intent is not None:
            # As the tick: the call (the simulated pool never fails it), then the record.
            if decision.action == UP:
                pool.scale_to(t, decision.target_size)
                moved = "up"
            else:
                pool.evict(t, decision.evict)
                moved = "down"
            state, _ = transition.step(state, Called(None), self.settings, now)
            state, finished = transition.step(state, Finished(), self.settings, now)
            self.outcomes["acted"] += len(finished.delete)
            gone.update(finished.delete)
        elif decision.consume:
            assert decision.outcome is not None
            self.outcomes[decision.outcome] += len(decision.consume)
        elif live:
            self.outcomes["waited (pool not running)"] += 1
        self.state = state
        self.pending = [p for p in self.pending if p.key not in gone]
        return moved


class BaselineController:
    """The classic: ±1 on every firing delivery, at once, no tick, no cooldown (bounds kept)."""
    uses_tick = False
    tick_on_webhook = False
    tick_on_members = False

    def __init__(self, bounds: tuple[int, int], name: str = "baseline ±1/webhook") -> None:
        self.name, self.bounds = name, bounds
        self.outcomes: Counter[str] = Counter()

    def webhook(self, t: int, direction: str, value: float | None, members: int | None,
                pool: SimPool, trend: float | None = None, cpu: float | None = None) -> str | None:
        low, high = self.bounds
        if direction == "up" and pool.size < high:
            pool.scale_to(t, pool.size + 1)
            return "up"
        if direction == "down" and pool.size > low:
            pool.scale_to(t, pool.size - 1)
            return "down"
        self.outcomes["at-bound"] += 1
        return None

    def tick(self, t: int, pool: SimPool, trigger: str = "timer") -> str | None:
        return None

