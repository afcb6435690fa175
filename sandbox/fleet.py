"""The simulated pool: a Member (running the run's app) per running instance of the emulator, in the NLB.

The emulator's lifecycle callbacks drive it: an instance that reaches `running` gets a
simulated VM on its public IP; one that leaves the pool loses it.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from sandbox.apps import App
from sandbox.member import Member
from sandbox.nlb import Nlb

log = logging.getLogger("sandbox.fleet")


class Fleet:
    def __init__(self, nlb: Nlb, *, app: App, app_port: int, exporter_port: int) -> None:
        self.nlb = nlb
        self.app = app
        self.app_port = app_port
        self.exporter_port = exporter_port
        self._lock = threading.Lock()
        self._members: dict[str, Member] = {}  # instance id → member

    def on_running(self, instance: Any) -> None:
        member = Member(instance.public_ip, app=self.app, app_port=self.app_port,
                        exporter_port=self.exporter_port)
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

    def members(self) -> list[Member]:
        with self._lock:
            return list(self._members.values())

    def stop(self) -> None:
        with self._lock:
            members, self._members = list(self._members.values()), {}
        for member in members:
            member.stop()
