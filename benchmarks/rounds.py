"""`python -m benchmarks.rounds`: alert rounds and reaction on http-load-generator under steady load from N
closed-loop clients, starting from one idle member, against the pipeline's floor: the deployed sizing
(the demand figure is requests in flight) next to CPU-only sizing (the figure is CPU, or load1 per core
once CPU saturates, which on this app also stops at 1).

N clients each keep one /load in flight (`./dev acceptance` and the sandbox's checker drive 2), so
the demand is N members' worth from the load's start. A member's CPU is min(1, N / serving) (round
robin), so the pool is sized once N / serving <= 0.8; a round is one scale-up action. The fewest
rounds `SCALER_MAX_STEP` allows is ceil((needed - 1) / max_step); the floor is the pipeline's (the
kicked deployment's delays, the windowed CPU crossing 80 % once the load filled 0.8 of the window).
Every run is the real tick state machine in benchmarks/pipeline.py; figures are means over the seeds.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time
from dataclasses import dataclass

from functions.inspect.tables import table
from functions.scaler.tick.policy import Params

from . import pipeline
from .apps import CLOSED_LOOP, ModelApp
from .pipeline import DecideController

CLIENTS = (2, 3, 8)
BOUNDS = (1, 10)
IDLE_S, LOAD_S = 300, 1800
SIZINGS = {"requests in flight (deployed)": CLOSED_LOOP, "CPU only": CLOSED_LOOP.sized_by_cpu()}


@dataclass(frozen=True)
class RoundsRow:
    clients: int
    sizing: str
    rounds: float
    rounds_range: tuple[int, int]
    fewest: int               # the fewest rounds max_step allows
    reaction_s: float | None  # load start → serving members keep CPU at or under the threshold
    final_size: float
    cpu_after: float          # min(1, N / final size)
    flaps: float


def demand(clients: int) -> tuple[float, ...]:
    return (0.0,) * IDLE_S + (float(clients),) * LOAD_S


def run(clients: int, sizing: str, app: ModelApp, seeds: int, params: Params) -> RoundsRow:
    thresholds = pipeline.Thresholds()
    results = [pipeline.simulate(demand(clients), DecideController("proportional", params, BOUNDS, kicked=True),
                                 seed=s, thresholds=thresholds, initial_size=1, bounds=BOUNDS, app=app)
               for s in range(seeds)]
    rounds = [sum(1 for t, d in r.actions if d == "up" and t >= IDLE_S) for r in results]
    reactions = [r.reaction_s for r in results if r.reaction_s is not None]
    finals = [r.sizes[-1] for r in results]
    needed = app.needed(clients, thresholds.up, BOUNDS)
    return RoundsRow(clients, sizing, statistics.fmean(rounds), (min(rounds), max(rounds)),
               math.ceil((needed - 1) / params.max_step),
               statistics.fmean(reactions) if reactions else None, statistics.fmean(finals),
               statistics.fmean(min(1.0, clients / f) for f in finals), statistics.fmean(r.flaps for r in results))


def render(rows: list[RoundsRow], floor_s: float) -> str:
    body = []
    for r in rows:
        react = "—" if r.reaction_s is None else f"{r.reaction_s:.0f}"
        ratio = "—" if r.reaction_s is None else f"{r.reaction_s / floor_s:.2f}"
        lo, hi = r.rounds_range
        body.append([r.clients, r.sizing, f"{r.rounds:.2f}" + ("" if lo == hi else f" ({lo}–{hi})"), r.fewest,
                     react, ratio, f"{r.final_size:.1f}", f"{100 * r.cpu_after:.0f} %", f"{r.flaps:.2f}"])
    return table(["clients", "sizing", "rounds", "fewest (max_step)", "reaction s", "×floor", "final size",
                  "CPU after", "flaps"], body)


def aims(rows: list[RoundsRow], floor_s: float) -> list[str]:
    out = []
    for r in rows:
        if not r.sizing.endswith("(deployed)"):
            continue
        fewest = r.rounds_range[1] <= r.fewest
        line = f"{r.clients} clients: rounds {'as few as max_step allows' if fewest else 'MORE than max_step needs'}"
        if r.fewest == 1:
            fast = r.reaction_s is not None and r.reaction_s <= 1.1 * floor_s
            line += (f"; one round: reaction ≤ 1.1 × floor {'met' if fast else 'MISSED'} "
                     f"({(r.reaction_s or 0) / floor_s:.2f} ×)")
        out.append(line)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rounds", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40, help="runs per cell (default 40)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    params = Params()
    delays = pipeline.Delays()
    fl = pipeline.floor(delays, window_share=pipeline.Thresholds().up)
    print("# Alert rounds on http-load-generator, N closed-loop clients from one idle member")
    print(f"delays: {delays.describe()}")
    print(f"policy proportional (target {params.target_utilization:g}, max_step {params.max_step}), bounds "
          f"{BOUNDS}; {IDLE_S} s idle, then N clients for {LOAD_S} s; {args.seeds} seeds per cell")
    print(f"floor = {fl.describe()}")
    rows = [run(n, name, app, args.seeds, params) for n in CLIENTS for name, app in SIZINGS.items()]
    print()
    print(render(rows, fl.total_s))
    print()
    print("## aims")
    print("\n".join(aims(rows, fl.total_s)))
    print(f"\n(ran in {time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
