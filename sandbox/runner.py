"""The whole loop on one machine: starts every part, drives the load, samples, reports.

Parts: moto server (SOS), the Exoscale API emulator with simulated members on 127.0.1.N,
the NLB stand-in, real Prometheus and Alertmanager, a recording proxy in front of the real
receiver, and the real tick and discovery handlers on timers.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3

from bootstrap import render
from functions.common import config, keys
from functions.common.store import Store
from sandbox import apps, measure, money, report
from sandbox.closed_loop import ClosedLoad
from sandbox.emulator.server import EmulatorServer
from sandbox.fleet import Fleet
from sandbox.handlers import ROOT, Handlers
from sandbox.loadgen import LoadGen
from sandbox.monitoring import Monitoring
from sandbox.nlb import Nlb, deployed_healthcheck
from sandbox.procs import stop
from sandbox.recorder import Recorder
from sandbox.scenarios import CHECKER_REACH, Scenario
from sandbox.timings import FAST, REAL, Timings

log = logging.getLogger("sandbox")
ZONE = "at-vie-1"
MIN_SIZE = 1
SLO_P95_S = 2.0
MAX_ERROR_RATIO = 0.01


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def member_ports() -> tuple[int, int]:
    """8080/9100 like the real pool, unless something on this machine holds them."""
    for app, exporter in ((8080, 9100), (18080, 19100)):
        try:
            for port in (app, exporter):
                with socket.socket() as sock:
                    sock.bind(("127.0.1.254", port))
            return app, exporter
        except OSError:
            continue
    raise RuntimeError("no free member ports on 127.0.1.x")


class Sandbox:
    def __init__(self, scenario: Scenario, out: Path, policy: str, fast: bool,
                 max_size: int = 6, echo: bool = True, app: str = apps.DEFAULT_APP) -> None:
        self.t: Timings = FAST if (fast or scenario.fast) else REAL
        # The app's own time shrinks with the tick, and so does the story of a real-timer
        # scenario, so a --fast run is a real one sped up.
        self.speedup = REAL.tick_s / self.t.tick_s
        self.scenario = scenario if scenario.fast else scenario.compressed(self.speedup)
        self.app = apps.for_run(app, self.speedup)
        self.out = out
        self.policy = policy
        self.max_size = max_size
        self.echo = echo
        self.work = Path(tempfile.mkdtemp(prefix="autoscaler-sandbox-"))
        self.key = "EXO" + secrets.token_hex(12)
        self.secret = secrets.token_urlsafe(24)
        self.token = secrets.token_urlsafe(24)
        self.bucket = f"sandbox-{uuid.uuid4().hex[:12]}"
        self.samples: list[measure.Sample] = []
        self.replace: dict[str, Any] | None = None
        self.controls: dict[str, Any] = {}
        self._stack: list[Any] = []

    # ---- bring-up --------------------------------------------------------------------
    def _moto(self) -> str:
        port = free_port()
        logf = open(self.work / "moto.log", "wb")  # noqa: SIM115 -- the child process writes to it for its whole life
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                                 str(port)], stdout=logf, stderr=logf)
        self._stack.append(lambda: stop(proc))
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=ZONE,
                          aws_access_key_id=self.key, aws_secret_access_key=self.secret)
        deadline = time.monotonic() + 30
        while True:
            try:
                s3.create_bucket(Bucket=self.bucket,
                                 CreateBucketConfiguration={"LocationConstraint": ZONE})
                return endpoint
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def start(self) -> None:
        say = self._say
        endpoint = self._moto()
        say(f"SOS (moto server) at {endpoint}, bucket {self.bucket}")
        app_port, exporter_port = member_ports()
        # The stand-in checks members as the deployed NLB does (terraform/nlb.tf): each check is a
        # new connection, so the members' accepted-connection counters see the deployed rate.
        self.healthcheck = deployed_healthcheck(self.speedup)
        self.nlb = Nlb(0, check_interval_s=self.healthcheck.interval_s,
                       check_timeout_s=self.healthcheck.timeout_s)
        self.nlb.start()
        self._stack.append(self.nlb.stop)
        self.fleet = Fleet(self.nlb, app=self.app, app_port=app_port, exporter_port=exporter_port)
        self._stack.append(self.fleet.stop)
        self.emu = EmulatorServer(self.key, self.secret, boot_delay_s=self.t.boot_s,
                                  op_delay_s=1.0, destroy_delay_s=3.0,
                                  on_member_running=self.fleet.on_running,
                                  on_member_removed=self.fleet.on_removed).start()
        self._stack.append(self.emu.stop)
        if self.scenario.start_running:  # as after terraform apply: the member already serves
            self.pool_id = self.emu.create_pool(1)
        else:
            self.pool_id = self.emu.create_pool(0)
            self.emu.model.scale(self.pool_id, 1)  # the member boots like any other
        say(f"Exoscale API emulator at {self.emu.url}, pool {self.pool_id}, boot delay "
            f"{self.t.boot_s:.0f} s; NLB stand-in at 127.0.0.1:{self.nlb.port}")
        receiver_port = free_port()
        self.recorder = Recorder("127.0.0.1", receiver_port)
        self.recorder.start()
        self._stack.append(self.recorder.stop)
        (self.work / "file_sd").mkdir()
        (self.work / "textfile").mkdir()
        self.env = {
            "EXOSCALE_KEY": self.key, "EXOSCALE_SECRET": self.secret, "EXOSCALE_ZONE": ZONE,
            "INSTANCEPOOL_ID": self.pool_id, "EXOSCALE_API_URL": self.emu.url,
            "SOS_BUCKET": self.bucket, "SOS_ENDPOINT": endpoint,
            "LISTEN_ADDR": "127.0.0.1", "LISTEN_PORT": str(receiver_port),
            "SCALER_TOKEN": self.token, "SCALER_MIN_SIZE": str(MIN_SIZE),
            "SCALER_MAX_SIZE": str(self.max_size), "SCALER_POLICY": self.policy,
            "SCALER_COOLDOWN_S": str(self.t.cooldown_s), "SCALER_SETTLE_S": str(self.t.settle_s),
            "SCALER_REQUEST_TTL_S": str(self.t.request_ttl_s),
            "SCALER_LEASE_S": str(self.t.lease_s),
            "SD_OUTPUT": str(self.work / "file_sd" / "pool.json"),
            "TARGET_PORT": str(exporter_port), "TEXTFILE_DIR": str(self.work / "textfile"),
            # /run/autoscaler/kick on the VM: the tick timer also starts when this file changes.
            "SCALER_KICK_FILE": str(self.work / "kick"),
        }
        cfg = config.load(self.env)
        self.store = Store.from_config(cfg)
        self.price_hourly, self.currency = cfg.price_hourly, cfg.currency
        self.handlers = Handlers(self.env, self.work, self.t.tick_s, self.t.sd_s)
        self.handlers.start()
        self._stack.append(self.handlers.stop)
        say(f"receiver on 127.0.0.1:{receiver_port} (behind a recording proxy on "
            f"{self.recorder.port}); tick every {self.t.tick_s:.0f} s, discovery every "
            f"{self.t.sd_s:.0f} s")
        self.mon = Monitoring(self.work, self.t, self.env["SD_OUTPUT"],
                              f"http://127.0.0.1:{self.recorder.port}/webhook", self.token,
                              free_port(), free_port(), demand_signal=self.app.demand_signal)
        self._stack.append(self.mon.stop)
        self.mon.start()
        say(f"Prometheus on 127.0.0.1:{self.mon.prom_port}, Alertmanager on "
            f"127.0.0.1:{self.mon.am_port} (work files in {self.work})")

    # ---- the run ---------------------------------------------------------------------
    def _say(self, text: str) -> None:
        if self.echo:
            print(text, flush=True)

    def _pending(self) -> int:
        try:
            return sum(1 for _ in self.store.list_keys(keys.requests_prefix(self.pool_id)))
        except Exception:
            return -1

    def run(self) -> None:
        sc = self.scenario
        # Let the first member boot and be discovered before the load starts.
        deadline = time.monotonic() + self.t.boot_s + 30
        while not self.nlb.serving() and time.monotonic() < deadline:
            time.sleep(0.5)
        self._wait_for_history()
        self.load: LoadGen | ClosedLoad
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

    def _targets(self) -> list[str]:
        try:
            return sorted(t for g in json.loads(Path(self.env["SD_OUTPUT"]).read_text())
                          for t in g["targets"])
        except (OSError, ValueError):
            return []

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
    def _recorded_requests(self) -> list[tuple[str, float]]:
        found = []
        for prefix in (keys.history_prefix(self.pool_id), keys.requests_prefix(self.pool_id)):
            for item in self.store.read_all(prefix):
                body = item.body or {}
                reqs = body.get("requests") if prefix.startswith("history") else [body]
                for r in reqs or []:
                    if isinstance(r, dict) and r.get("received_at") is not None:
                        found.append((str(r.get("fingerprint") or ""), float(r["received_at"])))
        return found

    def results(self) -> dict[str, Any]:
        ops = [measure.Action(round(o.time - self.wall0, 2), o.operation, o.size_before,
                              o.size_after) for o in self.emu.operations()
               if o.time >= self.wall0]
        deliveries = self.recorder.deliveries()
        lost = measure.lost_requests(deliveries, self._recorded_requests())
        sc = self.scenario
        counters = self.mon.alertmanager_counters()
        inspect = {name: self._inspect(*args) for name, args in (
            ("status", ("status",)), ("history", ("history", "--since", "1h")))}
        overload = self._overload()
        load = self.load.summary()
        member_rps = self.app.member_rps(self.fleet.vcpus)
        return {
            "scenario": sc.name, "description": sc.description, "policy": self.policy,
            "app": apps.run_facts(self.app, self.fleet.vcpus),
            "timings": self.t.as_dict(),
            "nlb_healthcheck": asdict(self.healthcheck),
            "overload": {"figure": overload.figure, "definition": overload.definition()},
            "profile_members": [list(p) for p in sc.profile],
            "profile_rps": [list(p) for p in sc.rps_profile(member_rps)],
            "summary": {"app": self.app.name, **measure.summary(
                self.samples, ops, step_t=sc.step_t, drop_t=sc.drop_t, overload=overload,
                requests_lost=lost, flap_window_s=self.t.flap_window_s),
                "load_errors": sum(load.errors.values()), **self._checker(ops)},
            "actions": [asdict(a) for a in ops],
            "deliveries": {
                "total": len(deliveries),
                "delivered": sum(d.delivered for d in deliveries),
                "scale_alerts_delivered": sum(len(d.alerts) for d in deliveries if d.delivered),
                "alertmanager_notifications": counters["notifications"],
                "alertmanager_failed": counters["failed"],
                "alertmanager_attempts": counters["attempts"],
                "alertmanager_attempts_failed": counters["attempts_failed"]},
            "load": asdict(load),
            "tick_runs": [asdict(r) for r in self.handlers.tick_runs()],
            **money.run_figures(self.store, self.pool_id, self.emu.operations(), self.price_hourly,
                                self.currency, self.wall0, self.controls),
            "replace_vm": self.replace,
            "inspect": inspect,
            "samples": [s.as_dict() for s in self.samples],
        }

    def _checker(self, ops: list[measure.Action]) -> dict[str, Any]:
        sc = self.scenario
        if sc.reach_within_s is None:
            return {}
        final = self.samples[-1].pool_size if self.samples else 0
        return {**measure.checker(ops, reach=CHECKER_REACH, within_s=sc.reach_within_s, drop_t=sc.drop_t,
                                  minimum=MIN_SIZE, final_size=final),
                "checker_limit_s": sc.reach_within_s, "checker_clients": sc.clients}

    def _overload(self) -> measure.Overload:
        if self.app.overload == "cpu":
            threshold = float(render.load_spec()["thresholds"]["scale_up_cpu"])
            return measure.CpuOverload(threshold, measure.duration_s(self.t.rate_window))
        return measure.LatencySlo(SLO_P95_S, MAX_ERROR_RATIO)

    def _inspect(self, *args: str) -> str:
        """The operator's command against this run's bucket, as a person would type it."""
        proc = subprocess.run([sys.executable, "-m", "functions.inspect", *args],
                              env={**os.environ, **self.env, "PYTHONPATH": str(ROOT)},
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        return proc.stdout if proc.returncode == 0 else proc.stderr

    def write(self, results: dict[str, Any]) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        report.write_json(self.out, results)
        report.write_markdown(self.out, results)
        report.write_plot(self.out, self.samples,
                          [measure.Action(**a) for a in results["actions"]],
                          f"{self.scenario.name} ({self.app.name}): {self.scenario.description}"[:110],
                          profile=self.scenario.profile, duration_s=self.scenario.duration_s,
                          step_t=self.scenario.step_t, drop_t=self.scenario.drop_t,
                          member_rps=self.app.member_rps(self.fleet.vcpus),
                          cpu_window_s=measure.duration_s(self.t.rate_window),
                          slo_p95_s=SLO_P95_S if self.app.overload == "latency" else None,
                          price_hourly=self.price_hourly, currency=self.currency,
                          budget_marks=[e["t"] for e in results["budget_events"]],
                          schedule_window=money.schedule_window(self.controls, self.wall0))

    def close(self) -> None:
        while self._stack:
            stop = self._stack.pop()
            try:
                stop()
            except Exception as exc:
                log.warning("stopping a part failed: %s", exc)
        shutil.rmtree(self.work, ignore_errors=True)
