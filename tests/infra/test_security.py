"""Security checks over the parsed HCL: exposed ports, secrets, and the IAM policy's scope."""
from __future__ import annotations

import re

import botocore.session

from tests.infra.conftest import REPO, TERRAFORM_DIR

WORLD = {"0.0.0.0/0", "::/0"}
NEVER_PUBLIC = {9100, 8090}
ADMIN_PORTS = {22, 3000, 9090}
# boto3 call → the SOS IAM operation it is checked as (the S3 action's name in kebab case; get-object
# and list-objects are confirmed by the exoscale provider's examples/iam-bucket-access/main.tf).
S3_TO_IAM = {"get_object": "get-object", "put_object": "put-object", "delete_object": "delete-object",
             "delete_objects": "delete-objects", "list_objects_v2": "list-objects"}


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


def called_operations() -> tuple[set[str], set[str]]:
    """The Exoscale API and S3 operations the handlers' code calls, as IAM operation names."""
    compute: set[str] = set()
    objects: set[str] = set()
    for path in (REPO / "functions").rglob("*.py"):
        text = path.read_text()
        compute |= {m.replace("_", "-") for m in re.findall(r"\bclient\.(\w+)\(", text)}
        for call in re.findall(r"\bs3\.(\w+)\(", text) + re.findall(r"get_paginator\(\"(\w+)\"\)", text):
            if call != "get_paginator":
                assert call in S3_TO_IAM, f"{path}: s3.{call} has no IAM operation in S3_TO_IAM (and in iam.tf)"
                objects.add(S3_TO_IAM[call])
    return compute, objects


def iam_locals(tf: dict) -> dict:
    return {k: v for item, _ in tf["locals"] for k, v in item.items()}


def admits(expression: str, operation: str) -> bool:
    """Evaluate the object-write rule (CEL: startsWith/endsWith, ||, &&, parentheses) for one operation."""
    python = (expression.replace(".startsWith(", ".startswith(").replace(".endsWith(", ".endswith(")
              .replace("||", " or ").replace("&&", " and "))
    assert re.fullmatch(r"[\w\s.()'\-]+", python), f"unexpected rule form: {expression}"
    return bool(eval(python, {"__builtins__": {}}, {"operation": operation}))  # iam.tf rule text, checked above


def s3_operations_in_kebab_case() -> set[str]:
    """Every S3 API operation (botocore's S3 model), named as SOS IAM names the two it documents."""
    names = botocore.session.get_session().get_service_model("s3").operation_names
    return {re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower() for name in names}


def test_iam_policy_names_what_the_handlers_call(tf: dict) -> None:
    local_items = iam_locals(tf)
    compute_ops, object_ops = called_operations()
    assert compute_ops == {"get-instance-pool", "list-instances", "scale-instance-pool", "evict-instance-pool-members"}
    assert set(local_items["scaler_read_operations"]) | set(local_items["scaler_pool_mutations"]) == compute_ops
    reads = set(local_items["scaler_object_reads"])
    assert reads == {"get-object", "list-objects"}   # the names Exoscale's provider example documents
    writes = object_ops - reads
    assert writes == {"put-object", "delete-objects"}
    assert all(admits(local_items["scaler_object_writes"], op) for op in writes)
    role = next(body for rtype, _, body, _ in tf["resource"] if rtype == "exoscale_iam_role")
    policy = role["policy"]
    assert policy["default_service_strategy"] == "deny"
    assert set(policy["services"]) == {"compute", "sos"}
    compute = policy["services"]["compute"]["rules"]
    # 1. reads, by operation only (list-instances has no `id`: a rule reading it first would be skipped)
    assert compute[0] == {"expression": "operation in ['${join(\"', '\", local.scaler_read_operations)}']",
                          "action": "allow"}
    # 2. mutations on another pool refused, 3. mutations allowed; nothing else (no catch-all)
    assert compute[1]["action"] == "deny"
    assert "parameters.id != '${exoscale_instance_pool.app.id}'" in compute[1]["expression"]
    assert "local.scaler_pool_mutations" in compute[1]["expression"]
    assert compute[2] == {"expression": "operation in ['${join(\"', '\", local.scaler_pool_mutations)}']",
                          "action": "allow"}
    assert len(compute) == 3
    assert all("operation in" in r["expression"] for r in compute), "no catch-all rule in compute"
    # sos: two allows, each also requiring this bucket (a call without `bucket` matches neither: refused)
    assert local_items["scaler_bucket_check"] == "parameters.bucket == '${aws_s3_bucket.state.bucket}'"
    sos = policy["services"]["sos"]["rules"]
    assert sos == [
        {"expression": "${local.scaler_bucket_check} && operation in ['${join(\"', '\", local.scaler_object_reads)}']",
         "action": "allow"},
        {"expression": "${local.scaler_bucket_check} && (${local.scaler_object_writes})", "action": "allow"},
    ]


def test_the_write_rule_admits_no_s3_operation_beyond_the_handlers_writes(tf: dict) -> None:
    """By S3's own operation names: delete-object, copy-object, put-object-acl, delete-bucket... stay out."""
    operations = s3_operations_in_kebab_case()
    assert {"put-object", "delete-object", "copy-object", "delete-objects", "put-object-acl"} <= operations
    admitted = {op for op in operations if admits(iam_locals(tf)["scaler_object_writes"], op)}
    assert admitted == called_operations()[1] - set(iam_locals(tf)["scaler_object_reads"])


def test_the_rule_check_would_catch_the_former_suffix_rule() -> None:
    """Negative control: the earlier rule (any name ending in -object/-objects) admitted copy and restore."""
    former = "operation.endsWith('-object') || operation.endsWith('-objects')"
    admitted = {op for op in s3_operations_in_kebab_case() if admits(former, op)}
    assert {"copy-object", "restore-object", "get-object", "head-object"} <= admitted


def test_the_api_key_uses_the_restricted_role(tf: dict) -> None:
    key = next(body for rtype, _, body, _ in tf["resource"] if rtype == "exoscale_iam_api_key")
    assert key["role_id"] == "${exoscale_iam_role.scaler.id}"
    module = next(body for name, body, _ in tf["module"] if name == "bootstrap")
    assert module["scaler_key"] == "${exoscale_iam_api_key.scaler.key}"
    assert module["scaler_secret"] == "${exoscale_iam_api_key.scaler.secret}"
