"""The monitoring VM's own processes, as systemd would run them: the receiver as a service,
the tick and discovery as one-shot processes on fixed-rate timers, the tick also started at once
when the receiver (stored request) or discovery (members changed) touches the kick file
(SCALER_KICK_FILE, in the env both get; autoscaler-tick.path on the VM). Also
kills them all (SIGKILL) to rehearse a VM replacement. With `classic`, the sandbox's classic
scaler (sandbox/baseline.py) takes the receiver's place and there is no tick.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox import procs

log = logging.getLogger("sandbox.handlers")
ROOT = Path(__file__).resolve().parent.parent
KICK_POLL_S = 0.5  # systemd's inotify watch reacts at once; polling keeps this stand-in simple


@dataclass(frozen=True)
class Run:
    name: str
    started: float
    ended: float
    code: int
    trigger: str = "timer"  # or "kick": started because the kick file changed


class Timer(threading.Thread):
    """Runs `python -m module` every `period_s` (fixed rate, like OnUnitActiveSec + AccuracySec=1s)
    and, given a `kick_file`, also as soon as that file's mtime changes (a .path unit). One process
    at a time, as systemd runs a service: a kick during a run merges into that run."""

    def __init__(self, name: str, module: str, period_s: float, env: dict[str, str],
                 logfile: Path, runs: list[Run], lock: threading.Lock, offset_s: float = 0.0,
                 kick_file: Path | None = None) -> None:
        super().__init__(name=f"timer-{name}", daemon=True)
        self.label = name  # what runs are recorded as: Thread.name is "timer-<name>"
        self.module, self.period_s, self.env, self.logfile = module, period_s, env, logfile
        self.runs, self.lock, self.offset_s = runs, lock, offset_s
        self.kick_file = kick_file
        self.stopping = threading.Event()
        self.paused = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None

    def _kick_mtime(self) -> int | None:
        if self.kick_file is None:
            return None
        try:
            return self.kick_file.stat().st_mtime_ns
        except OSError:
            return None

    def run(self) -> None:
        next_at = time.monotonic() + self.offset_s
        seen = self._kick_mtime()
        while True:
            wait = next_at - time.monotonic()
            if self.kick_file is not None:
                wait = min(wait, KICK_POLL_S)
            if self.stopping.wait(max(0.0, wait)):
                return
            mtime = self._kick_mtime()
            kicked, seen = mtime != seen, mtime
            if time.monotonic() >= next_at:
                next_at += self.period_s  # the timer's schedule never moves for a kick
                trigger = "timer"
            elif kicked:
                trigger = "kick"
            else:
                continue
            if self.paused.is_set():
                continue
            self._run_once(trigger)
            # Kicks that came during the run are dropped: systemd merges a start request for a
            # running service into it, and the next timer run covers what that run missed.
            seen = self._kick_mtime()

    def _run_once(self, trigger: str) -> None:
        started = time.time()
        with open(self.logfile, "ab") as out:
            self.child = subprocess.Popen([sys.executable, "-m", self.module], env=self.env,
                                          cwd=ROOT, stdout=out, stderr=out)
            code = self.child.wait()
        with self.lock:
            self.runs.append(Run(self.label, started, time.time(), code, trigger))

    def kill_child(self) -> None:
        child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGKILL)


class Handlers:
    def __init__(self, env: dict[str, str], workdir: Path, tick_s: float, sd_s: float,
                 classic: bool = False) -> None:
        self.classic = classic
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.workdir = workdir
        self.tick_s, self.sd_s = tick_s, sd_s
        self.runs: list[Run] = []
        self.lock = threading.Lock()
        self.receiver: subprocess.Popen[bytes] | None = None
        self.timers: list[Timer] = []
        kick = self.env.get("SCALER_KICK_FILE", "").strip()
        self.kick_file = Path(kick) if kick else None

    def one_shot(self, module: str, *args: str) -> int:
        with open(self.workdir / "handlers.log", "ab") as out:
            return subprocess.run([sys.executable, "-m", module, *args], env=self.env, cwd=ROOT,
                                  stdout=out, stderr=out, timeout=60).returncode

    def start(self) -> None:
        """Boot order of the VM: sd --restore, then the receiver and both timers."""
        self.one_shot("functions.sd", "--restore")
        with open(self.workdir / "receiver.log", "ab") as out:
            module = "sandbox.baseline" if self.classic else "functions.scaler.receiver"
            self.receiver = subprocess.Popen([sys.executable, "-m", module],
                                             env=self.env, cwd=ROOT, stdout=out, stderr=out)
        self.timers = [
            Timer("sd", "functions.sd", self.sd_s, self.env, self.workdir / "sd.log", self.runs,
                  self.lock)]
        if not self.classic:
            self.timers.append(Timer("tick", "functions.scaler.tick", self.tick_s, self.env,
                                     self.workdir / "tick.log", self.runs, self.lock,
                                     offset_s=self.tick_s / 2, kick_file=self.kick_file))
        for t in self.timers:
            t.start()

    def kill_all(self) -> None:
        """SIGKILL everything at once, as when the VM is destroyed."""
        for t in self.timers:
            t.stopping.set()
            t.kill_child()
        if self.receiver is not None and self.receiver.poll() is None:
            self.receiver.send_signal(signal.SIGKILL)
            self.receiver.wait()
        for t in self.timers:
            t.join(timeout=5)
        self.timers = []

    def stop(self) -> None:
        for t in self.timers:
            t.stopping.set()
        for t in self.timers:
            t.join(timeout=70)
        if self.receiver is not None:
            procs.stop(self.receiver)
        self.timers = []

    def tick_runs(self) -> list[Run]:
        with self.lock:
            return [r for r in self.runs if r.name == "tick"]
