"""`python -m benchmarks.handlers`: start-to-exit wall time and peak RSS of the real one-shot
handlers (one tick, one discovery cycle) against moto server and the emulator, next to
interpreter baselines measured in the same run, since shared machines are noisy."""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from functions.bucket.request import ScaleRequest
from functions.common import config, keys
from functions.common.store import Store
from functions.inspect.tables import table

from . import rig

WALL_AIM_S = 1.5
RSS_AIM_MIB = 80.0


def add_up_request(env: dict[str, str]) -> None:
    """One pending scale-up, as the receiver would have stored it, so the tick really acts."""
    store = Store.from_config(config.load(env))
    req = ScaleRequest("up", "alertmanager", time.time(), "PoolCpuHigh", "bench", 0.9)
    store.put(keys.request(env["INSTANCEPOOL_ID"], req.received_ms, req.unique()), req.to_json(),
              if_none_match=True)


def bench(reps: int) -> list[list[object]]:
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

            cases: list[tuple[str, list[str], Callable[[], dict[str, str] | None], str]] = [
                ("baseline: python -c pass", rig.python("-c", "pass"), lambda: None, "baseline"),
                ("baseline: python -c 'import boto3'", rig.python("-c", "import boto3"), lambda: None,
                 "baseline"),
                ("baseline: import boto3 + exoscale", rig.python(
                    "-c", "import boto3, exoscale.api.v2"), lambda: None, "baseline"),
                ("tick, nothing pending", rig.python("-m", "functions.scaler.tick"), fresh, "handler"),
                ("tick, one up request (scales)", rig.python("-m", "functions.scaler.tick"), acting,
                 "handler"),
                ("sd, 10 members", rig.python("-m", "functions.sd"), lambda: fresh(10), "handler"),
            ]
            for label, argv, setup, kind in cases:
                runs, calls, scalings = [], [], []
                for _ in range(reps):
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
                verdict = "—" if kind == "baseline" else (
                    "met" if max(walls) < WALL_AIM_S and max(rss) < RSS_AIM_MIB else "MISSED")
                rows.append([label, f"{statistics.median(walls):.3f}", f"{max(walls):.3f}",
                             f"{statistics.median(rss):.1f}", f"{max(rss):.1f}",
                             "—" if kind == "baseline" else f"{statistics.median(calls):.0f} / {sum(scalings)}",
                             verdict])
        finally:
            emu.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.handlers", description=__doc__)
    parser.add_argument("--reps", type=int, default=7, help="repetitions per case (default 7)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows = bench(args.reps)
    print("# Handler start-to-exit wall time and peak RSS (GNU time %M), loopback")
    print(f"{args.reps} repetitions each; aim per handler: max wall < {WALL_AIM_S} s, "
          f"max RSS < {RSS_AIM_MIB:.0f} MiB; python {sys.version.split()[0]}")
    print(table(["process", "wall s median", "wall s max", "RSS MiB median", "RSS MiB max",
                 "API calls/run, scale calls total", "aim"], rows))
    print(f"(ran in {time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
