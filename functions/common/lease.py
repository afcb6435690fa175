"""The tick's lease in SOS: conditional create, replaced only when expired or our own.

Two monitoring VMs alive during a replacement both run the tick timer; only the one that
holds the lease acts.
"""
from __future__ import annotations

import contextlib
import os
import socket
import uuid
from dataclasses import dataclass

from .store import Conflict, Json, Store


def new_holder() -> str:
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def may_take(current: Json | None, holder: str, now: float) -> bool:
    """Pure: a lease may be taken when absent, unreadable, expired, or already ours."""
    if current is None:
        return True
    expires = current.get("expires_at")
    if not isinstance(expires, (int, float)):
        return True
    return current.get("holder") == holder or expires <= now


@dataclass
class Lease:
    key: str
    holder: str
    etag: str

    def release(self, store: Store, now: float) -> None:
        """Give the lease back early (expiring now, same holder) so the next tick need not wait."""
        with contextlib.suppress(Conflict):
            self.etag = store.put(self.key, {"holder": self.holder, "expires_at": now,
                                             "released": True}, if_match=self.etag)


def acquire(store: Store, key: str, holder: str, now: float, ttl_s: float) -> Lease | None:
    """Take the lease or return None when somebody else holds it (or wins the race)."""
    current = store.get(key)
    if not may_take(current.body if current else None, holder, now):
        return None
    body = {"holder": holder, "acquired_at": now, "expires_at": now + ttl_s}
    try:
        if current is None:
            etag = store.put(key, body, if_none_match=True)
        else:
            etag = store.put(key, body, if_match=current.etag)
    except Conflict:
        return None
    return Lease(key, holder, etag)
