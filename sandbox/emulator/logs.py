"""The emulator's two audit trails: performed mutations (operation log) and HTTP calls (request log)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar


@dataclass(frozen=True)
class OperationRecord:
    """One mutation the platform actually performed (faulted calls never get here)."""

    time: float
    operation_id: str
    operation: str          # API operation name, e.g. "scale-instance-pool"
    pool_id: str
    arguments: dict[str, Any]
    size_before: int
    size_after: int
    added: list[str] = field(default_factory=list)    # instance ids created
    removed: list[str] = field(default_factory=list)  # instance ids that left the pool
    completes: bool = True  # False when a fault keeps the operation pending forever


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP call to the API routes (admin routes are not recorded)."""

    time: float
    method: str
    path: str
    query: str
    operation_id: str | None  # None when no spec route matched
    status: int | None        # None when the connection was dropped without an answer
    fault: str | None = None  # which injected fault answered, if any
    duration_s: float = 0.0


T = TypeVar("T", OperationRecord, RequestRecord)


class EventLog(Generic[T]):
    """An append-only, thread-safe list with a bound so a long sandbox run cannot grow without limit."""

    def __init__(self, limit: int = 100_000) -> None:
        self._items: list[T] = []
        self._limit = limit
        self._lock = threading.Lock()
        self._dropped = 0

    def append(self, item: T) -> None:
        with self._lock:
            self._items.append(item)
            if len(self._items) > self._limit:
                del self._items[0]
                self._dropped += 1

    def entries(self) -> list[T]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._dropped = 0

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.entries()]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
