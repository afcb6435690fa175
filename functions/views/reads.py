"""The reads behind `inspect`'s views and the receiver's GET /status: the shell around objects.py
and status.py (SOS in, views out)."""
from __future__ import annotations

from functions.common import config, keys
from functions.common.store import Json, Store

from . import objects, overview, status


def read_status(store: Store, cfg: config.Config, now: float) -> Json:
    pool = cfg.pool_id
    return status.status_view(
        pool, now, scaler=store.get(keys.scaler_state(pool)),
        discovery=store.get(keys.discovery(pool)), lease=store.get(keys.lease(pool)),
        settings=store.get(keys.settings(pool)),
        requests=store.read_all(keys.requests_prefix(pool)),
        hard_min=cfg.min_size, hard_max=cfg.max_size, price_hourly=cfg.price_hourly,
        currency=cfg.currency, instance_type=cfg.instance_type)


def read_requests(store: Store, cfg: config.Config, now: float) -> Json:
    pool = cfg.pool_id
    return objects.requests_view(pool, store.read_all(keys.requests_prefix(pool)),
                               store.get(keys.scaler_state(pool)), now)


def read_history(store: Store, cfg: config.Config, now: float, since: float | None,
                 limit: int) -> Json:
    pool = cfg.pool_id
    prefix = keys.history_prefix(pool)
    # Day folders sort by date, so listing can start at the `since` day.
    start = keys.history_day_prefix(pool, since)[:-1] if since is not None else ""
    problems: list[objects.Problem] = []
    chosen = objects.history_selection(list(store.list_keys(prefix, start)), since, limit, problems)
    return objects.history_view(pool, store.read_many(chosen), since, now, problems)


def read_discovery(store: Store, cfg: config.Config, now: float) -> Json:
    return objects.discovery_view(cfg.pool_id, store.get(keys.discovery(cfg.pool_id)), now)


def read_overview(store: Store, cfg: config.Config, now: float) -> Json:
    """One row per configured pool (views/overview.py), the pools read one after the other."""
    return overview.overview([(one.pool_name, read_status(store, one, now))
                              for one in cfg.each_pool()], now)
