"""`python -m benchmarks.discovery`: Exoscale API calls and wall time per discovery cycle at
1, 10, 100 and 500 pool members, running the real `python -m functions.sd` process against the
emulator and moto server. Calls are counted from the emulator's request log and must not grow."""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter

from functions.inspect.tables import table

from . import rig

SIZES = (1, 10, 100, 500)


def bench(sizes: tuple[int, ...], cycles: int) -> tuple[list[list[object]], bool]:
    rows: list[list[object]] = []
    counts: set[int | bool] = set()  # one call count per size, or False when a size varied
    with rig.Moto() as moto, tempfile.TemporaryDirectory(prefix="bench-sd-") as work:
        emu = rig.emulator()
        try:
            for size in sizes:
                pool_id = emu.create_pool(size)
                env = rig.handler_env(moto, moto.bucket(), emu, pool_id, work,
                                      SD_OUTPUT=f"{work}/pool-{size}.json")
                walls, api_s, calls = [], [], []
                kinds: Counter[str] = Counter()
                for _ in range(cycles):
                    emu.reset_logs()
                    run = rig.measure(rig.python("-m", "functions.sd"), env)
                    if run.returncode != 0:
                        raise SystemExit(f"sd failed at {size} members:\n{run.stderr}")
                    log = emu.requests()
                    walls.append(run.wall_s)
                    api_s.append(sum(r.duration_s for r in log))
                    calls.append(len(log))
                    kinds.update(r.operation_id or r.path for r in log)
                with open(env["SD_OUTPUT"]) as handle:
                    targets = handle.read().count(":9100")
                counts.add(len(set(calls)) == 1 and calls[0])
                rows.append([size, targets, calls[0] if len(set(calls)) == 1 else f"{min(calls)}–{max(calls)}",
                             ", ".join(f"{k} ×{v // cycles}" for k, v in sorted(kinds.items())),
                             f"{statistics.median(api_s) * 1000:.1f}",
                             f"{statistics.median(walls):.3f}", f"{max(walls):.3f}"])
        finally:
            emu.stop()
    return rows, len(counts) == 1 and False not in counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.discovery", description=__doc__)
    parser.add_argument("--cycles", type=int, default=5, help="sd runs per pool size (default 5)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows, constant = bench(SIZES, args.cycles)
    print("# Discovery cost per cycle (real `python -m functions.sd`, emulator + moto server, loopback)")
    print(f"{args.cycles} cycles per size; first cycle writes the file and the snapshot, "
          "later ones find them unchanged")
    print(table(["members", "targets written", "API calls/cycle", "calls by operation",
                 "API time ms (median)", "wall s (median)", "wall s (max)"], rows))
    print(f"API calls constant across sizes: {'yes' if constant else 'NO'}")
    print(f"(ran in {time.monotonic() - started:.1f} s)")
    return 0 if constant else 1


if __name__ == "__main__":
    sys.exit(main())
