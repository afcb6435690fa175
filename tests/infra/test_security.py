"""Security checks over the parsed HCL: exposed ports, secrets, and the IAM policy's scope (its rule expressions
rendered by terraform itself, offline, for one pool and for three)."""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import botocore.session
import pytest

from functions.common import config
from tests.infra.conftest import AUTOSCALER_DIR, REPO, SCOPE_DIR, TERRAFORM_DIR, console, load_tf

WORLD = {"0.0.0.0/0", "::/0"}
NEVER_PUBLIC = {9100, 8090}
ADMIN_PORTS = {22, 3000, 9090}
# boto3 call → the SOS IAM operation it is checked as (the S3 action's name in kebab case; get-object
# and list-objects are confirmed by the exoscale provider's examples/iam-bucket-access/main.tf).
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
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


def test_no_rule_opens_node_exporter_or_the_receiver_to_the_world(tf_all: dict, tf_example: dict) -> None:
    opened = []
    for name, body in rules(tf_all):
        ports = ports_of(body, tf_all)
        if ports & NEVER_PUBLIC:
            opened.append(name)
            assert "cidr" not in body, f"{name} opens {ports & NEVER_PUBLIC} to a CIDR"
            assert "public_security_group" not in body, name
            assert body.get("user_security_group_id") == "${exoscale_security_group.monitoring.id}", name
    assert opened == ["scrape"]
    assert rules(tf_example) == []   # the example adds its rules through the module only


def test_receiver_port_has_no_rule_at_all(tf_all: dict) -> None:
    assert all(8090 not in ports_of(body, tf_all) for _, body in rules(tf_all))


def test_admin_ports_only_from_admin_cidrs(tf_all: dict) -> None:
    for name, body in rules(tf_all):
        if ports_of(body, tf_all) & ADMIN_PORTS:
            cidr = str(body.get("cidr"))
            assert cidr == "${each.value}" or cidr == "${each.value.cidr}", f"{name}: cidr {cidr}"
            assert "var.admin_cidrs" in str(body.get("for_each")) or name == "monitoring_admin", name
    text = (AUTOSCALER_DIR / "security.tf").read_text()
    assert "setproduct(keys(local.admin_ports), var.admin_cidrs)" in text


def test_only_the_app_port_is_open_to_the_world(tf_all: dict) -> None:
    for name, body in rules(tf_all):
        if body.get("cidr") in WORLD:
            assert ports_of(body, tf_all) == {8080}, name


def test_secrets_are_sensitive_variables_or_generated(tf: dict, tf_module: dict, tf_autoscaler: dict,
                                                      tf_example: dict) -> None:
    for cfg in (tf, tf_example):
        variables = {name: body for name, body, _ in cfg["variable"]}
        for secret in ("exoscale_key", "exoscale_secret"):
            assert variables[secret].get("sensitive") is True
            assert "default" not in variables[secret], f"{secret} must be required"
    module_vars = {name: body for name, body, _ in tf_module["variable"]}
    for secret in ("scaler_key", "scaler_secret", "scaler_token", "grafana_admin_password"):
        assert module_vars[secret].get("sensitive") is True, secret
    for cfg in (tf, tf_autoscaler, tf_example):
        variables = {name: body for name, body, _ in cfg["variable"]}
        assert variables["operator_webhook_url"].get("sensitive") is True
        outputs = {name: body for name, body, _ in cfg["output"]}
        for secret in ("grafana_admin_password", "inspect_env"):
            assert outputs[secret].get("sensitive") is True, secret
    generated = {name for rtype, name, _, _ in tf_autoscaler["resource"] if rtype == "random_password"}
    assert generated == {"grafana_admin", "scaler_token"}
    assert not any(rtype == "random_password" for rtype, _, _, _ in tf["resource"] + tf_example["resource"])
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


def iam_locals() -> dict:
    """The operation lists and rule parts of terraform/modules/scaler_scope, as written."""
    return {k: v for item, _ in load_tf(SCOPE_DIR)["locals"] for k, v in item.items()}


RULE_FORM = re.compile(r"[\w\s.()'\-\[\],!=&|]+")


def cel(expression: str, operation: str, parameters: dict[str, str] | None = None) -> bool | None:
    """Evaluate one rule expression of the forms scaler_scope writes (CEL: `in [...]`, `==`, `!(...)`,
    startsWith/endsWith, ||, &&): True or False, or None where it reads a parameter the call lacks
    (Exoscale then skips the rule)."""
    assert RULE_FORM.fullmatch(expression), f"unexpected rule form: {expression}"
    python = (expression.replace(".startsWith(", ".startswith(").replace(".endsWith(", ".endswith(")
              .replace("||", " or ").replace("&&", " and ").replace("!(", " not ("))
    scope = {"operation": operation, "parameters": SimpleNamespace(**(parameters or {}))}
    try:
        return bool(eval(python, {"__builtins__": {}}, scope))  # scaler_scope's rule text, form checked above
    except AttributeError:
        return None


def admits(expression: str, operation: str) -> bool:
    """Evaluate the object-write rule (CEL: startsWith/endsWith, ||, &&, parentheses) for one operation."""
    return bool(cel(expression, operation))


def decide(policy: list[dict[str, str]], operation: str, parameters: dict[str, str]) -> str:
    """Exoscale's rules policy: the first rule that is true decides, an invalid one is skipped, and
    with none deciding the call is refused."""
    for rule in policy:
        if cel(rule["expression"], operation, parameters):
            return rule["action"]
    return "refused"


def s3_operations_in_kebab_case() -> set[str]:
    """Every S3 API operation (botocore's S3 model), named as SOS IAM names the two it documents."""
    names = botocore.session.get_session().get_service_model("s3").operation_names
    return {re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower() for name in names}


def role_policy(tf_autoscaler: dict) -> dict:
    role = next(body for rtype, _, body, _ in tf_autoscaler["resource"] if rtype == "exoscale_iam_role")
    return role["policy"]


def test_iam_policy_names_what_the_handlers_call(tf_autoscaler: dict) -> None:
    local_items = iam_locals()
    compute_ops, object_ops = called_operations()
    assert compute_ops == {"get-instance-pool", "list-instances", "scale-instance-pool", "evict-instance-pool-members"}
    assert set(local_items["scaler_read_operations"]) | set(local_items["scaler_pool_mutations"]) == compute_ops
    reads = set(local_items["scaler_object_reads"])
    assert reads == {"get-object", "list-objects"}   # the names Exoscale's provider example documents
    writes = object_ops - reads
    assert writes == {"put-object", "delete-objects"}
    assert all(admits(local_items["scaler_object_writes"], op) for op in writes)
    policy = role_policy(tf_autoscaler)
    assert policy["default_service_strategy"] == "deny"
    assert set(policy["services"]) == {"compute", "sos"}
    # 1. reads, by operation only (list-instances has no `id`: a rule reading it first would be skipped),
    # 2. mutations on any other pool refused, 3. mutations allowed; nothing else (no catch-all)
    assert policy["services"]["compute"]["rules"] == [
        {"expression": "${module.scope.compute_reads}", "action": "allow"},
        {"expression": "${module.scope.compute_other_pools}", "action": "deny"},
        {"expression": "${module.scope.compute_mutations}", "action": "allow"},
    ]
    assert local_items["compute_reads"] == "operation in ['${join(\"', '\", local.scaler_read_operations)}']"
    assert local_items["compute_mutations"] == "operation in ['${join(\"', '\", local.scaler_pool_mutations)}']"
    # sos: two allows, each also requiring this bucket (a call without `bucket` matches neither: refused)
    assert local_items["scaler_bucket_check"] == "parameters.bucket == '${var.bucket}'"
    assert policy["services"]["sos"]["rules"] == [
        {"expression": "${module.scope.sos_reads}", "action": "allow"},
        {"expression": "${module.scope.sos_writes}", "action": "allow"},
    ]
    scope = next(body for name, body, _ in tf_autoscaler["module"] if name == "scope")
    assert (scope["pools"], scope["bucket"]) == ("${var.pools}", "${aws_s3_bucket.state.bucket}")


def test_the_write_rule_admits_no_s3_operation_beyond_the_handlers_writes() -> None:
    """By S3's own operation names: delete-object, copy-object, put-object-acl, delete-bucket... stay out."""
    operations = s3_operations_in_kebab_case()
    assert {"put-object", "delete-object", "copy-object", "delete-objects", "put-object-acl"} <= operations
    admitted = {op for op in operations if admits(iam_locals()["scaler_object_writes"], op)}
    assert admitted == called_operations()[1] - set(iam_locals()["scaler_object_reads"])


def test_the_rule_check_would_catch_the_former_suffix_rule() -> None:
    """Negative control: the earlier rule (any name ending in -object/-objects) admitted copy and restore."""
    former = "operation.endsWith('-object') || operation.endsWith('-objects')"
    admitted = {op for op in s3_operations_in_kebab_case() if admits(former, op)}
    assert {"copy-object", "restore-object", "get-object", "head-object"} <= admitted


BUCKET = "autoscaler-0a1b2c3d-state"
OTHER_POOL = "ffffffff-0000-4000-8000-00000000beef"


def scope_pools(count: int, defaults_at: int) -> dict[str, dict]:
    """`count` pools; pool number `defaults_at` leaves max_step and cooldown_s to the handlers (null)."""
    return {f"p{i}": {"id": f"4a1e{i:04x}-0000-4000-8000-{i:012x}", "min_size": i, "max_size": 4 + i,
                      "max_step": None if i == defaults_at else 1 + i,
                      "cooldown_s": None if i == defaults_at else 60 * i + 0.5,
                      "instance_type": "standard.small" if i == 3 else "standard.tiny",
                      "demand": "cpu" if i % 2 else "in_flight"} for i in range(1, count + 1)}


@pytest.fixture(scope="module", params=[(1, 0), (1, 1), (2, 2), (3, 2)],
                ids=["1-pool", "1-pool-handler-defaults", "2-pools", "3-pools"])
def scope(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """(the pools given, everything terraform/modules/scaler_scope renders for them)."""
    pools = scope_pools(*request.param)
    out = console(SCOPE_DIR, "jsonencode({rules = {compute_reads = local.compute_reads, "
                  "compute_other_pools = local.compute_other_pools, compute_mutations = local.compute_mutations, "
                  "sos_reads = local.sos_reads, sos_writes = local.sos_writes}, env = local.pools_env})\n",
                  {"pools": pools, "bucket": BUCKET}, tmp_path_factory.mktemp("scope"))
    return pools, json.loads(json.loads(out))


def test_the_role_names_exactly_the_configured_pools(scope: tuple[dict, dict], tf_autoscaler: dict) -> None:
    pools, rendered = scope
    ids = {pool["id"] for pool in pools.values()}
    named = {name: set(UUID.findall(expr)) for name, expr in rendered["rules"].items()}
    assert named == {"compute_reads": set(), "compute_other_pools": ids, "compute_mutations": set(),
                     "sos_reads": set(), "sos_writes": set()}
    buckets = {name: re.findall(r"parameters\.bucket == '([^']*)'", expr) for name, expr in rendered["rules"].items()}
    assert buckets == {"compute_reads": [], "compute_other_pools": [], "compute_mutations": [],
                       "sos_reads": [BUCKET], "sos_writes": [BUCKET]}
    services = role_policy(tf_autoscaler)["services"]
    policy = {svc: [{"expression": rendered["rules"][rule["expression"].removeprefix("${module.scope.").rstrip("}")],
                     "action": rule["action"]} for rule in services[svc]["rules"]] for svc in services}
    for pool_id in ids:
        for mutation in ("scale-instance-pool", "evict-instance-pool-members"):
            assert decide(policy["compute"], mutation, {"id": pool_id}) == "allow"
            assert decide(policy["compute"], mutation, {"id": OTHER_POOL}) == "deny"
        assert decide(policy["compute"], "get-instance-pool", {"id": OTHER_POOL}) == "allow"
    assert decide(policy["compute"], "list-instances", {}) == "allow"
    assert decide(policy["compute"], "delete-instance-pool", {"id": sorted(ids)[0]}) == "refused"
    for operation in ("get-object", "list-objects", "put-object", "delete-objects"):
        assert decide(policy["sos"], operation, {"bucket": BUCKET}) == "allow"
        assert decide(policy["sos"], operation, {"bucket": "someone-elses"}) == "refused"
        assert decide(policy["sos"], operation, {}) == "refused"
    assert decide(policy["sos"], "delete-bucket", {"bucket": BUCKET}) == "refused"


def test_the_pools_environment_is_what_the_handlers_parse(scope: tuple[dict, dict]) -> None:
    pools, rendered = scope
    env = {"EXOSCALE_KEY": "EXOk", "EXOSCALE_SECRET": "s", "EXOSCALE_ZONE": "at-vie-1", "SOS_BUCKET": BUCKET,
           **rendered["env"]}
    assert ("INSTANCEPOOLS" in env) is (len(pools) > 1)
    loaded = config.load(env).pools
    step, cooldown = config.Config.max_step, config.Config.cooldown_s
    assert {p.name: (p.id, p.min_size, p.max_size, p.max_step, p.cooldown_s, p.instance_type) for p in loaded} == {
        name: (p["id"], p["min_size"], p["max_size"], p["max_step"] or step, p["cooldown_s"] or cooldown,
               p["instance_type"]) for name, p in pools.items()}


def test_the_api_key_uses_the_restricted_role(tf_autoscaler: dict) -> None:
    key = next(body for rtype, _, body, _ in tf_autoscaler["resource"] if rtype == "exoscale_iam_api_key")
    assert key["role_id"] == "${exoscale_iam_role.scaler.id}"
    module = next(body for name, body, _ in tf_autoscaler["module"] if name == "bootstrap")
    assert module["scaler_key"] == "${exoscale_iam_api_key.scaler.key}"
    assert module["scaler_secret"] == "${exoscale_iam_api_key.scaler.secret}"
