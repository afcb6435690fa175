"""The sandbox's parts, started in the VM's order and stopped in reverse: moto server (SOS), the
Exoscale API emulator with simulated members on 127.0.1.N, the NLB stand-in, real Prometheus and
Alertmanager, a recording proxy in front of the real receiver (or of the classic scaler, with
--policy baseline), and the real tick and discovery handlers on timers.
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
from pathlib import Path
from typing import Any

import boto3

from functions.common import config, keys
from functions.common.store import Store
from sandbox import apps, measure
from sandbox.closed_loop import ClosedLoad
from sandbox.emulator.server import EmulatorServer
from sandbox.fleet import Fleet
from sandbox.handlers import ROOT, Handlers
from sandbox.loadgen import LoadGen
from sandbox.monitoring import Monitoring
from sandbox.nlb import Nlb, deployed_healthcheck
from sandbox.procs import stop
from sandbox.recorder import Recorder
from sandbox.scenarios import Scenario
from sandbox.timings import FAST, REAL, Timings

log = logging.getLogger("sandbox")
ZONE = "at-vie-1"
MIN_SIZE = 1
BASELINE = "baseline"  # the classic ±1 scaler (sandbox/baseline.py) in place of the receiver and the tick


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


MEMBER_ADDRESSES = 16  # the first addresses the emulator hands out (127.0.1.N), checked free


MEMBER_PORTS = ((8080, 9100), (18080, 19100), (28080, 29100))  # app, exporter: the real pair first


def member_ports(pairs: tuple[tuple[int, int], ...] = MEMBER_PORTS) -> tuple[int, int, list[socket.socket]]:
    """8080/9100 like the real pool, unless something on this machine holds them. The pair is
    claimed by holding it on 127.0.1.254 for the whole run (the caller closes the sockets at the
    end): runs at once all put members on 127.0.1.1, 127.0.1.2, ..., so a claim that was only a
    probe let a second run pick the same pair and fail to bind its members."""
    for app, exporter in pairs:
        held: list[socket.socket] = []
        try:
            for port in (app, exporter):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.1.254", port))
                for n in range(1, MEMBER_ADDRESSES + 1):  # a run that claims nothing, members up
                    with socket.socket() as probe:
                        probe.bind((f"127.0.1.{n}", port))
            return app, exporter, held
        except OSError:
            for sock in held:
                sock.close()
    raise RuntimeError("no free member ports on 127.0.1.x")


class Parts:
    """Every part of one run: start() brings them up, close() stops them in reverse order and
    removes the run's work files."""

    # Set by Sandbox.run when the load starts; sandbox/results.py measures the run against them.
    load: LoadGen | ClosedLoad
    t0: float
    wall0: float
    load_offset_s: float

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
        app_port, exporter_port, claim = member_ports()
        self._stack.extend(sock.close for sock in claim)
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
                                  on_member_running=lambda i: self._fleet_for(i).on_running(i),
                                  on_member_removed=lambda i: self._fleet_for(i).on_removed(i)).start()
        self._stack.append(self.emu.stop)
        if self.scenario.start_running:  # as after terraform apply: the member already serves
            self.pool_id = self.emu.create_pool(1)
        else:
            self.pool_id = self.emu.create_pool(0)
            self.emu.model.scale(self.pool_id, 1)  # the member boots like any other
        say(f"Exoscale API emulator at {self.emu.url}, pool {self.pool_id}, boot delay "
            f"{self.t.boot_s:.0f} s; NLB stand-in at 127.0.0.1:{self.nlb.port}")
        self._more_pools(app_port, exporter_port)
        receiver_port = free_port()
        self.recorder = Recorder("127.0.0.1", receiver_port)
        self.recorder.start()
        self._stack.append(self.recorder.stop)
        (self.work / "file_sd").mkdir()
        (self.work / "textfile").mkdir()
        prom_port = free_port()
        self.env = {
            "EXOSCALE_KEY": self.key, "EXOSCALE_SECRET": self.secret, "EXOSCALE_ZONE": ZONE,
            **self._pool_env(), "EXOSCALE_API_URL": self.emu.url,
            "SOS_BUCKET": self.bucket, "SOS_ENDPOINT": endpoint,
            "LISTEN_ADDR": "127.0.0.1", "LISTEN_PORT": str(receiver_port),
            "SCALER_TOKEN": self.token, "SCALER_MIN_SIZE": str(MIN_SIZE),
            "SCALER_MAX_SIZE": str(self.max_size),
            "SCALER_COOLDOWN_S": str(self.t.cooldown_s),
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
        self.handlers = Handlers(self.env, self.work, self.t.tick_s, self.t.sd_s,
                                 classic=self.policy == BASELINE)
        self.handlers.start()
        self._stack.append(self.handlers.stop)
        if self.policy == BASELINE:
            say(f"the classic scaler (sandbox/baseline.py, no tick) on 127.0.0.1:{receiver_port} (behind "
                f"a recording proxy on {self.recorder.port}); discovery every {self.t.sd_s:.0f} s")
        else:
            say(f"receiver on 127.0.0.1:{receiver_port} (behind a recording proxy on "
                f"{self.recorder.port}); tick every {self.t.tick_s:.0f} s, discovery every "
                f"{self.t.sd_s:.0f} s")
        self.mon = Monitoring(self.work, self.t, self.env["SD_OUTPUT"],
                              f"http://127.0.0.1:{self.recorder.port}/webhook", self.token,
                              prom_port, free_port(), demand_signal=self.app.demand_signal)
        self._stack.append(self.mon.stop)
        self.mon.start()
        say(f"Prometheus on 127.0.0.1:{self.mon.prom_port}, Alertmanager on "
            f"127.0.0.1:{self.mon.am_port} (work files in {self.work})")

    # ---- hooks for a run with several pools (sandbox/two_pools.py) ------------------------
    def _fleet_for(self, instance: Any) -> Fleet:
        """The fleet (and so the NLB) an emulator instance belongs to."""
        return self.fleet

    def _more_pools(self, app_port: int, exporter_port: int) -> None:
        """Further pools, each behind its own NLB, once the emulator and the first pool are up."""

    def _pool_env(self) -> dict[str, str]:
        """The handlers' pool setting."""
        return {"INSTANCEPOOL_ID": self.pool_id}

    def _say(self, text: str) -> None:
        if self.echo:
            print(text, flush=True)

    def _pending(self) -> int:
        try:
            return sum(1 for _ in self.store.list_keys(keys.requests_prefix(self.pool_id)))
        except Exception:
            return -1

    def _targets(self) -> list[str]:
        try:
            return sorted(t for g in json.loads(Path(self.env["SD_OUTPUT"]).read_text())
                          for t in g["targets"])
        except (OSError, ValueError):
            return []

    def _inspect(self, *args: str) -> str:
        """The operator's command against this run's bucket, as a person would type it."""
        proc = subprocess.run([sys.executable, "-m", "functions.inspect", *args],
                              env={**os.environ, **self.env, "PYTHONPATH": str(ROOT)},
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        return proc.stdout if proc.returncode == 0 else proc.stderr

    def close(self) -> None:
        while self._stack:
            stop = self._stack.pop()
            try:
                stop()
            except Exception as exc:
                log.warning("stopping a part failed: %s", exc)
        shutil.rmtree(self.work, ignore_errors=True)
