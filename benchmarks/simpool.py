"""The benchmark's simulated instance pool: members in creation order, booting, serving, billed."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from functions.scaler.tick.policy import Member, PoolView


@dataclass
class SimMember:
    id: str
    created: int
    running_at: int


class SimPool:
    """Members in creation order; a member serves once booted; removed ones bill until gone."""

    def __init__(self, size: int, boots: Sequence[int], destroy_s: int) -> None:
        self.boots = boots
        self.destroy_s = destroy_s
        self.serial = 0
        self.members: list[SimMember] = []
        self.destroying: list[int] = []  # times at which removed members are gone
        for _ in range(size):
            self._add(-10_000, running=True)

    def _add(self, t: int, running: bool = False) -> None:
        boot = 0 if running else self.boots[self.serial % len(self.boots)]
        self.members.append(SimMember(f"m{self.serial:04d}", t, t + boot))
        self.serial += 1

    @property
    def size(self) -> int:
        return len(self.members)

    def serving(self, t: int) -> int:
        return sum(1 for m in self.members if t >= m.running_at)

    def billed(self, t: int) -> int:
        self.destroying = [gone for gone in self.destroying if gone > t]
        return len(self.members) + len(self.destroying)

    def state(self, t: int) -> str:
        # As the emulator: scaling-up while a member boots, scaling-down while one is destroyed.
        if any(t < m.running_at for m in self.members):
            return "scaling-up"
        if any(gone > t for gone in self.destroying):
            return "scaling-down"
        return "running"

    def view(self, t: int) -> PoolView:
        members = tuple(Member(m.id, "running" if t >= m.running_at else "starting",
                               _iso(m.created)) for m in self.members)
        return PoolView(self.size, self.state(t), members)

    def scale_to(self, t: int, size: int) -> None:
        while self.size < size:
            self._add(t)
        while self.size > size:  # Exoscale removes the oldest member when the size drops
            self.members.pop(0)
            self.destroying.append(t + self.destroy_s)

    def evict(self, t: int, ids: Sequence[str]) -> None:
        wanted = set(ids)
        self.destroying += [t + self.destroy_s for m in self.members if m.id in wanted]
        self.members = [m for m in self.members if m.id not in wanted]


def _iso(t: int) -> str:
    """`created-at` as the API writes it, for a simulated second (an arbitrary epoch)."""
    return dt.datetime.fromtimestamp(1_700_000_000 + t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
