"""Configuration from the environment: defaults, validation, exit code 2, no secret echoed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from functions.common import config, prices

BASE = {
    "EXOSCALE_KEY": "EXOkey", "EXOSCALE_SECRET": "s3cr3t-value", "EXOSCALE_ZONE": "ch-gva-2",
    "INSTANCEPOOL_ID": "pool-1", "SOS_BUCKET": "my-bucket",
}


def test_defaults() -> None:
    cfg = config.load(BASE)
    assert cfg.api_url == "https://api-ch-gva-2.exoscale.com/v2"
    assert cfg.sos_endpoint == "https://sos-ch-gva-2.exo.io"
    assert (cfg.listen_addr, cfg.listen_port, cfg.token) == ("127.0.0.1", 8090, None)
    assert (cfg.min_size, cfg.max_size, cfg.max_step) == (1, 10, 4)
    assert (cfg.cooldown_s, cfg.request_ttl_s, cfg.target_utilization) == (120.0, 300.0, 0.7)
    assert (cfg.sd_output, cfg.target_port) == ("/var/lib/autoscaler/file_sd/pool.json", 9100)


def test_secrets_not_in_repr() -> None:
    text = repr(config.load({**BASE, "SCALER_TOKEN": "tok-123"}))
    assert "s3cr3t-value" not in text and "tok-123" not in text and "EXOkey" not in text


@pytest.mark.parametrize("name, value, fragment", [
    ("EXOSCALE_KEY", "", "EXOSCALE_KEY is required"),
    ("EXOSCALE_SECRET", "  ", "EXOSCALE_SECRET is required"),
    ("EXOSCALE_ZONE", "mars", "EXOSCALE_ZONE"),
    ("INSTANCEPOOL_ID", "a/b", "INSTANCEPOOL_ID"),
    ("SOS_BUCKET", "Bad_Bucket", "SOS_BUCKET"),
    ("SOS_ENDPOINT", "ftp://x", "SOS_ENDPOINT"),
    ("EXOSCALE_API_URL", "localhost:8081", "EXOSCALE_API_URL"),
    ("LISTEN_PORT", "70000", "LISTEN_PORT"),
    ("LISTEN_PORT", "http", "LISTEN_PORT"),
    ("SCALER_MIN_SIZE", "0", "SCALER_MIN_SIZE"),
    ("SCALER_MAX_SIZE", "0", "SCALER_MAX_SIZE"),
    ("SCALER_TARGET_UTILIZATION", "1.5", "SCALER_TARGET_UTILIZATION"),
    ("SCALER_MAX_STEP", "0", "SCALER_MAX_STEP"),
    ("SCALER_COOLDOWN_S", "-1", "SCALER_COOLDOWN_S"),
    ("SCALER_REQUEST_TTL_S", "0", "SCALER_REQUEST_TTL_S"),
    ("SCALER_LOOKAHEAD_S", "-5", "SCALER_LOOKAHEAD_S"),
    ("SCALER_LOOKAHEAD_S", "soon", "SCALER_LOOKAHEAD_S"),
    ("SCALER_LOOKAHEAD_S", "4000", "SCALER_LOOKAHEAD_S"),
    ("TARGET_PORT", "0", "TARGET_PORT"),
])
def test_bad_values_name_the_variable(name: str, value: str, fragment: str) -> None:
    with pytest.raises(config.ConfigError, match=fragment):
        config.load({**BASE, name: value})


def test_lookahead_reaches_the_policy_and_zero_turns_it_off() -> None:
    from functions.scaler.tick.policy import Params
    assert Params.of(config.load(BASE)).lookahead_s == 180.0
    assert Params.of(config.load({**BASE, "SCALER_LOOKAHEAD_S": "0"})).lookahead_s == 0.0


def test_max_below_min_is_refused() -> None:
    with pytest.raises(config.ConfigError, match="SCALER_MAX_SIZE"):
        config.load({**BASE, "SCALER_MIN_SIZE": "3", "SCALER_MAX_SIZE": "2"})


def test_process_exits_2_with_one_line_and_no_secret() -> None:
    env = {**BASE, "EXOSCALE_ZONE": "", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", "from functions.common import config; config.from_environ_or_exit()"],
        env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == ["configuration error: EXOSCALE_ZONE is required but not set"]
    assert "s3cr3t-value" not in proc.stderr + proc.stdout


def test_kick_file_is_optional_and_absolute() -> None:
    assert config.load(BASE).kick_file is None
    assert config.load({**BASE, "SCALER_KICK_FILE": "  "}).kick_file is None
    assert config.load({**BASE, "SCALER_KICK_FILE": "/run/autoscaler/kick"}).kick_file == "/run/autoscaler/kick"
    with pytest.raises(config.ConfigError, match="SCALER_KICK_FILE must be an absolute path"):
        config.load({**BASE, "SCALER_KICK_FILE": "run/kick"})


def test_the_pools_price_from_the_bundled_table_or_the_operators() -> None:
    cfg = config.load(BASE)
    assert (cfg.instance_type, cfg.prices_file, cfg.price_hourly, cfg.currency) == (
        "standard.tiny", None, 0.0153, "EUR")
    assert config.load({**BASE, "SCALER_INSTANCE_TYPE": "standard.small"}).price_hourly == 0.0278


def test_an_operators_price_table(tmp_path: Path) -> None:
    table = json.loads(prices.DEFAULT_PATH.read_text())
    table.update(currency="CHF", hourly={**table["hourly"], "instance": {"standard.tiny": 0.02}})
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(table))
    cfg = config.load({**BASE, "SCALER_PRICES_FILE": str(path)})
    assert (cfg.prices_file, cfg.price_hourly, cfg.currency) == (str(path), 0.02, "CHF")


@pytest.mark.parametrize("extra, fragment", [
    ({"SCALER_INSTANCE_TYPE": "gpu.huge"}, "SCALER_INSTANCE_TYPE: no price for instance type 'gpu.huge'"),
    ({"SCALER_PRICES_FILE": "/nonexistent/prices.json"}, "SCALER_PRICES_FILE: /nonexistent/prices.json: cannot read"),
    ({"SCALER_PRICES_FILE": "BROKEN"}, "SCALER_PRICES_FILE: .*broken.json: not JSON"),
])
def test_a_bad_price_setting_is_one_line_naming_the_variable(tmp_path: Path, extra: dict, fragment: str) -> None:
    if extra.get("SCALER_PRICES_FILE") == "BROKEN":
        (tmp_path / "broken.json").write_text("{")
        extra = {"SCALER_PRICES_FILE": str(tmp_path / "broken.json")}
    with pytest.raises(config.ConfigError, match=fragment) as info:
        config.load({**BASE, **extra})
    assert "\n" not in str(info.value)
