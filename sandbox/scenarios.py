"""The sandbox's stories: load profiles, when the step and the drop happen, and what is checked.

Profiles are in members' worth of demand, so one story fits every app: the run converts them
with its app's `member_rps` (http-load-generator: one request in flight on average, 0.1
requests/s at 10 s each; processor-sharing: 4 requests/s, what one vCPU serves at 0.25 s each).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from acceptance.load import GRADER_CLIENTS

# The course's checker: the pool must reach 2 members within 300 s of steady /load on the NLB
# (acceptance/run.py waits exactly so on a real deployment).
CHECKER_REACH = 2
CHECKER_WITHIN_S = 300.0


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    fast: bool               # forces the compressed timers
    duration_s: float        # load profile length
    tail_s: float            # extra time after the load for the last scale-down
    profile: tuple[tuple[float, float], ...]  # (t_s, members' worth of demand) steps
    step_t: float
    drop_t: float
    replace_at: float | None = None  # replace-vm: when the handlers are killed and wiped
    replace_gap_s: float = 5.0        # how long the "VM" is gone
    # checker: closed-loop clients (acceptance/load.py) instead of the open-loop profile, which
    # then only describes them (each keeps one request in flight: one member's worth each)
    clients: int | None = None
    start_running: bool = False       # the first member already serves, as after terraform apply
    reach_within_s: float | None = None  # checker: the pool must reach CHECKER_REACH within this
    # two-pools: the second pool's own story (the first pool's is profile, step_t and drop_t)
    second_profile: tuple[tuple[float, float], ...] = ()
    second_step_t: float = 0.0
    second_drop_t: float = 0.0

    def compressed(self, factor: float) -> Scenario:
        """The same story `factor` times faster (`--fast` on a real-timer scenario)."""
        if factor == 1:
            return self
        def f(x: float) -> float:
            return round(x / factor, 3)
        return replace(self, duration_s=f(self.duration_s), tail_s=f(self.tail_s),
                       profile=tuple((f(t), m) for t, m in self.profile), step_t=f(self.step_t),
                       drop_t=f(self.drop_t),
                       replace_at=None if self.replace_at is None else f(self.replace_at),
                       replace_gap_s=f(self.replace_gap_s),
                       reach_within_s=None if self.reach_within_s is None else f(self.reach_within_s),
                       second_profile=tuple((f(t), m) for t, m in self.second_profile),
                       second_step_t=f(self.second_step_t), second_drop_t=f(self.second_drop_t))
    # budget: the operator's controls, set with `inspect` before the load starts (sandbox/money.py)
    budget_members: int | None = None   # a daily cap that fits this many members for the rest of the day
    schedule_min: int | None = None     # a schedule rule raising the minimum to this ...
    schedule_after_s: float = 0.0       # ... from the first whole minute this long after the load starts
    schedule_for: str = "3m"            # ... for this long

    def rps_profile(self, member_rps: float, second: bool = False) -> tuple[tuple[float, float], ...]:
        """The profile (the second pool's with `second`) in requests/s for an app whose member's
        worth is `member_rps`."""
        return tuple((t, members * member_rps) for t, members in (self.second_profile if second else self.profile))


SCENARIOS = {
    "smoke": Scenario(
        "smoke", "fast timers: a step to 2.5 members' worth of load, then back to a trickle",
        fast=True, duration_s=130, tail_s=15,
        # Held 70 s: the scale-down then comes ~70 s after the scale-up, clear of the 50 s
        # flap window of the fast timers.
        profile=((0, 0.25), (10, 2.5), (80, 0.25)), step_t=10, drop_t=80),
    "default": Scenario(
        "default", "real timers: quiet, a step to 2.5 members' worth held 6.5 minutes, quiet again",
        fast=False, duration_s=570, tail_s=20,
        # The hold outlasts the 300 s flap window after the scale-up, so the drop's scale-down
        # is a response to the load, not a reversal.
        profile=((0, 0.25), (10, 2.5), (400, 0.25)), step_t=10, drop_t=400),
    "replace-vm": Scenario(
        "replace-vm", "fast timers: the monitoring VM's handlers are SIGKILLed and their files "
        "wiped in the middle of the load step, then started fresh",
        fast=True, duration_s=150, tail_s=15,
        profile=((0, 0.25), (10, 2.5), (90, 0.25)), step_t=10, drop_t=90,
        replace_at=25),
    "checker": Scenario(
        "checker", f"real timers: steady /load from {GRADER_CLIENTS} concurrent clients through the NLB, as "
        f"the course's checker drives it; passes when the pool reaches {CHECKER_REACH} within "
        f"{CHECKER_WITHIN_S:.0f} s of the load's start and returns to its minimum after the load",
        fast=False, duration_s=345, tail_s=150,
        # Held 345 s: the grader's 300 s and 45 s more, so the scale-down that follows
        # the load comes more than the 300 s flap window after the scale-up. The tail bounds the
        # return; the run ends as soon as the pool is back at its minimum, so start-up (about
        # 90 s: a full rate window of idle samples first), load and return stay within 10 minutes.
        profile=((0, GRADER_CLIENTS), (345, 0)), step_t=0, drop_t=345,
        clients=GRADER_CLIENTS, start_running=True, reach_within_s=CHECKER_WITHIN_S),
    "budget": Scenario(
        "budget", "fast timers: a schedule raises the minimum to 2 at a whole minute, then a step to "
        "5 members' worth of load meets a daily spend cap that fits 3 members",
        fast=True, duration_s=240, tail_s=15,
        profile=((0, 0.25), (100, 5.0), (200, 0.25)), step_t=100, drop_t=200,
        budget_members=3, schedule_min=2, schedule_after_s=15, schedule_for="3m"),
    "two-pools": Scenario(
        "two-pools", "real timers: two pools behind their own NLBs; a step to 2.5 members' worth on the "
        "first held 6 minutes, then, once it is back down, the same step on the second",
        fast=False, duration_s=1060, tail_s=140,
        # Each hold outlasts the 300 s flap window after its scale-up (the default runs scale up
        # about 52 s after the step and down 103 s after the drop: 411 s apart here); the second
        # step waits 180 s after the first drop, past the first pool's scale-down, so each load
        # has its own span. The run ends once both pools are back at their minimum after the
        # second drop, at the latest 290 s after it (the default's scale-down came after 105 s;
        # a loaded machine's --fast run took the equivalent of 175 s).
        profile=((0, 0.25), (10, 2.5), (370, 0.25)), step_t=10, drop_t=370,
        second_profile=((0, 0.25), (550, 2.5), (910, 0.25)), second_step_t=550, second_drop_t=910),
    # The profile, the faults and the operator's bounds are drawn from --seed at run time, the
    # length is --duration (sandbox/soak_plan.py); these are its defaults' placeholders.
    "soak": Scenario(
        "soak", "fast timers: a load varying at random through the NLB while faults are injected at "
        "random times, both drawn from the seed: SOS unavailable, API 5xx and 429 bursts, an operation "
        "stuck pending, the VM's handlers SIGKILLed, a tick killed, two ticks racing, a repeated delivery",
        fast=True, duration_s=480, tail_s=15, profile=((0, 0.25),), step_t=0, drop_t=450),
}
