"""The emulated platform's objects (instances, pools, async operations), the refusal the API
maps to an HTTP status, and the shape of the model's lifecycle callbacks; sandbox/emulator/model.py
owns their state and transitions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

Clock = Callable[[], float]
Callback = Callable[["Instance"], None]


class ModelError(Exception):
    """A request the platform refuses; `status` is the HTTP status it maps to."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Instance:
    id: str
    name: str
    pool_id: str
    public_ip: str  # "" = none (see detach_public_ip)
    created_at: float
    running_at: float
    state: str = "starting"
    destroyed_at: float | None = None  # when a destroying instance disappears
    serial: int = 0  # creation order, which "oldest first" relies on


@dataclass
class Pool:
    id: str
    name: str
    zone: str
    instance_prefix: str
    created_at: float
    members: list[str] = field(default_factory=list)  # oldest first; destroying ones excluded
    description: str = ""
    state: str = "running"

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass
class Operation:
    id: str
    command: str
    pool_id: str
    created_at: float
    complete_at: float | None  # None: stays pending forever (fault injection)

    def state(self, now: float) -> str:
        return "success" if self.complete_at is not None and now >= self.complete_at else "pending"


def copy_pool(pool: Pool) -> Pool:
    # Callers get copies so rendering never races with a concurrent mutation.
    return replace(pool, members=list(pool.members))


def ip_for_index(index: int) -> str:
    """127.0.1.1 … 127.0.1.254, then 127.0.2.1 …: always loopback, never .0 or .255."""
    return f"127.0.{1 + index // 254}.{1 + index % 254}"


@dataclass
class Callbacks:
    on_member_added: Callback | None = None
    on_member_running: Callback | None = None
    on_member_removed: Callback | None = None
