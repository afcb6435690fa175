"""The tick's reads and writes of the state bucket: its typed state (always written with
IfMatch), the pending requests (the oldest MAX_REQUESTS_PER_TICK, READ_WORKERS at a time), the
operator's settings, history records, deletions in batches, and the daily history pruning.
"""
from __future__ import annotations

import logging
from dataclasses import replace

from functions.bucket.request import from_json
from functions.bucket.state import Corrupt, HistoryRecord, ScalerState, today
from functions.common import config, keys
from functions.common.fields import SchemaError, ShapeError
from functions.common.store import Store

from . import policy
from .transition import Effects, Settings

log = logging.getLogger("scaler.tick")
MAX_REQUESTS_PER_TICK = 2000  # the oldest; the rest wait for the next tick (they expire by TTL)
READ_WORKERS = 16
PRUNE_BATCH = 1000  # history objects one tick may delete (one DeleteObjects request)


class TickFailed(RuntimeError):
    pass


class TickBucket:
    def __init__(self, cfg: config.Config, store: Store) -> None:
        self.cfg, self.store, self.pool_id = cfg, store, cfg.pool_id
        self.state_key = keys.scaler_state(cfg.pool_id)

    def read_state(self) -> tuple[ScalerState, str | None]:
        stored = self.store.get(self.state_key)
        if stored is None:
            return ScalerState(), None
        try:
            if stored.body is None:
                raise ShapeError(stored.error or "unreadable")
            state = ScalerState.from_json(stored.body)
        except SchemaError as exc:
            # Written by another version: overwriting it could undo what that version did.
            raise TickFailed(f"{self.state_key}: {exc}; not touching it") from exc
        except ShapeError as exc:
            # A corrupt state object must not stop scaling forever: start over, keep the etag.
            log.error("scaler state is corrupt (%s); starting from an empty state", exc)
            return ScalerState(), stored.etag
        return state, stored.etag

    def save(self, state: ScalerState, etag: str | None) -> tuple[ScalerState, str]:
        state = replace(state, revision=state.revision + 1)
        if etag is None:
            return state, self.store.put(self.state_key, state.to_json(), if_none_match=True)
        return state, self.store.put(self.state_key, state.to_json(), if_match=etag)

    def read_requests(self) -> tuple[tuple[policy.Pending, ...], tuple[Corrupt, ...]]:
        """The oldest pending requests (keys sort by received time), and unreadable ones."""
        listed = list(self.store.list_keys(keys.requests_prefix(self.pool_id),
                                           limit=MAX_REQUESTS_PER_TICK))
        if len(listed) == MAX_REQUESTS_PER_TICK:
            log.warning("reading the oldest %d pending requests; newer ones wait for the next tick",
                        MAX_REQUESTS_PER_TICK)
        pending: list[policy.Pending] = []
        corrupt: list[Corrupt] = []
        for item in self.store.read_many(listed, READ_WORKERS):
            try:
                if item.body is None:
                    raise ValueError(item.error or "unreadable")
                pending.append(policy.Pending(item.key, from_json(item.body, item.key)))
            except ValueError as exc:
                log.error("corrupt request %s: %s", item.key, exc)
                corrupt.append(Corrupt(item.key, str(exc)))
        return tuple(pending), tuple(corrupt)

    def read_settings(self, now: float) -> Settings:
        stored = self.store.get(keys.settings(self.pool_id))
        if stored is not None and stored.body is None:
            log.error("operator settings are corrupt (%s); ignoring them", stored.error)
        settings = Settings.of(self.cfg, stored.body if stored else None, now)
        for note in settings.problems:
            log.error("operator settings: %s", note)
        return settings

    def record(self, history: tuple[HistoryRecord, ...]) -> None:
        for item in history:
            self.store.put(item.key(self.pool_id), item.to_json())

    def carry_out(self, effects: Effects) -> None:
        """History first, deletions second: a request is never gone without its record."""
        self.record(effects.history)
        self.store.delete_many(effects.delete)

    def prune_history(self, state: ScalerState, now: float) -> ScalerState:
        """Once a day, delete history older than SCALER_HISTORY_DAYS (SOS has no lifecycle rules).

        Keys sort by day, so one listing from the oldest stops at the first day kept. A large
        backlog is worked off PRUNE_BATCH objects per tick so a tick stays short.
        """
        if state.history_pruned_on == today(now):
            return state
        cutoff = keys.history_day_prefix(self.pool_id, now - self.cfg.history_days * 86400)
        old = [key for key in self.store.list_keys(keys.history_prefix(self.pool_id),
                                                   limit=PRUNE_BATCH) if key < cutoff]
        deleted = self.store.delete_many(old)
        if deleted:
            log.info("pruned %d history record(s) older than %d days", deleted,
                     self.cfg.history_days)
        return state if deleted == PRUNE_BATCH else replace(state, history_pruned_on=today(now))
