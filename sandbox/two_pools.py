"""`--scenario two-pools`: the sandbox (sandbox/runner.py) with a second pool in the same emulator,
behind its own NLB stand-in and fleet of simulated members, the handlers configured with
INSTANCEPOOLS; each pool gets its own load through its own NLB and its own samples. The figures
and the verdict are sandbox/pool_figures.py's, the report sandbox/two_pools_report.py's."""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from functions.common import keys
from sandbox import apps, measure, money, pool_figures, results, two_pools_report
from sandbox.fleet import Fleet
from sandbox.loadgen import LoadGen
from sandbox.nlb import Nlb
from sandbox.parts import MIN_SIZE
from sandbox.runner import Sandbox
from sandbox.scenarios import Scenario

NAMES = ("web", "api")  # the pools' names in INSTANCEPOOLS; the first takes the first step
MAX_SIZE = 4            # per pool: two fleets share the machine's two cores


class TwoPools(Sandbox):
    def __init__(self, scenario: Scenario, out: Path, policy: str, fast: bool, app: str) -> None:
        super().__init__(scenario, out, policy, fast, max_size=MAX_SIZE, app=app)
        self.pool_ids: dict[str, str] = {}   # name → pool id
        self.fleets: dict[str, Fleet] = {}   # pool id → its fleet
        self.nlbs: dict[str, Nlb] = {}       # name → its NLB stand-in
        self.loads: dict[str, LoadGen] = {}
        self.offsets: dict[str, float] = {}  # each load's clock in the actions' time
        self.pool_samples: dict[str, list[measure.Sample]] = {name: [] for name in NAMES}

    # ---- bring-up: the first pool is the base's; the second gets its own NLB and fleet --------
    def _more_pools(self, app_port: int, exporter_port: int) -> None:
        first, second = NAMES
        self.pool_ids[first], self.nlbs[first], self.fleets[self.pool_id] = self.pool_id, self.nlb, self.fleet
        nlb = Nlb(0, check_interval_s=self.healthcheck.interval_s, check_timeout_s=self.healthcheck.timeout_s)
        nlb.start()
        self._stack.append(nlb.stop)
        fleet = Fleet(nlb, app=self.app, app_port=app_port, exporter_port=exporter_port)
        self._stack.append(fleet.stop)
        pool_id = self.emu.create_pool(0, name=f"autoscaler-{second}", instance_prefix=second)
        self.pool_ids[second], self.nlbs[second], self.fleets[pool_id] = pool_id, nlb, fleet
        self.emu.model.scale(pool_id, 1)  # its member boots like the first pool's
        self._say(f"pools: {first} {self.pool_id} behind the NLB stand-in at 127.0.0.1:{self.nlb.port}, "
                  f"{second} {pool_id} behind 127.0.0.1:{nlb.port}; each {MIN_SIZE} to {self.max_size} members")

    def _fleet_for(self, instance: Any) -> Fleet:
        return self.fleets.get(instance.pool_id, self.fleet)

    def _pool_env(self) -> dict[str, str]:
        return {"INSTANCEPOOLS": ",".join(f"{name}={pool_id}:min={MIN_SIZE}:max={self.max_size}"
                                          for name, pool_id in self.pool_ids.items())}

    # ---- the run: one load per pool, samples per pool ------------------------------------------
    def run(self) -> None:
        sc = self.scenario
        deadline = time.monotonic() + self.t.boot_s + 30
        while not all(nlb.serving() for nlb in self.nlbs.values()) and time.monotonic() < deadline:
            time.sleep(0.5)
        self._wait_for_history()
        member_rps = self.app.member_rps(self.fleet.vcpus)
        for name, second in zip(NAMES, (False, True), strict=True):
            self.loads[name] = LoadGen("127.0.0.1", self.nlbs[name].port, sc.rps_profile(member_rps, second),
                                       duration_s=sc.duration_s, max_inflight=256,
                                       timeout_s=self.app.client_timeout_s)
        self.load = self.loads[NAMES[0]]
        self.t0, self.wall0 = time.monotonic(), time.time()
        for name, load in self.loads.items():
            load.start()
            self.offsets[name] = time.monotonic() - self.t0
        self.load_offset_s = self.offsets[NAMES[0]]
        end, next_sample, printed = sc.duration_s + sc.tail_s, 0.0, -1e9
        while (now := time.monotonic() - self.t0) < end:
            if now >= next_sample:
                for name in NAMES:
                    self.pool_samples[name].append(self._sample(name, now))
                next_sample += self.t.sample_s
                if now >= sc.second_drop_t and all(s[-1].pool_size <= MIN_SIZE for s in self.pool_samples.values()):
                    end = min(end, now + 2 * self.t.sample_s)  # both back at their minimum: answered
                if now - printed >= max(5.0, self.t.sample_s):
                    printed = now
                    self._say(f"t={now:6.0f}s " + " | ".join(self._line(n) for n in NAMES))
            time.sleep(0.1)
        for load in self.loads.values():
            load.stop()
        self.samples = self.pool_samples[NAMES[0]]

    def _sample(self, name: str, now: float) -> measure.Sample:
        fig = self.loads[name].figures(window_s=max(5.0, 3 * self.t.sample_s))
        pool_id = self.pool_ids[name]
        members = self.fleets[pool_id].figures(time.monotonic())
        return measure.Sample(
            t=round(now, 2), offered_rps=fig.offered_rps if now < self.scenario.duration_s else 0.0,
            ok_rps=fig.achieved_rps, p95_s=fig.p95_s, errors=fig.errors, cpu=members.cpu,
            pool_size=self.emu.model.get_pool(pool_id).size, serving=len(self.nlbs[name].serving()),
            pending=self._pending_of(pool_id), in_flight=members.in_flight,
            in_flight_max=members.in_flight_max, members=members.members)

    def _pending_of(self, pool_id: str) -> int:
        try:
            return sum(1 for _ in self.store.list_keys(keys.requests_prefix(pool_id)))
        except Exception:
            return -1

    def _line(self, name: str) -> str:
        s = self.pool_samples[name][-1]
        cpu = f"{100 * s.cpu:5.1f}%" if s.cpu is not None else "    - "
        return (f"{name}: load={s.offered_rps:5.2f}/s in-flight={s.in_flight:3d} cpu={cpu} pool={s.pool_size} "
                f"serving={s.serving} pending={s.pending}")

    # ---- results ------------------------------------------------------------------------------
    def results(self) -> dict[str, Any]:
        sc, ops, deliveries = self.scenario, self.emu.operations(), self.recorder.deliveries()
        legs = pool_figures.legs([(NAMES[0], sc.step_t, sc.drop_t),
                                  (NAMES[1], sc.second_step_t, sc.second_drop_t)])
        overload = results.overload_figure(self)
        calls, figs, details = {}, {}, {}
        for leg in legs:
            name, pool_id, samples = leg.name, self.pool_ids[leg.name], self.pool_samples[leg.name]
            calls[name] = pool_figures.calls_of(ops, pool_id, self.wall0)
            mine = pool_figures.deliveries_of(deliveries, name)
            lost = measure.lost_requests(mine, results.recorded_requests(self.store, pool_id))
            figs[name] = pool_figures.figures(samples, calls[name], lost, self.t.flap_window_s)
            load = self.loads[name]
            details[name] = {
                "pool_id": pool_id, **pool_figures.details(leg, samples, calls[name]),
                "scale_up_reaction_s": measure.reaction_up(samples, leg.step_t),
                "overload_s": round(overload.seconds(samples), 1),
                "scale_alerts_delivered": sum(len(d.alerts) for d in mine if d.delivered),
                "load_errors": sum(load.summary().errors.values()),
                "load_errors_at_scale_down": measure.errors_at_scale_down(
                    [r.end + self.offsets[name] for r in load.records() if not r.ok], calls[name]),
                "cost": money.run_figures(self.store, pool_id, ops, self.price_hourly, self.currency,
                                          self.wall0, {})["cost"]}
        unrouted = pool_figures.unrouted(deliveries, NAMES)
        failures = pool_figures.verdict(legs, calls, figs, MIN_SIZE, unrouted)
        counters = self.mon.alertmanager_counters()
        return {
            "scenario": sc.name, "description": sc.description, "policy": self.policy,
            "app": apps.run_facts(self.app, self.fleet.vcpus), "timings": self.t.as_dict(),
            "nlb_healthcheck": asdict(self.healthcheck),
            "overload": {"figure": overload.figure, "definition": overload.definition()},
            "profiles_members": {NAMES[0]: [list(p) for p in sc.profile],
                                 NAMES[1]: [list(p) for p in sc.second_profile]},
            "duration_s": sc.duration_s,
            "summary": {"app": self.app.name, **pool_figures.summary(figs, failures, unrouted, details),
                        "load_errors": sum(d["load_errors"] for d in details.values())},
            "pools": figs,
            "pool_details": details,
            "actions": sorted(({"pool": name, **asdict(a)} for name in NAMES for a in calls[name]),
                              key=lambda a: a["t"]),
            "deliveries": {
                "total": len(deliveries), "delivered": sum(d.delivered for d in deliveries),
                "scale_alerts_delivered": sum(len(d.alerts) for d in deliveries if d.delivered),
                "alertmanager_notifications": counters["notifications"], "alertmanager_failed": counters["failed"]},
            "tick_runs": [asdict(r) for r in self.handlers.tick_runs()],
            "inspect": {"status": self._inspect("status"),
                        **{f"history --pool {n}": self._inspect("history", "--since", "1h", "--pool", n)
                           for n in NAMES}},
            "samples": {name: [s.as_dict() for s in self.pool_samples[name]] for name in NAMES},
        }

    def write(self, found: dict[str, Any]) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        two_pools_report.write(self.out, found, self.pool_samples,
                               cpu_window_s=measure.duration_s(self.t.rate_window),
                               member_rps=self.app.member_rps(self.fleet.vcpus))
