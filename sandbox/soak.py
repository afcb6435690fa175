"""`--scenario soak`: the sandbox (sandbox/runner.py) with a gate in front of SOS (sandbox/sos_gate.py)
and a driver that injects the seed's faults and operator bounds changes (sandbox/soak_plan.py) at
their times while the load varies; the invariants join report.json's summary and report.md."""
from __future__ import annotations

import dataclasses
import math
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from functions.common import config
from functions.common.store import Store
from sandbox import soak_plan
from sandbox.emulator.api import MUTATIONS
from sandbox.handlers import ROOT
from sandbox.parts import MIN_SIZE
from sandbox.runner import Sandbox
from sandbox.scenarios import SCENARIOS
from sandbox.soak_plan import KINDS, BoundsChange, Fault
from sandbox.sos_gate import SosGate

BURST_RATE = 0.7   # share of API calls a 5xx or 429 burst answers so (the rest get through)
HOLD_S = 30.0      # how much longer an outage or a burst lasts while no call has met it
# How much longer a stuck-operation fault stays armed while no scaling call has come: calls come
# about once a minute, and armed for its 30 s slot alone it met one 12 times in 26 (seed 7, an hour).
STUCK_WAIT_S = 60.0
LEASE_LINE = "another tick holds the lease"  # what the tick logs when it stands aside


def scenario(minutes: float, seed: int, hard: tuple[int, int]) -> tuple[Any, soak_plan.Plan]:
    """The soak's scenario and plan for `minutes` of wall-clock load and faults."""
    plan = soak_plan.plan(seed, minutes * 60.0, hard)
    first_up = next((t for t, m in plan.profile if m >= 1.0), 0.0)
    return dataclasses.replace(SCENARIOS["soak"], duration_s=plan.duration_s, profile=plan.profile,
                               step_t=first_up, drop_t=plan.duration_s - soak_plan.QUIET_S), plan


class Soak(Sandbox):
    def __init__(self, out: Path, policy: str, app: str, minutes: float, seed: int) -> None:
        sc, self.plan = scenario(minutes, seed, (MIN_SIZE, 6))
        super().__init__(sc, out, policy, fast=True, app=app, max_size=6)
        self.counts = dict.fromkeys(KINDS, 0)
        self.events: list[dict[str, Any]] = []
        self.bounds_applied: list[tuple[float, int, int]] = [(-math.inf, MIN_SIZE, self.max_size)]
        self.racers: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        self.handlers_lock = threading.Lock()  # one fault at a time touches the VM's processes
        self.faults_lock = threading.Lock()
        self.rules: dict[int, dict[str, Any]] = {}
        self.sos_down = 0

    # ---- bring-up: SOS behind the gate; the sandbox's own reads go round it ----------------
    def _moto(self) -> str:
        self.moto_endpoint = super()._moto()
        self.gate = SosGate(self.moto_endpoint).start()
        self._stack.append(self.gate.stop)
        return self.gate.endpoint

    def start(self) -> None:
        super().start()
        cfg = dataclasses.replace(config.load(self.env), sos_endpoint=self.moto_endpoint)
        self.store = Store.from_config(cfg)
        self._say(f"soak: seed {self.plan.seed}, {self.plan.duration_s / 60:g} min of load; SOS behind a "
                  f"gate at {self.gate.endpoint}; planned faults: "
                  + ", ".join(f"{k} {n}" for k, n in self.plan.planned().items()))

    def load_started(self) -> None:
        self.driver = threading.Thread(target=self._drive, name="soak-driver", daemon=True)
        self.driver.start()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.stopping.set()
            if hasattr(self, "driver"):
                self.driver.join(timeout=90)
            self.gate.down.clear()
            self.emu.set_faults({})

    # ---- the driver ----------------------------------------------------------------------
    def _drive(self) -> None:
        todo: list[Fault | BoundsChange] = sorted([*self.plan.faults, *self.plan.bounds], key=lambda e: e.at)
        threads = []
        for item in todo:
            if self.stopping.wait(max(0.0, self.t0 + item.at - time.monotonic())):
                break
            th = threading.Thread(target=self._guarded, args=(item,), daemon=True)
            th.start()
            threads.append(th)
        for th in threads:
            th.join()

    def _guarded(self, item: Fault | BoundsChange) -> None:
        """One fault or bounds change; a failure to inject is reported, not a dead thread's trace."""
        try:
            self._inject(item) if isinstance(item, Fault) else self._bounds(item)
        except Exception as exc:
            self._say(f"soak: {item} could not be injected: {exc!r}")
            self.events.append({"t": round(item.at, 1), "kind": getattr(item, "kind", "bounds"),
                                "injected": False, "what": f"could not be injected: {exc!r}"})

    def _note(self, kind: str, hit: bool, what: str, at: float) -> None:
        if hit:
            self.counts[kind] += 1
        self.events.append({"t": round(at - self.t0, 1), "kind": kind, "injected": hit, "what": what})
        self._say(f"t={at - self.t0:6.0f}s FAULT {kind}: {what}")

    def _inject(self, f: Fault) -> None:
        at = time.monotonic()
        if f.kind == "sos_unavailable":
            before = self.gate.refused
            self._sos(+1)
            hit = self._hold(f.for_s, lambda: self.gate.refused > before)
            self._sos(-1)
            self._note(f.kind, hit, f"SOS answered 503 for {time.monotonic() - at:.1f} s "
                                    f"({self.gate.refused - before} calls refused)", at)
        elif f.kind in ("api_5xx", "api_429"):
            armed = time.time()
            rule = ({"error_5xx_rate": BURST_RATE, "error_5xx_status": f.status} if f.kind == "api_5xx"
                    else {"rate_429": BURST_RATE})
            label = f"error-{f.status or 429}"
            self._rule(id(f), rule)
            hit = self._hold(f.for_s, lambda: any(r.fault == label for r in self.emu.requests() if r.time >= armed))
            self._rule(id(f), None)
            answered = sum(r.fault == label for r in self.emu.requests() if r.time >= armed)
            self._note(f.kind, hit, f"{BURST_RATE:.0%} of API calls answered {f.status or 429} for "
                                    f"{time.monotonic() - at:.1f} s ({answered} calls)", at)
        elif f.kind == "api_stuck_pending":
            self._stuck(f, at)
        elif f.kind == "delivery_repeated":
            done = self.recorder.repeated
            self.recorder.repeat_next()
            deadline = time.monotonic() + f.for_s + 30
            while self.recorder.repeated == done and time.monotonic() < deadline and not self.stopping.wait(0.2):
                pass
            self._note(f.kind, self.recorder.repeated > done,
                       "the next scale delivery sent to the receiver twice", at)
        else:
            with self.handlers_lock:
                {"vm_replaced": self._vm_replaced, "tick_killed": self._tick_killed,
                 "ticks_raced": self._ticks_raced}[f.kind](f, at)

    def _hold(self, for_s: float, hit: Callable[[], bool]) -> bool:
        """Keep a fault on for `for_s`, then until it has answered a call (at most HOLD_S more):
        on a loaded machine the handlers' calls can be sparse enough to miss a short burst."""
        self.stopping.wait(for_s)
        deadline = time.monotonic() + HOLD_S
        while not hit() and time.monotonic() < deadline and not self.stopping.wait(0.5):
            pass
        return hit()

    def _sos(self, change: int) -> None:
        with self.faults_lock:
            self.sos_down += change
            (self.gate.down.set if self.sos_down else self.gate.down.clear)()

    def _rule(self, key: int, rule: dict[str, Any] | None) -> None:
        with self.faults_lock:
            if rule is None:
                self.rules.pop(key, None)
            else:
                self.rules[key] = rule
            self.emu.set_faults({"seed": self.plan.seed, "rules": list(self.rules.values())})

    def _stuck(self, f: Fault, at: float) -> None:
        """Armed until a scaling call comes (its operation then stays pending), at most for_s +
        STUCK_WAIT_S."""
        armed = time.time()
        self._rule(id(f), {"operations": list(MUTATIONS), "stuck_operations": True})
        stuck: list[Any] = []
        deadline = time.monotonic() + f.for_s + STUCK_WAIT_S
        while not stuck and time.monotonic() < deadline and not self.stopping.wait(0.1):
            stuck = [o for o in self.emu.operations() if o.time >= armed and not o.completes]
        self._rule(id(f), None)
        self._note(f.kind, bool(stuck), f"{stuck[0].operation} left pending for ever" if stuck
                   else f"armed {f.for_s + STUCK_WAIT_S:g} s, no scaling call came", at)

    def _tick_child(self, within_s: float) -> subprocess.Popen[bytes] | None:
        """The next tick the timer starts within `within_s`, as soon as it runs."""
        def current() -> subprocess.Popen[bytes] | None:
            timer = next((t for t in self.handlers.timers if t.label == "tick"), None)
            return None if timer is None else timer.child
        seen, deadline = current(), time.monotonic() + within_s
        while time.monotonic() < deadline and not self.stopping.is_set():
            child = current()
            if child is not None and child is not seen and child.poll() is None:
                return child
            time.sleep(0.02)
        return None

    def _vm_replaced(self, f: Fault, at: float) -> None:
        child = self._tick_child(self.t.tick_s + 1)
        time.sleep(f.delay_s)
        mid_tick = child is not None and child.poll() is None
        self.handlers.kill_all()
        for sub in ("file_sd", "textfile"):
            shutil.rmtree(self.work / sub, ignore_errors=True)
            (self.work / sub).mkdir()
        time.sleep(f.for_s)
        self.handlers.start()  # sd --restore first, as at boot
        self._note(f.kind, True, f"receiver, discovery and {'a running' if mid_tick else 'no'} tick "
                                 f"SIGKILLed, local files wiped, booted again {f.for_s:g} s later", at)

    def _tick_killed(self, f: Fault, at: float) -> None:
        for _ in range(3):  # the delay may outlast a short tick: then the next one
            child = self._tick_child(self.t.tick_s + 1)
            if child is None:
                break
            time.sleep(f.delay_s)
            if child.poll() is None:
                child.kill()
                self._note(f.kind, True, f"the running tick SIGKILLed {f.delay_s:g} s after it started", at)
                return
        self._note(f.kind, False, "no tick ran long enough to be killed", at)

    def _ticks_raced(self, f: Fault, at: float) -> None:
        child = self._tick_child(self.t.tick_s + 1)
        if child is None:
            self._note(f.kind, False, "no timer tick to race", at)
            return
        started = time.time()
        log = self.work / f"racer-{len(self.racers)}.log"
        with open(log, "wb") as out:
            racer = subprocess.Popen([sys.executable, "-m", "functions.scaler.tick"], env=self.handlers.env,
                                     cwd=ROOT, stdout=out, stderr=out)
            raced = child.poll() is None
            code = racer.wait(timeout=120)
        aside = LEASE_LINE in log.read_text(errors="replace")
        self.racers.append({"started": started, "ended": time.time(), "code": code, "stood_aside": aside})
        self._note(f.kind, raced, f"a second tick started beside the timer's: it "
                                  f"{'stood aside (lease held)' if aside else 'took the lease first'}", at)

    def _bounds(self, b: BoundsChange) -> None:
        """The operator's `inspect set-bounds`, retried while SOS is unavailable, as a person would."""
        args = ["set-bounds", "--min", "none" if b.low is None else str(b.low),
                "--max", "none" if b.high is None else str(b.high)]
        deadline = time.monotonic() + 60
        while not self.stopping.is_set() and time.monotonic() < deadline:
            # In force from when the command starts: a tick may read the new bounds before the
            # command has returned (recorded at the return, a call made in between counted as a
            # violation of the old bounds: seed 7's 2 -> 6 at 569.3 s, bounds stored at 569.5 s).
            sent = time.time()
            said = self._inspect(*args)
            if said.startswith("bounds stored"):
                self.bounds_applied.append((sent, b.low or MIN_SIZE, b.high or self.max_size))
                self._say(f"t={time.monotonic() - self.t0:6.0f}s operator: {' '.join(args)}")
                return
            self.stopping.wait(2.0)

    # ---- results -------------------------------------------------------------------------
    def results(self) -> dict[str, Any]:
        found = super().results()
        calls = [soak_plan.Call(o.time, o.size_before, o.size_after) for o in self.emu.operations()
                 if o.pool_id == self.pool_id and o.time >= self.wall0]
        windows = [(r.started, r.ended) for r in self.handlers.tick_runs()]
        windows += [(r["started"], r["ended"]) for r in self.racers]
        s = found["summary"]
        s.update(faults_injected=dict(self.counts),
                 bound_violations=soak_plan.bound_violations(calls, windows, self.bounds_applied),
                 ticks_with_two_calls=soak_plan.ticks_with_two_calls(windows, calls),
                 ledger_vs_oplog_pct=(found.get("cost") or {}).get("difference_pct"))
        s["invariants_held"] = soak_plan.invariants_held(s)
        found["soak"] = {
            "seed": self.plan.seed, "minutes": self.plan.duration_s / 60, "planned": self.plan.planned(),
            "events": sorted(self.events, key=lambda e: e["t"]),
            "bounds": [{"t": round(at - self.wall0, 1), "min": lo, "max": hi}
                       for at, lo, hi in self.bounds_applied[1:]],
            "racers": self.racers, "sos_calls_refused": self.gate.refused,
            "api_calls_faulted": dict(Counter(r.fault for r in self.emu.requests() if r.fault)),
            "tick_runs": len(windows)}
        return found

    def write(self, found: dict[str, Any]) -> None:
        super().write(found)
        s, soak = found["summary"], found["soak"]
        lines = ["", f"## Soak: seed {soak['seed']}, {soak['minutes']:g} minutes", "",
                 f"**Invariants held: {s['invariants_held']}** (measured from outside the scaler)", "",
                 "| invariant | value |", "|---|---|",
                 f"| requests lost (2xx deliveries missing from the bucket) | {s['requests_lost']} |",
                 f"| bound violations (a call leaving the pool outside the bounds in force) | "
                 f"{s['bound_violations']} |",
                 f"| ticks with two scaling calls (operation log within each tick's lifetime) | "
                 f"{s['ticks_with_two_calls']} |",
                 f"| the tick's ledger against the operation log | {s['ledger_vs_oplog_pct']} % |", "",
                 "| fault | injected | planned |", "|---|---|---|"]
        lines += [f"| {k} | {n} | {soak['planned'][k]} |" for k, n in s["faults_injected"].items()]
        lines += ["", "| t (s) | fault | what happened |", "|---|---|---|"]
        lines += [f"| {e['t']:.0f} | {e['kind']} | {e['what']} |" for e in soak["events"]]
        lines += ["", "Operator bounds: " + (", ".join(f"min {b['min']} max {b['max']} at {b['t']:.0f} s"
                                                       for b in soak["bounds"]) or "none") + "."]
        with open(self.out / "report.md", "a") as md:
            md.write("\n".join(lines) + "\n")
