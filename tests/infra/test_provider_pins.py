"""Every provider constraint in terraform/versions.tf admits a published release (an impossible pin makes
`terraform init` fail with "no available releases match" before anything else), and stays bounded; the
autoscaler module and the example pin exactly the same."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import AUTOSCALER_DIR, EXAMPLE_DIR, FIXTURES, TERRAFORM_DIR, load_tf
from tests.infra.tf_versions import admits, matching

RELEASES = json.loads((FIXTURES / "provider_releases.json").read_text())["providers"]
SCHEMA_SOURCE = json.loads((FIXTURES / "provider_schema.json").read_text())["source"]


def required_providers(directory: Path = TERRAFORM_DIR) -> dict[str, dict[str, Any]]:
    blocks = load_tf(directory)["terraform"]
    found: dict[str, dict[str, Any]] = {}
    for block, _ in blocks:
        for req in block.get("required_providers", []):
            found.update({k: v for k, v in req.items() if k != "__is_block__"})
    return found


@pytest.mark.parametrize(("constraint", "version", "expected"), [
    ("~> 0.70", "0.70.0", True), ("~> 0.70", "0.71.3", True), ("~> 0.70", "1.0.0", False),
    ("~> 0.70", "0.69.3", False), ("~> 0.74.0", "0.70.0", False), ("~> 0.74.0", "0.74.9", True),
    ("~> 0.74.0", "0.75.0", False), ("= 6.22.0", "6.22.0", True), ("6.22.0", "6.22.1", False),
    (">= 5.80, < 6.0", "5.99.1", True), (">= 5.80, < 6.0", "6.22.0", False), ("!= 3.6.1", "3.6.1", False),
    ("> 2.7.0", "2.7.0", False), ("<= 2.7.0", "2.7.0", True), ("~> 2", "2.8.0", True),
])
def test_constraint_semantics(constraint: str, version: str, expected: bool) -> None:
    assert admits(constraint, version) is expected


def test_the_old_exoscale_pin_would_have_been_caught() -> None:
    """Negative control: `~> 0.74.0` (the earlier pin) admits no released version."""
    assert matching("~> 0.74.0", RELEASES["exoscale/exoscale"]["versions"]) == []


def test_every_provider_has_a_release_list_with_its_source() -> None:
    providers = required_providers()
    assert set(providers) == {"exoscale", "aws", "random", "archive", "cloudinit"}
    for req in providers.values():
        entry = RELEASES.get(req["source"])
        assert entry, f"{req['source']} has no entry in provider_releases.json"
        assert entry["source"] and entry["versions"], req["source"]


@pytest.mark.parametrize("name", ["exoscale", "aws", "random", "archive", "cloudinit"])
def test_each_constraint_admits_a_released_version(name: str) -> None:
    req = required_providers()[name]
    released = RELEASES[req["source"]]["versions"]
    assert matching(req["version"], released), f"{name} {req['version']!r} admits none of {released[-5:]}..."


def test_pins_are_bounded() -> None:
    """No open-ended `>=`: exact, or pessimistic within one minor release line."""
    providers = required_providers()
    for name, req in providers.items():
        assert req["version"].startswith(("~>", "=")), f"{name}: {req['version']}"
        assert not admits(req["version"], "99.0.0"), name
    assert providers["aws"]["version"] == "= 6.22.0"


def test_exoscale_admits_only_the_release_line_the_schema_fixture_was_generated_from() -> None:
    """No lock file is committed: a later minor (0.71) could change a schema nobody here compared."""
    fixture_version = re.search(r"\bv(\d+\.\d+\.\d+)\b", SCHEMA_SOURCE)
    assert fixture_version, SCHEMA_SOURCE
    checked = fixture_version.group(1)
    major, minor, _ = checked.split(".")
    constraint = required_providers()["exoscale"]["version"]
    assert admits(constraint, checked)
    assert admits(constraint, f"{major}.{minor}.9")                    # patches of that line
    assert not admits(constraint, f"{major}.{int(minor) + 1}.0")         # the next minor
    assert not admits(constraint, f"{major}.{int(minor) - 1}.0")


@pytest.mark.parametrize("directory", [AUTOSCALER_DIR, EXAMPLE_DIR], ids=["autoscaler", "example"])
def test_the_module_and_the_example_pin_what_the_root_pins(directory: Path) -> None:
    """One set of pins: a caller and the module it calls must agree, or `terraform init` finds no version."""
    assert required_providers(directory) == required_providers()
    versions = [block for block, _ in load_tf(directory)["terraform"]]
    assert [block["required_version"] for block in versions] == [
        block["required_version"] for block, _ in load_tf(TERRAFORM_DIR)["terraform"]]
