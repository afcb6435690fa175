"""The whole loop on one machine: starts every part (sandbox/parts.py), drives the load and
samples the figures; the results and the report come from sandbox/results.py."""
from __future__ import annotations

import shutil
import time
from typing import Any

from sandbox import measure, money, results
from sandbox.closed_loop import ClosedLoad
from sandbox.loadgen import LoadGen
from sandbox.parts import MIN_SIZE, Parts


class Sandbox(Parts):
    def run(self) -> None:
        sc = self.scenario
        # Let the first member boot and be discovered before the load starts.
        deadline = time.monotonic() + self.t.boot_s + 30
        while not self.nlb.serving() and time.monotonic() < deadline:
            time.sleep(0.5)
        self._wait_for_history()
        if sc.clients:
            self.load = ClosedLoad("127.0.0.1", self.nlb.port, clients=sc.clients, duration_s=sc.duration_s,
                                   timeout_s=self.app.client_timeout_s)
        else:
            self.load = LoadGen("127.0.0.1", self.nlb.port,
                                sc.rps_profile(self.app.member_rps(self.fleet.vcpus)),
                                duration_s=sc.duration_s, max_inflight=256, timeout_s=self.app.client_timeout_s)
        self.t0 = time.monotonic()
        self.wall0 = time.time()
        self.controls = money.apply_controls(sc.budget_members, sc.schedule_min, sc.schedule_after_s,
                                             sc.schedule_for, self.wall0, self.price_hourly, self._inspect)
        for name, what in self.controls.items():
            self._say(f"operator's {name}: " + " ".join(what["output"].split()[:14]) + " …")
        self.load.start()
        self.load_offset_s = time.monotonic() - self.t0  # the load's clock in the actions' time
        self.load_started()
        end = sc.duration_s + sc.tail_s
        next_sample = 0.0
        printed = -1e9
        while True:
            now = time.monotonic() - self.t0
            if now >= end:
                break
            if self.replace is None and sc.replace_at is not None and now >= sc.replace_at:
                self._replace_vm(now)
            if now >= next_sample:
                fig = self.load.figures(window_s=max(5.0, 3 * self.t.sample_s))
                pool = self.emu.model.get_pool(self.pool_id)
                members = self.fleet.figures(time.monotonic())
                sample = measure.Sample(
                    t=round(now, 2), offered_rps=fig.offered_rps if now < sc.duration_s else 0.0,
                    ok_rps=fig.achieved_rps, p95_s=fig.p95_s, errors=fig.errors,
                    cpu=members.cpu, pool_size=pool.size,
                    serving=len(self.nlb.serving()), pending=self._pending(),
                    in_flight=members.in_flight, in_flight_max=members.in_flight_max,
                    members=members.members)
                self.samples.append(sample)
                next_sample += self.t.sample_s
                if sc.reach_within_s is not None and now >= sc.duration_s and pool.size <= MIN_SIZE:
                    # the checker is answered: the pool is back at its minimum after the load
                    end = min(end, now + 2 * self.t.sample_s)
                if now - printed >= max(5.0, self.t.sample_s):
                    printed = now
                    self._progress(sample)
            time.sleep(0.1)
        self.load.stop()

    def load_started(self) -> None:
        """The load has just started (`t0` is its zero): the soak starts its faults here."""

    def _wait_for_history(self) -> None:
        """Start the load once Prometheus holds a full rate window of the idle member's samples, as
        on a deployment that has been up a while: over a shorter history the first windowed CPU
        averages only the loaded seconds and the alert fires up to a window earlier than it would."""
        window = self.t.rate_window
        full = int(measure.duration_s(window) // self.t.scrape_s)
        expr = f'min(count_over_time(node_cpu_seconds_total{{job="pool",mode="idle"}}[{window}]))'
        deadline = time.monotonic() + 2 * measure.duration_s(window) + 30
        while time.monotonic() < deadline:
            count = self.mon.query(expr)
            if count is not None and count >= full:
                return
            time.sleep(0.5)
        self._say(f"Prometheus has no full {window} of the first member's samples yet; starting the load anyway")

    def _progress(self, s: measure.Sample) -> None:
        cpu = f"{100 * s.cpu:5.1f}%" if s.cpu is not None else "    - "
        p95 = f"{s.p95_s:6.2f}s" if s.p95_s is not None else "     - "
        self._say(f"t={s.t:6.0f}s load={s.offered_rps:5.2f}/s in-flight={s.in_flight:3d} cpu={cpu} "
                  f"pool={s.pool_size} serving={s.serving} p95={p95} pending={s.pending}")

    def _replace_vm(self, now: float) -> None:
        before = self._targets()
        pending = self._pending()
        self._say(f"t={now:6.0f}s REPLACING THE MONITORING VM: SIGKILL receiver, tick and "
                  f"discovery; wiping {self.work / 'file_sd'} and {self.work / 'textfile'}")
        self.handlers.kill_all()
        for sub in ("file_sd", "textfile"):
            shutil.rmtree(self.work / sub)
            (self.work / sub).mkdir()
        time.sleep(self.scenario.replace_gap_s)
        self.handlers.start()  # sd --restore first, as at boot
        restored = self._targets()
        self.replace = {"killed_at": now, "restarted_at": time.monotonic() - self.t0,
                        "targets_before": len(before), "targets_restored": len(restored),
                        "targets_identical": before == restored, "pending_at_kill": pending}
        self._say(f"t={time.monotonic() - self.t0:6.0f}s new VM up: {len(restored)} target(s) "
                  f"restored from the SOS snapshot (identical: {before == restored})")

    # ---- results ---------------------------------------------------------------------
    def results(self) -> dict[str, Any]:
        return results.collect(self)

    def write(self, found: dict[str, Any]) -> None:
        results.write(self, found)
