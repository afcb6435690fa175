"""`python -m sandbox`: the whole autoscaling loop on this machine, ending with a report."""
from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from sandbox.apps import APPS, DEFAULT_APP
from sandbox.scenarios import SCENARIOS

SETUP_HINT = "run ./dev sandbox (it installs them), or: apt-get install prometheus prometheus-alertmanager"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="default")
    parser.add_argument("--fast", action="store_true",
                        help="compress every timer and the boot delay about six times")
    parser.add_argument("--policy", choices=("step", "proportional"), default="proportional")
    parser.add_argument("--app", choices=APPS, default=DEFAULT_APP,
                        help="what the members run: http-load-generator (the course's app: every /load "
                             "takes 10 s and holds all cores; the default) or processor-sharing "
                             "(CPU-bound requests sharing the vCPUs, latency growing with the queue)")
    parser.add_argument("--out", default="sandbox-out", help="report folder (default sandbox-out/)")
    args = parser.parse_args(argv)

    from sandbox.monitoring import missing_binaries
    missing = missing_binaries()
    if missing:
        print(f"sandbox: missing {', '.join(missing)}: {SETUP_HINT}", file=sys.stderr)
        return 2

    from sandbox.runner import Sandbox
    scenario = SCENARIOS[args.scenario]
    box = Sandbox(scenario, Path(args.out), args.policy, args.fast, app=args.app)
    if box.t.name == "fast":
        print("sandbox: --fast timers: every delay of the loop is compressed about six times "
              "(tick 10 s, alert `for` 10 s, boot 8 s); thresholds are unchanged")
    print(f"sandbox: app {box.app.name}: " + ", ".join(f"{k}={v}" for k, v in box.app.describe().items()
                                                       if k != "name"))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        box.start()
        box.run()
        results = box.results()
        box.write(results)
    except KeyboardInterrupt:
        print("sandbox: interrupted; stopping every part", file=sys.stderr)
        return 130
    finally:
        box.close()
    print(json.dumps(results["summary"], indent=2))
    print(f"sandbox: report in {Path(args.out) / 'report.md'} and report.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
