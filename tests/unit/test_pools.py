"""Which pools a deployment scales: INSTANCEPOOL_ID alone, or INSTANCEPOOLS with per-pool settings."""
from __future__ import annotations

import pytest

from functions.common import config
from functions.common.pools import PoolsError, PoolSpec, parse

DEFAULTS = PoolSpec("", "", 1, 10, 4, 120.0, "standard.tiny")
BASE = {"EXOSCALE_KEY": "EXOk", "EXOSCALE_SECRET": "s", "EXOSCALE_ZONE": "at-vie-1",
        "SOS_BUCKET": "bucket-1"}


@pytest.mark.parametrize("env, expected", [
    ({"INSTANCEPOOL_ID": "p-1"}, [PoolSpec("default", "p-1", 1, 10, 4, 120.0, "standard.tiny")]),
    ({"INSTANCEPOOL_ID": " p-1 ", "INSTANCEPOOL_NAME": "web"},
     [PoolSpec("web", "p-1", 1, 10, 4, 120.0, "standard.tiny")]),
    ({"INSTANCEPOOLS": "web=p-1"}, [PoolSpec("web", "p-1", 1, 10, 4, 120.0, "standard.tiny")]),
    ({"INSTANCEPOOLS": "web=p-1:min=2:max=8,api=p-2:type=standard.small:cooldown=0:step=1"},
     [PoolSpec("web", "p-1", 2, 8, 4, 120.0, "standard.tiny"),
      PoolSpec("api", "p-2", 1, 10, 1, 0.0, "standard.small")]),
    ({"INSTANCEPOOLS": " a=1 , b_2=2:max=1"},
     [PoolSpec("a", "1", 1, 10, 4, 120.0, "standard.tiny"), PoolSpec("b_2", "2", 1, 1, 4, 120.0, "standard.tiny")]),
])
def test_pools_and_their_settings(env: dict[str, str], expected: list[PoolSpec]) -> None:
    assert list(parse(env, DEFAULTS)) == expected


@pytest.mark.parametrize("env, fragment", [
    ({}, "INSTANCEPOOL_ID is required"),
    ({"INSTANCEPOOL_ID": "p", "INSTANCEPOOLS": "a=q"}, "not both"),
    ({"INSTANCEPOOL_ID": "a/b"}, "must not contain '/'"),
    ({"INSTANCEPOOL_ID": "p", "INSTANCEPOOL_NAME": "Web"}, "INSTANCEPOOL_NAME must match"),
    ({"INSTANCEPOOL_ID": "p", "INSTANCEPOOL_NAME": "run_web"}, "not start with 'run_'"),
    ({"INSTANCEPOOLS": "web=1,run_web=2"}, r"entry 2 .*must not start with 'run_'"),
    ({"INSTANCEPOOLS": "web"}, r"entry 1 \('web'\): expected <name>=<id>"),
    ({"INSTANCEPOOLS": "a=1,9x=2"}, "entry 2"),
    ({"INSTANCEPOOLS": "a="}, "pool id must be non-empty"),
    ({"INSTANCEPOOLS": "a=x/y"}, "without /"),
    ({"INSTANCEPOOLS": "a=1:size=3"}, "unknown, repeated or empty option 'size=3'"),
    ({"INSTANCEPOOLS": "a=1:min=2:min=3"}, "repeated"),
    ({"INSTANCEPOOLS": "a=1:min="}, "empty option"),
    ({"INSTANCEPOOLS": "a=1:min=two"}, "min must be a number"),
    ({"INSTANCEPOOLS": "a=1:min=0"}, "min out of range"),
    ({"INSTANCEPOOLS": "a=1:step=0"}, "step out of range"),
    ({"INSTANCEPOOLS": "a=1:cooldown=-1"}, "cooldown out of range"),
    ({"INSTANCEPOOLS": "a=1:min=5:max=3"}, r"max \(3\) below min \(5\)"),
    ({"INSTANCEPOOLS": "a=1:min=11"}, r"max \(10\) below min \(11\)"),  # against the global max
    ({"INSTANCEPOOLS": "a=1,a=2"}, "every pool name must be unique"),
    ({"INSTANCEPOOLS": "a=1,b=1"}, "every pool id must be unique"),
    ({"INSTANCEPOOLS": ",".join(f"p{i}={i}" for i in range(21))}, "at most 20"),
])
def test_bad_pool_settings_name_the_variable_and_entry(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(PoolsError, match=fragment):
        parse(env, DEFAULTS)


def test_the_configuration_is_the_first_pools_and_for_pool_gives_each() -> None:
    cfg = config.load({**BASE, "SCALER_MAX_SIZE": "6",
                       "INSTANCEPOOLS": "web=p-1:min=2,api=p-2:type=standard.small:max=3"})
    assert (cfg.pool_name, cfg.pool_id, cfg.min_size, cfg.max_size) == ("web", "p-1", 2, 6)
    api = cfg.for_pool("api")
    assert (api.pool_name, api.pool_id, api.min_size, api.max_size) == ("api", "p-2", 1, 3)
    assert api.instance_type == "standard.small" and api.price_hourly > cfg.price_hourly
    assert [c.pool_id for c in cfg.each_pool()] == ["p-1", "p-2"]
    with pytest.raises(config.ConfigError, match="no pool named 'db'; this deployment scales web, api"):
        cfg.for_pool("db")


def test_one_pool_configured_as_before() -> None:
    cfg = config.load({**BASE, "INSTANCEPOOL_ID": "p-1"})
    assert (cfg.pool_name, cfg.pool_id) == ("default", "p-1")
    assert cfg.each_pool() == (cfg,)


def test_an_unknown_type_in_any_pool_stops_the_handlers() -> None:
    with pytest.raises(config.ConfigError, match="SCALER_INSTANCE_TYPE"):
        config.load({**BASE, "INSTANCEPOOLS": "web=p-1,api=p-2:type=standard.huge"})
