"""The receiver's SOS calls: a delivery's writes and the status reads, run in parallel on the
receiver's worker pool and bounded as a whole by a deadline, so the answer (a 503 included) always
leaves inside the time the sender waits. A job not yet started when the deadline passes is
cancelled: nothing is written after the receiver answered 503."""
from __future__ import annotations

import concurrent.futures as futures
import contextlib
from collections.abc import Iterable, Sequence
from typing import TypeVar

from functions.bucket.request import ScaleRequest
from functions.common import config, keys
from functions.common.store import Conflict, Json, Store
from functions.views import reads

T = TypeVar("T")


def _within(jobs: list[futures.Future[T]], deadline_s: float, late_error: str) -> list[T]:
    _done, late = futures.wait(jobs, timeout=deadline_s)
    if late:
        for job in late:
            job.cancel()
        raise TimeoutError(late_error.format(late=len(late), jobs=len(jobs)))
    return [job.result() for job in jobs]  # re-raises the first StoreError


def store_requests(store: Store, requests: Iterable[tuple[str, ScaleRequest]],
                   pool_exec: futures.ThreadPoolExecutor, deadline_s: float) -> list[str]:
    """Create one object per (pool id, request) in parallel; every key, or StoreError /
    TimeoutError."""
    def put(pool: str, req: ScaleRequest) -> str:
        key = keys.request(pool, req.received_ms, req.unique())
        # Conflict: the object is already there, a retry of our own write landed.
        with contextlib.suppress(Conflict):
            store.put(key, req.to_json(), if_none_match=True)
        return key

    jobs = [pool_exec.submit(put, pool, req) for pool, req in requests]
    return _within(jobs, deadline_s, f"SOS did not confirm {{late}} of {{jobs}} writes within "
                                     f"{deadline_s:.0f} s")


def read_views(store: Store, pools: Sequence[config.Config], now: float,
               pool_exec: futures.ThreadPoolExecutor, deadline_s: float) -> list[Json]:
    """Each pool's status view (views/reads.py), the pools read in parallel; StoreError /
    TimeoutError."""
    jobs = [pool_exec.submit(reads.read_status, store, one, now) for one in pools]
    return _within(jobs, deadline_s, "SOS did not answer the status reads in time")
