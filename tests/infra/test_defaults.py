"""The handlers' defaults (functions/common/config.py) are the settings the deployment runs with, so a
handler started with only the required variables behaves as the deployed one does."""
from __future__ import annotations

from dataclasses import fields

from functions.common import config
from tests.infra.test_cloudinit import env_map

REQUIRED = ("EXOSCALE_KEY", "EXOSCALE_SECRET", "EXOSCALE_ZONE", "INSTANCEPOOL_ID", "SOS_BUCKET")

# What the deployment sets that no default can hold: the bearer token it generates, the pool bounds
# the operator chose (terraform's pool_max_size; SCALER_MAX_SIZE's own default is a contract), and
# the kick file in the receiver's RuntimeDirectory (unset = no kick, as everywhere but the VM).
# `pools` holds each pool resolved against the global settings, so its max_size differs with it.
DEPLOYMENT_ONLY = {"token", "max_size", "kick_file", "pools"}


def variable_default(tf: dict, name: str) -> object:
    return next(body["default"] for var, body, _ in tf["variable"] if var == name)


def test_config_defaults_are_the_deployed_settings(rendered: dict) -> None:
    env = env_map(rendered["scaler_env"])
    deployed = config.load(env)
    bare = config.load({name: env[name] for name in REQUIRED})
    differ = {f.name for f in fields(config.Config) if getattr(deployed, f.name) != getattr(bare, f.name)}
    assert differ == DEPLOYMENT_ONLY


def test_terraforms_defaults_are_configs(tf: dict) -> None:
    assert variable_default(tf, "pool_instance_type") == config.Config.instance_type
    assert variable_default(tf, "pool_min_size") == config.Config.min_size
