"""Finding one deployment's objects in an account, by its own names and labels only.

terraform names everything `<name_prefix>-<8 hex>[-…]` (terraform/naming.tf) and labels VMs, the pool
and the NLB `deployment=<that name>`; pool members are named `<name>-app-…`. Anything else in the
account is neither counted nor touched.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# terraform resource type -> the listing that finds it (tests/infra/test_lifecycle.py checks the
# configuration creates nothing else)
KINDS = {
    "exoscale_compute_instance": "instances",
    "exoscale_instance_pool": "instance-pools",
    "exoscale_nlb": "load-balancers",
    "exoscale_security_group": "security-groups",
    "exoscale_iam_role": "iam-roles",
    "exoscale_iam_api_key": "api-keys",
    "exoscale_ssh_key": "ssh-keys",
    "aws_s3_bucket": "buckets",
}
# deleted with their parent, never listed on their own
PARENT_DELETES = {
    "exoscale_security_group_rule": "exoscale_security_group",
    "exoscale_nlb_service": "exoscale_nlb",
    "aws_s3_object": "aws_s3_bucket",
}
# exoscale v2 client method per listing (the buckets come from S3)
LIST_CALLS = {
    "instances": "list_instances", "instance-pools": "list_instance_pools",
    "load-balancers": "list_load_balancers", "security-groups": "list_security_groups",
    "iam-roles": "list_iam_roles", "api-keys": "list_api_keys", "ssh-keys": "list_ssh_keys",
}


@dataclass(frozen=True)
class Found:
    kind: str
    name: str
    id: str
    managed: bool = False   # an instance created by a pool (a member), not by terraform itself

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


def deployment_pattern(name_prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(name_prefix)}-[0-9a-f]{{8}}(?:-|$)")


def belongs(pattern: re.Pattern[str], name: str, labels: Mapping[str, str] | None = None) -> bool:
    """Pure: named like the deployment, or labelled with its name."""
    return bool(pattern.match(name or "")) or bool(pattern.match((labels or {}).get("deployment", "")))


def select(kind: str, items: Iterable[Mapping[str, Any]], pattern: re.Pattern[str]) -> list[Found]:
    """Pure: the items of one listing that belong to the deployment."""
    found = []
    for item in items:
        if belongs(pattern, str(item.get("name", "")), item.get("labels")):
            ident = str(item.get("id") or item.get("key") or item.get("fingerprint") or item.get("name"))
            found.append(Found(kind, str(item.get("name", "")), ident, managed=bool(item.get("manager"))))
    return sorted(found, key=lambda f: (f.kind, f.name))


def list_deployment(client: Any, buckets: Callable[[], Iterable[str]], name_prefix: str) -> list[Found]:
    """Every object of the deployment in the client's zone (and its buckets), by name or label."""
    pattern = deployment_pattern(name_prefix)
    found: list[Found] = []
    for kind, method in LIST_CALLS.items():
        answer = getattr(client, method)()
        found += select(kind, answer.get(kind, []), pattern)
    found += select("buckets", [{"name": b} for b in buckets()], pattern)
    return found


def s3_buckets(s3: Any) -> Callable[[], list[str]]:
    """The bucket names a boto3 S3 client sees (SOS endpoint of the zone)."""
    return lambda: [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
