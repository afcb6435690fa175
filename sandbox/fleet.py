"""The simulated pool: a SimulatedVm (running the run's app) per running instance of the emulator, in the NLB.

The emulator's lifecycle callbacks drive it: an instance that reaches `running` gets a
simulated VM on its public IP; one that leaves the pool loses it.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from sandbox.apps import App
from sandbox.member import SimulatedVm
from sandbox.nlb import Nlb

log = logging.getLogger("sandbox.fleet")
VCPUS = 1  # standard.tiny, the pool's default instance type (terraform/variables.tf)


@dataclass(frozen=True)
class FleetFigures:
    cpu: float | None  # average CPU of the members since the previous reading (None: no reading yet)
    in_flight: int  # /load requests the members hold
    in_flight_max: int  # the most one member holds
    members: int  # members running the app


class Fleet:
    def __init__(self, nlb: Nlb, *, app: App, app_port: int, exporter_port: int, vcpus: int = VCPUS) -> None:
        self.nlb = nlb
        self.app = app
        self.vcpus = vcpus
        self.app_port = app_port
        self.exporter_port = exporter_port
        self._lock = threading.Lock()
        self._members: dict[str, SimulatedVm] = {}  # instance id → member
        self._busy_last: dict[str, tuple[float, float]] = {}  # ip → (time, busy vCPU-seconds) last read

    def on_running(self, instance: Any) -> None:
        member = SimulatedVm(instance.public_ip, app=self.app, app_port=self.app_port,
                        exporter_port=self.exporter_port, vcpus=self.vcpus)
        member.start()
        with self._lock:
            self._members[instance.id] = member
        self._publish()

    def on_removed(self, instance: Any) -> None:
        with self._lock:
            member = self._members.pop(instance.id, None)
        self._publish()
        if member is not None:
            member.stop()

    def _publish(self) -> None:
        with self._lock:
            backends = [(m.ip, self.app_port) for m in self._members.values()]
        self.nlb.set_backends(backends)

    def members(self) -> list[SimulatedVm]:
        with self._lock:
            return list(self._members.values())

    def figures(self, now: float) -> FleetFigures:
        """The members' CPU since the previous call (from their busy counters) and requests held now."""
        snaps = [m.snapshot() for m in self.members()]
        cpus = []
        for snap in snaps:
            if snap.ip in self._busy_last:
                t0, b0 = self._busy_last[snap.ip]
                if now > t0:
                    cpus.append(min(1.0, max(0.0, (snap.busy_seconds - b0) / (self.vcpus * (now - t0)))))
            self._busy_last[snap.ip] = (now, snap.busy_seconds)
        return FleetFigures(cpu=sum(cpus) / len(cpus) if cpus else None,
                            in_flight=sum(s.in_flight for s in snaps),
                            in_flight_max=max((s.in_flight for s in snaps), default=0), members=len(snaps))

    def stop(self) -> None:
        with self._lock:
            members, self._members = list(self._members.values()), {}
        for member in members:
            member.stop()
