"""`python -m benchmarks.handlers [--pools 1,2,10]`: start-to-exit wall time and peak RSS of the
real one-shot handlers (one tick, one discovery cycle) against moto server and the emulator, next
to interpreter baselines measured in the same run, since shared machines are noisy. `--pools`
adds the same handlers configured with N pools (INSTANCEPOOLS), beside the single-pool rows."""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from functions.bucket.request import ScaleRequest
from functions.common import config, keys
from functions.common.pools import MAX_POOLS
from functions.common.store import Store
from functions.inspect.tables import table
from functions.scaler.tick.pools import START_BY_S

from . import rig

WALL_AIM_S = 1.5
RSS_AIM_MIB = 80.0
# With several pools the wall aim is what the unit allows: the tick starts no pool after
# START_BY_S (its unit stops it at 55 s), sd's unit stops it at 14 s.
POOL_WALL_AIM_S = {"tick": START_BY_S, "sd": 14.0}

Case = tuple[str, list[str], Callable[[], dict[str, str] | None], str]


def add_up_request(env: dict[str, str]) -> None:
    """One pending scale-up per configured pool, as the receiver would have stored it, so the
    tick really acts."""
    cfg = config.load(env)
    store = Store.from_config(cfg)
    for pool in cfg.each_pool():
        req = ScaleRequest("up", "alertmanager", time.time(), "PoolCpuHigh", "bench", 0.9)
        store.put(keys.request(pool.pool_id, req.received_ms, req.unique()), req.to_json(),
                  if_none_match=True)


def pool_cases(counts: list[int], fresh: Callable[[int, int], dict[str, str]]) -> list[Case]:
    """The tick (idle, and scaling every pool) and sd (10 members a pool) with N pools each."""
    cases: list[Case] = []
    for n in counts:
        def idle(n: int = n) -> dict[str, str]:
            return fresh(n, 2)

        def acting(n: int = n) -> dict[str, str]:
            env = fresh(n, 2)
            add_up_request(env)
            return env

        def members(n: int = n) -> dict[str, str]:
            return fresh(n, 10)
        tick = rig.python("-m", "functions.scaler.tick")
        cases += [(f"tick, {n} pool(s), nothing pending", tick, idle, "tick"),
                  (f"tick, {n} pool(s), one up request each", tick, acting, "tick"),
                  (f"sd, {n} pool(s) × 10 members", rig.python("-m", "functions.sd"),
                   members, "sd")]
    return cases


def verdict(kind: str, walls: list[float], rss: list[float]) -> str:
    if kind == "baseline":
        return "—"
    wall_aim = POOL_WALL_AIM_S.get(kind, WALL_AIM_S)
    return "met" if max(walls) < wall_aim and max(rss) < RSS_AIM_MIB else "MISSED"


def bench(reps: int, pool_counts: list[int] | None = None) -> list[list[object]]:
    rows: list[list[object]] = []
    with rig.Moto() as moto, tempfile.TemporaryDirectory(prefix="bench-h-") as work:
        emu = rig.emulator()
        try:
            def fresh(size: int = 2) -> dict[str, str]:
                # A new bucket and pool per run: every repetition does the same work.
                return rig.handler_env(moto, moto.bucket(), emu, emu.create_pool(size), work)

            def acting() -> dict[str, str]:
                env = fresh()
                add_up_request(env)
                return env

            def fresh_pools(n: int, size: int) -> dict[str, str]:
                # INSTANCEPOOLS even for one pool: the list form, against the single-pool rows
                ids = ",".join(f"p{i}={emu.create_pool(size)}" for i in range(n))
                return rig.handler_env(moto, moto.bucket(), emu, "", work, INSTANCEPOOLS=ids)

            cases: list[Case] = [
                ("baseline: python -c pass", rig.python("-c", "pass"), lambda: None, "baseline"),
                ("baseline: python -c 'import boto3'", rig.python("-c", "import boto3"), lambda: None,
                 "baseline"),
                ("baseline: import boto3 + exoscale", rig.python(
                    "-c", "import boto3, exoscale.api.v2"), lambda: None, "baseline"),
                ("tick, nothing pending", rig.python("-m", "functions.scaler.tick"), fresh, "handler"),
                ("tick, one up request (scales)", rig.python("-m", "functions.scaler.tick"), acting,
                 "handler"),
                ("sd, 10 members", rig.python("-m", "functions.sd"), lambda: fresh(10), "handler"),
                *pool_cases(pool_counts or [], fresh_pools),
            ]
            for label, argv, setup, kind in cases:
                runs, calls, scalings = [], [], []
                for _ in range(reps):
                    # The emulator's model advances every pool on each call, so pools left from
                    # earlier runs would bill later rows (the 10-pool ones most) for its own cost.
                    for pool in emu.model.list_pools():
                        emu.model.delete_pool(pool.id)
                    env = setup()
                    emu.reset_logs()
                    run = rig.measure(argv, env)
                    if run.returncode != 0:
                        raise SystemExit(f"{label} exited {run.returncode}:\n{run.stderr}")
                    runs.append(run)
                    calls.append(len(emu.requests()))
                    scalings.append(sum(op.operation == "scale-instance-pool" for op in emu.operations()))
                walls = [r.wall_s for r in runs]
                rss = [r.max_rss_mib for r in runs]
                rows.append([label, f"{statistics.median(walls):.3f}", f"{max(walls):.3f}",
                             f"{statistics.median(rss):.1f}", f"{max(rss):.1f}",
                             "—" if kind == "baseline" else f"{statistics.median(calls):.0f} / {sum(scalings)}",
                             verdict(kind, walls, rss)])
        finally:
            emu.stop()
    return rows


def counts(text: str) -> list[int]:
    """`1,2,10` → [1, 2, 10] (argparse type): pool counts from 1 to the 20 a deployment may have."""
    try:
        found = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not found or any(not 1 <= n <= MAX_POOLS for n in found):
        raise argparse.ArgumentTypeError(f"each pool count must be in 1..{MAX_POOLS}, got {text!r}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.handlers", description=__doc__)
    parser.add_argument("--reps", type=int, default=7, help="repetitions per case (default 7)")
    parser.add_argument("--pools", type=counts, default=[], metavar="N,N,...",
                        help="also run each handler with N pools (INSTANCEPOOLS), e.g. 1,2,10")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows = bench(args.reps, args.pools)
    print("# Handler start-to-exit wall time and peak RSS (GNU time %M), loopback")
    print(f"{args.reps} repetitions each; aim per handler: max wall < {WALL_AIM_S} s, "
          f"max RSS < {RSS_AIM_MIB:.0f} MiB; python {sys.version.split()[0]}")
    if args.pools:
        print(f"with N pools: max wall < the unit's budget (tick {POOL_WALL_AIM_S['tick']:.0f} s, "
              f"sd {POOL_WALL_AIM_S['sd']:.0f} s), same RSS aim")
    print(table(["process", "wall s median", "wall s max", "RSS MiB median", "RSS MiB max",
                 "API calls/run, scale calls total", "aim"], rows))
    print(f"(ran in {time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
