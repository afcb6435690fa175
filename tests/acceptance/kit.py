"""A stand-in account for the acceptance tests: the API emulator (pools, members, listed objects) and
moto's S3 (buckets), plus a fake terraform that creates and destroys what the real one would."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from sandbox.emulator import EmulatorServer
from sandbox.emulator.inventory import Item
from tests.conftest import KEY, SECRET, ZONE


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name=ZONE, aws_access_key_id=KEY,
                        aws_secret_access_key=SECRET)


@dataclass
class Deployment:
    """What `terraform apply` creates, under one deployment name (name_prefix-<8 hex>)."""
    emu: EmulatorServer
    s3: Any
    name: str
    pool_id: str = ""
    items: list[Item] = field(default_factory=list)

    def create(self) -> None:
        inv = self.emu.model.inventory
        labels = {"deployment": self.name}
        self.items = [
            inv.add("load-balancers", f"{self.name}-nlb", labels),
            inv.add("security-groups", f"{self.name}-pool"),
            inv.add("security-groups", f"{self.name}-monitoring"),
            inv.add("iam-roles", f"{self.name}-scaler"),
            inv.add("api-keys", f"{self.name}-scaler"),
            inv.add("ssh-keys", self.name),
            inv.add("instances", f"{self.name}-monitoring", {**labels, "role": "monitoring"}),
        ]
        self.pool_id = self.emu.create_pool(1, name=f"{self.name}-pool", instance_prefix=f"{self.name}-app")
        self.s3.create_bucket(Bucket=f"{self.name}-state", CreateBucketConfiguration={"LocationConstraint": ZONE})

    def destroy(self, *, keep: tuple[str, ...] = ()) -> None:
        for item in self.items:
            if item.kind not in keep:
                self.emu.model.inventory.remove(item)
        if "instance-pools" not in keep:
            self.emu.model.delete_pool(self.pool_id)
        if "buckets" not in keep:
            self.s3.delete_bucket(Bucket=f"{self.name}-state")


class FakeTerraform:
    """Records calls; apply creates the deployment, destroy removes it; either can be made to fail."""

    def __init__(self, deployment: Deployment, outputs: Callable[[], dict[str, Any]]) -> None:
        self.deployment, self._outputs = deployment, outputs
        self.calls: list[str] = []
        self.apply_error: Exception | None = None
        self.destroy_failures = 0
        self.created = False

    def apply(self) -> None:
        self.calls.append("apply")
        self.deployment.create()
        self.created = True
        if self.apply_error:
            raise self.apply_error

    def outputs(self) -> dict[str, Any]:
        self.calls.append("outputs")
        return self._outputs()

    def destroy(self) -> None:
        from acceptance.terraform import TerraformError
        self.calls.append("destroy")
        if self.destroy_failures:
            self.destroy_failures -= 1
            raise TerraformError("terraform destroy failed with exit code 1")
        if self.created:
            self.deployment.destroy()
            self.created = False


def targets_json(ips: set[str]) -> str:
    return json.dumps({"status": "success", "data": {"activeTargets": [
        {"scrapeUrl": f"http://{ip}:9100/metrics", "labels": {"job": "pool"}} for ip in sorted(ips)]}})
