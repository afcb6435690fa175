"""`python -m acceptance [--name NAME] [--zone ZONE] [--log FILE]` (also `./dev acceptance`).

Needs EXOSCALE_KEY and EXOSCALE_SECRET of a real account (EXOSCALE_ZONE or --zone, default at-vie-1).
Costs money: a few cents for a run of about half an hour (the run prints its cost).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

# The zones terraform/variables.tf admits: those with an SOS endpoint (https://community.exoscale.com/api/sos/).
ZONES = ("at-vie-1", "at-vie-2", "bg-sof-1", "ch-dk-2", "ch-gva-2", "de-fra-1", "de-muc-1")


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m acceptance", description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="acceptance", help="name prefix of the deployment (default acceptance)")
    parser.add_argument("--zone", default=environ.get("EXOSCALE_ZONE") or "at-vie-1", choices=ZONES)
    parser.add_argument("--log", type=Path, default=Path("acceptance-terraform.log"), help="terraform's output")
    args = parser.parse_args(argv)
    key, secret = environ.get("EXOSCALE_KEY", ""), environ.get("EXOSCALE_SECRET", "")
    if not key or not secret:
        print("acceptance: needs EXOSCALE_KEY and EXOSCALE_SECRET of a real Exoscale account in the environment "
              "(and EXOSCALE_ZONE or --zone; default at-vie-1)", file=sys.stderr)
        return 2
    from .terraform import find_terraform  # the heavier imports only once there is something to run

    binary = find_terraform()
    if not binary:
        print("acceptance: needs terraform >= 1.3 on PATH (https://developer.hashicorp.com/terraform/install)",
              file=sys.stderr)
        return 2

    import boto3
    from botocore.config import Config as BotoConfig
    from exoscale.api.v2 import Client

    from functions.common import prices as price_table

    from . import checks, leftovers, run
    from .load import http_get
    from .terraform import TerraformCli

    try:
        prices = price_table.load()
    except price_table.PriceTableError as exc:
        print(f"acceptance: {exc}", file=sys.stderr)
        return 2
    s3 = boto3.client("s3", endpoint_url=f"https://sos-{args.zone}.exo.io", region_name=args.zone,
                      aws_access_key_id=key, aws_secret_access_key=secret,
                      config=BotoConfig(s3={"addressing_style": "path"}, retries={"mode": "standard"}))
    terraform = TerraformCli(binary, workspace=f"acceptance-{args.name}",
                             variables={"zone": args.zone, "name_prefix": args.name},
                             secrets={"exoscale_key": key, "exoscale_secret": secret}, log=args.log.resolve())
    deps = run.Deps(terraform=terraform, client=Client(key, secret, zone=args.zone),
                    buckets=leftovers.s3_buckets(s3), get=checks.get_text, load_get=http_get,
                    waiting=checks.Waiting(), prices=prices, out=sys.stdout)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"acceptance: deploying {args.name!r} to {args.zone}; terraform's output goes to {args.log}", flush=True)
    return run.run(run.RunSettings(name=args.name, zone=args.zone), deps)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
