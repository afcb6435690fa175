"""`python -m sandbox`: the whole autoscaling loop on this machine, ending with a report."""
from __future__ import annotations

import argparse
import json
import secrets
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

from sandbox import repeat
from sandbox.apps import APPS, DEFAULT_APP
from sandbox.scenarios import SCENARIOS

# The names --policy and --compare take (sandbox/parts.py's BASELINE is the last); kept here
# so that a bad name is refused before anything heavy is imported.
POLICIES = ("proportional", "baseline")
BASELINE = POLICIES[-1]

SOAK_MINUTES = 8.0
TWO_POOLS = "two-pools"

SETUP_HINT = "run ./dev sandbox (it installs them), or: apt-get install prometheus prometheus-alertmanager"


def run_one(scenario: str, out: Path, policy: str, fast: bool, app: str,
            soak: tuple[float, int] = (SOAK_MINUTES, 0)) -> dict[str, Any]:
    """One whole run into `out`: start every part, drive the load, write the report."""
    from sandbox.runner import Sandbox
    if scenario == "soak":
        from sandbox.soak import Soak
        box: Sandbox = Soak(out, policy, app, *soak)
    elif scenario == TWO_POOLS:
        from sandbox.two_pools import TwoPools
        box = TwoPools(SCENARIOS[scenario], out, policy, fast, app=app)
    else:
        box = Sandbox(SCENARIOS[scenario], out, policy, fast, app=app)
    if box.t.name == "fast":
        print("sandbox: --fast timers: every delay of the loop is compressed about six times "
              "(tick 10 s, alert `for` 10 s, boot 8 s), and so are a real-timer scenario's times and "
              "limits; thresholds are unchanged")
    print(f"sandbox: app {box.app.name}, policy {policy}: "
          + ", ".join(f"{k}={v}" for k, v in box.app.describe().items() if k != "name"))
    try:
        box.start()
        box.run()
        results = box.results()
        box.write(results)
    finally:
        box.close()
    print(json.dumps(results["summary"], indent=2))
    print(f"sandbox: report in {out / 'report.md'} and report.png")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="default")
    parser.add_argument("--fast", action="store_true",
                        help="compress every timer, the boot delay and the scenario's times about six times")
    parser.add_argument("--policy", choices=POLICIES, default="proportional",
                        help="proportional: the real handlers (the deployed policy, the default); "
                             "baseline: the classic ±1-per-alert scaler (sandbox/baseline.py) in "
                             "their place")
    parser.add_argument("--compare", metavar="POLICY,POLICY,...",
                        help="run the scenario once per policy, one after the other, each into "
                             "OUT/<policy>/, then OUT/compare.md, compare.json and compare.png "
                             "side by side")
    parser.add_argument("--app", choices=APPS, default=DEFAULT_APP,
                        help="what the members run: http-load-generator (the course's app: every /load "
                             "takes 10 s and holds all cores; the default) or processor-sharing "
                             "(CPU-bound requests sharing the vCPUs, latency growing with the queue)")
    parser.add_argument("--duration", type=float, metavar="MINUTES",
                        help=f"soak: wall-clock minutes of varying load and faults, start-up and a 15 s tail "
                             f"on top (default {SOAK_MINUTES:g}; always on the fast timers)")
    parser.add_argument("--seed", type=int, metavar="N",
                        help="soak: the seed the load, the faults and their times are drawn from "
                             "(default: a random one, printed and in report.json)")
    parser.add_argument("--repeat", type=repeat.count, default=1, metavar="N",
                        help="run the scenario N times (each policy N times with --compare), each run into "
                             "OUT/run-K/ (OUT/<policy>/run-K/), then OUT/summary.md and summary.json: per "
                             "figure the mean, min, max, standard deviation and 95 %% interval (default 1)")
    parser.add_argument("--out", default="sandbox-out", help="report folder (default sandbox-out/)")
    args = parser.parse_args(argv)
    if args.scenario != "soak" and (args.duration is not None or args.seed is not None):
        parser.error("--duration and --seed belong to --scenario soak")
    if args.duration is not None and args.duration < 1:
        parser.error("--duration: at least 1 minute")
    if args.scenario == "soak" and BASELINE in (args.policy, *(args.compare or "").split(",")):
        parser.error("the soak faults the real receiver and tick: --policy baseline has neither")
    if args.scenario == TWO_POOLS and (args.policy == BASELINE or args.compare is not None):
        parser.error("two-pools rehearses the real handlers' routing by pool: the baseline scales one pool")
    soak = (SOAK_MINUTES if args.duration is None else args.duration,
            secrets.randbelow(1_000_000) if args.seed is None else args.seed)
    policies = [args.policy]
    if args.compare is not None:
        from sandbox.compare import CompareError, parse_policies
        try:
            policies = parse_policies(args.compare, POLICIES)
        except CompareError as exc:
            print(f"sandbox: {exc}", file=sys.stderr)
            return 2

    from sandbox.monitoring import missing_binaries
    missing = missing_binaries()
    if missing:
        print(f"sandbox: missing {', '.join(missing)}: {SETUP_HINT}", file=sys.stderr)
        return 2

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    # A shell starts background jobs with SIGINT ignored, and Python then keeps it ignored: Ctrl-C
    # (or the interrupt test's SIGINT) would be lost, so the handler is set whatever was inherited.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    out = Path(args.out)
    plan = repeat.folders(out, policies, args.repeat, args.compare is not None)
    reports: dict[str, list[dict[str, Any]]] = {p: [] for p in policies}
    try:
        for i, (policy, folder) in enumerate(plan, 1):
            if len(plan) > 1:
                print(f"sandbox: policy {policy} (run {i} of {len(plan)}) into {folder}")
            reports[policy].append(run_one(args.scenario, folder, policy, args.fast, args.app, soak))
    except KeyboardInterrupt:
        print("sandbox: interrupted; stopping every part", file=sys.stderr)
        return 130
    command = "python -m sandbox " + shlex.join(sys.argv[1:] if argv is None else argv)
    if args.repeat > 1:
        summary = repeat.write(out, reports, plan, command)
        print("\n".join(repeat.table(summary)))
        print(f"sandbox: mean and spread over {args.repeat} runs in {out / 'summary.md'} and summary.json")
    elif args.compare is not None:
        from sandbox import compare
        runs = {p: r[0] for p, r in reports.items()}
        compare.write(out, runs, command)
        print("\n".join(compare.table(runs)))
        print(f"sandbox: side by side in {out / 'compare.md'} and compare.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
