"""Applies after the first change nothing, and destroy removes everything in a safe order (over the parsed HCL)."""
from __future__ import annotations

import re
from typing import Any

from tests.infra.conftest import REPO

REF = re.compile(r"\b((?:data\.)?[a-z0-9]+_[a-z0-9_]+)\.([a-z0-9_]+)\b")


def resources(tf: dict) -> dict[tuple[str, str], dict[str, Any]]:
    return {(rtype, name): body for rtype, name, body, _ in tf["resource"]}


def ignored(body: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for block in body.get("lifecycle", []):
        for entry in block.get("ignore_changes", []):
            found.update(entry if isinstance(entry, list) else [entry])
    return found


def references(body: Any) -> set[tuple[str, str]]:
    """Every `type.name` a body refers to (terraform orders create and destroy by these)."""
    return {(m.group(1), m.group(2)) for m in REF.finditer(str(body))}


def test_a_new_template_image_changes_nothing(tf_all: dict) -> None:
    """data.exoscale_template returns the newest image of that name: whatever uses it ignores template_id."""
    users = [(key, body) for key, body in resources(tf_all).items()
             if "data.exoscale_template" in str(body.get("template_id"))]
    assert {key for key, _ in users} == {("exoscale_instance_pool", "app"), ("exoscale_compute_instance", "monitoring")}
    for key, body in users:
        assert "template_id" in ignored(body), key


def test_the_scalers_work_is_never_undone(tf: dict) -> None:  # the root's own pool
    pool = resources(tf)[("exoscale_instance_pool", "app")]
    assert {"size", "template_id"} <= ignored(pool)
    # the pool's computed member list is never set from the configuration, so evictions cannot show as a diff
    assert "instances" not in pool and "virtual_machines" not in pool


def scrape_groups(tf: dict) -> set[tuple[str, str]]:
    """The groups the root hands the autoscaler module for its 9100 rule (scrape_security_group_ids)."""
    module = next(body for name, body, _ in tf["module"] if name == "autoscaler")
    return references(module["scrape_security_group_ids"])


def test_every_security_group_outlives_what_uses_it(tf: dict, tf_all: dict) -> None:
    """Destroy runs in reverse dependency order: a group goes only after every VM, pool and rule naming it
    (the module's 9100 rule names the pool's group through the module's input, a dependency all the same)."""
    res = resources(tf_all)
    groups = {key for key in res if key[0] == "exoscale_security_group"}
    assert groups == {("exoscale_security_group", "pool"), ("exoscale_security_group", "monitoring")}
    users = {key for key, body in res.items() if "security_group_ids" in body}
    assert users == {("exoscale_instance_pool", "app"), ("exoscale_compute_instance", "monitoring")}
    for key in users:
        assert references(res[key]["security_group_ids"]) & groups, key
    for key, body in res.items():
        if key[0] == "exoscale_security_group_rule":
            named = references({k: body[k] for k in ("security_group_id", "user_security_group_id") if k in body})
            if body["security_group_id"] == "${each.value}":
                assert body["for_each"] == "${var.scrape_security_group_ids}", key
                named |= scrape_groups(tf)
            assert named <= groups and len(named) == 1 + ("user_security_group_id" in body), key
    assert scrape_groups(tf) == {("exoscale_security_group", "pool")}


def test_nothing_writes_to_the_bucket_or_scales_the_pool_while_they_are_destroyed(
        tf: dict, tf_autoscaler: dict) -> None:
    """The monitoring VM (the only writer of the bucket and caller of the pool API) depends on the bucket,
    the IAM key and the pools (the module's `pools`, the root's pool id) through the bootstrap module, so
    terraform destroys it before all three."""
    module = next(body for name, body, _ in tf_autoscaler["module"] if name == "bootstrap")
    assert {("aws_s3_bucket", "state"), ("exoscale_iam_api_key", "scaler")} <= references(module)
    assert module["pools"] == "${var.pools}"
    autoscaler = next(body for name, body, _ in tf["module"] if name == "autoscaler")
    assert ("exoscale_instance_pool", "app") in references(autoscaler["pools"])
    monitoring = resources(tf_autoscaler)[("exoscale_compute_instance", "monitoring")]
    assert "data.cloudinit_config.monitoring" in str(monitoring["user_data"])
    cloud_config = next(body for rtype, name, body, _ in tf_autoscaler["data"]
                        if (rtype, name) == ("cloudinit_config", "monitoring"))
    assert "module.bootstrap" in str(cloud_config)
    assert resources(tf_autoscaler)[("aws_s3_bucket", "state")]["force_destroy"] is True


def test_every_cloud_resource_is_found_by_the_leftovers_listing(tf: dict, tf_all: dict) -> None:
    """What `./dev acceptance` checks after destroy covers every kind of cloud object terraform creates:
    each is listed by name (or deleted with its parent), and each name starts with the deployment's
    (the module's `name`, which the root sets to its own)."""
    from acceptance.leftovers import KINDS, PARENT_DELETES
    cloud = {rtype for rtype, _, _, _ in tf_all["resource"] if rtype.startswith(("exoscale_", "aws_"))}
    assert cloud <= set(KINDS) | set(PARENT_DELETES), cloud - set(KINDS) - set(PARENT_DELETES)
    for rtype, name, body, fname in tf_all["resource"]:
        if rtype in KINDS:
            named = str(body.get("name", body.get("bucket", "")))
            prefix = "${var.name}" if fname.startswith("modules/autoscaler/") else "${local.name}"
            assert named.startswith(prefix), f"{fname}: {rtype}.{name} is named {named!r}"
    assert next(body for name, body, _ in tf["module"] if name == "autoscaler")["name"] == "${local.name}"
    naming = (REPO / "terraform" / "naming.tf").read_text()
    assert 'name        = "${var.name_prefix}-${random_id.deployment.hex}"' in naming
