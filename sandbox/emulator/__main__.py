"""CLI: start the emulator with one pool, print one JSON line, serve until SIGTERM/SIGINT.

    python -m sandbox.emulator --port 8081 --key K --secret S --pool-size 1 --boot-delay 20
Key and secret default to $EXOSCALE_KEY / $EXOSCALE_SECRET (keeps the secret out of `ps`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .server import EmulatorServer


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sandbox.emulator", description="Exoscale v2 API emulator")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--key", default=os.environ.get("EXOSCALE_KEY"))
    p.add_argument("--secret", default=os.environ.get("EXOSCALE_SECRET"))
    p.add_argument("--pool-size", type=int, default=1)
    p.add_argument("--pool-name", default="autoscaler-pool")
    p.add_argument("--zone", default="at-vie-1")
    p.add_argument("--boot-delay", type=float, default=20.0, help="seconds a new member stays 'starting'")
    p.add_argument("--op-delay", type=float, default=1.0, help="seconds an operation stays 'pending'")
    p.add_argument("--destroy-delay", type=float, default=5.0, help="seconds a removed member stays 'destroying'")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--faults", default=None, help="fault configuration as JSON (see /_emulator/faults)")
    p.add_argument("--verbose", action="store_true", help="log each HTTP call to stderr")
    args = p.parse_args(argv)
    if not args.key or not args.secret:
        p.error("--key/--secret (or EXOSCALE_KEY/EXOSCALE_SECRET) are required")
    if args.pool_size < 0:
        p.error("--pool-size must be >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    try:
        faults_config = json.loads(args.faults) if args.faults else None
        emu = EmulatorServer(args.key, args.secret, host=args.host, port=args.port,
                             boot_delay_s=args.boot_delay, op_delay_s=args.op_delay,
                             destroy_delay_s=args.destroy_delay, seed=args.seed,
                             faults_config=faults_config, verbose=args.verbose)
    except ValueError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with emu:
        pool_id = emu.create_pool(args.pool_size, name=args.pool_name, zone=args.zone)
        print(json.dumps({"url": emu.url, "admin_url": emu.admin_url, "port": emu.port, "pool_id": pool_id}),
              flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
