"""Security checks over the parsed HCL: exposed ports, secrets, and the IAM policy's scope."""
from __future__ import annotations

import re

from tests.infra.conftest import TERRAFORM_DIR

WORLD = {"0.0.0.0/0", "::/0"}
NEVER_PUBLIC = {9100, 8090}
ADMIN_PORTS = {22, 3000, 9090}
# REFERENCE.md: the operations the handlers call.
SCALER_OPERATIONS = ["get-instance-pool", "scale-instance-pool", "evict-instance-pool-members",
                     "list-instances", "get-instance", "get-operation"]


def rules(tf: dict) -> list[tuple[str, dict]]:
    return [(name, body) for rtype, name, body, _ in tf["resource"] if rtype == "exoscale_security_group_rule"]


def ports_of(body: dict, tf: dict) -> set[int]:
    start, end = body.get("start_port"), body.get("end_port")
    if isinstance(start, int):
        return set(range(start, (end if isinstance(end, int) else start) + 1))
    # for_each over local.admin_ports: the ports are that map's values
    assert "each.value.port" in str(start), f"unexpected port expression {start}"
    admin_ports = next(item["admin_ports"] for item, _ in tf["locals"] if "admin_ports" in item)
    return set(admin_ports.values())


def test_no_rule_opens_node_exporter_or_the_receiver_to_the_world(tf: dict) -> None:
    for name, body in rules(tf):
        ports = ports_of(body, tf)
        if ports & NEVER_PUBLIC:
            assert "cidr" not in body, f"{name} opens {ports & NEVER_PUBLIC} to a CIDR"
            assert "public_security_group" not in body, name
            assert body.get("user_security_group_id") == "${exoscale_security_group.monitoring.id}", name


def test_receiver_port_has_no_rule_at_all(tf: dict) -> None:
    assert all(8090 not in ports_of(body, tf) for _, body in rules(tf))


def test_admin_ports_only_from_admin_cidrs(tf: dict) -> None:
    for name, body in rules(tf):
        if ports_of(body, tf) & ADMIN_PORTS:
            cidr = str(body.get("cidr"))
            assert cidr == "${each.value}" or cidr == "${each.value.cidr}", f"{name}: cidr {cidr}"
            assert "var.admin_cidrs" in str(body.get("for_each")) or name == "monitoring_admin", name
    text = (TERRAFORM_DIR / "security.tf").read_text()
    assert "setproduct(keys(local.admin_ports), var.admin_cidrs)" in text


def test_only_the_app_port_is_open_to_the_world(tf: dict) -> None:
    for name, body in rules(tf):
        if body.get("cidr") in WORLD:
            assert ports_of(body, tf) == {8080}, name


def test_secrets_are_sensitive_variables_or_generated(tf: dict, tf_module: dict) -> None:
    variables = {name: body for name, body, _ in tf["variable"]}
    for secret in ("exoscale_key", "exoscale_secret"):
        assert variables[secret].get("sensitive") is True
        assert "default" not in variables[secret], f"{secret} must be required"
    module_vars = {name: body for name, body, _ in tf_module["variable"]}
    for secret in ("scaler_key", "scaler_secret", "scaler_token", "grafana_admin_password"):
        assert module_vars[secret].get("sensitive") is True, secret
    generated = {name for rtype, name, _, _ in tf["resource"] if rtype == "random_password"}
    assert generated == {"grafana_admin", "scaler_token"}
    outputs = {name: body for name, body, _ in tf["output"]}
    assert outputs["grafana_admin_password"].get("sensitive") is True
    # No literal credentials anywhere in the configuration.
    for path in list(TERRAFORM_DIR.rglob("*.tf")):
        text = path.read_text()
        assert not re.search(r"EXO[0-9a-f]{24}", text), path
        assert not re.search(r"(secret|password|token)\s*=\s*\"[^$\"][^\"]*\"", text), path


def test_iam_policy_names_only_the_reference_operations(tf: dict) -> None:
    local_items = {k: v for item, _ in tf["locals"] for k, v in item.items()}
    assert local_items["scaler_compute_operations"] == SCALER_OPERATIONS
    assert set(local_items["scaler_pool_mutations"]) <= set(SCALER_OPERATIONS)
    role = next(body for rtype, _, body, _ in tf["resource"] if rtype == "exoscale_iam_role")
    policy = role["policy"]
    assert policy["default_service_strategy"] == "deny"
    assert set(policy["services"]) == {"compute", "sos"}
    compute = policy["services"]["compute"]["rules"]
    allows = [r for r in compute if r["action"] == "allow"]
    assert len(allows) == 1 and "local.scaler_compute_operations" in allows[0]["expression"]
    assert all("operation in" in r["expression"] for r in compute), "no catch-all rule in compute"
    deny = next(r for r in compute if r["action"] == "deny")
    assert compute.index(deny) < compute.index(allows[0]), "the pool restriction must come first"
    assert "exoscale_instance_pool.app.id" in deny["expression"]
    sos = policy["services"]["sos"]["rules"]
    assert sos[0]["action"] == "deny" and "aws_s3_bucket.state.bucket" in sos[0]["expression"]
    # Every operation named literally in a compute expression is one of the listed ones.
    quoted = set(re.findall(r"'([a-z-]+)'", " ".join(r["expression"] for r in compute)))
    assert quoted <= set(SCALER_OPERATIONS)
    assert all(r["action"] == "deny" for r in sos[:-1])


def test_the_api_key_uses_the_restricted_role(tf: dict) -> None:
    key = next(body for rtype, _, body, _ in tf["resource"] if rtype == "exoscale_iam_api_key")
    assert key["role_id"] == "${exoscale_iam_role.scaler.id}"
    module = next(body for name, body, _ in tf["module"] if name == "bootstrap")
    assert module["scaler_key"] == "${exoscale_iam_api_key.scaler.key}"
    assert module["scaler_secret"] == "${exoscale_iam_api_key.scaler.secret}"
