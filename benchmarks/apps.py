"""What a member's app makes of its share of the demand, for the benchmark's pipeline model.

A trace's demand is in members' worth; each of the `serving` members gets x = demand / serving
(round robin behind the NLB). The app turns x into what node exporter shows:

- `http-load-generator` (deployed; sandbox/apps/http_load_generator.py): every request holds its
  member 10 s, so x is the requests it holds on average (one member's worth = one in flight).
  CPU is the chance that at least one is in flight: 1 - e^(-x) under random arrivals (the
  sandbox model's formula), min(1, x) for closed-loop clients spread round robin (a member then
  holds ⌊x⌋ or ⌈x⌉ and is busy whenever it holds one). load1 per core follows CPU (one runnable
  thread per core while any request busy-loops); Tcp CurrEstab minus the scrape's connection is x
  for closed-loop clients and, under random arrivals, a Poisson count with mean x
  (benchmarks/arrivals.py).
  The scale-up alert sends `demand`: the larger of CPU and requests in flight.
- `processor-sharing` (sandbox/apps/processor_sharing.py): CPU min(1, x), load1 per core x, in
  flight x/(1-x) below saturation (processor sharing's mean number in system) up to its queue
  bound beyond. The alert sends `demand_cpu_bound`: CPU, or load1 per core once CPU saturates.

`needed()` is the smallest pool whose CPU stays at or under the scale-up threshold: the sandbox's
overload figure on http-load-generator (seconds with the pool's CPU above it), and on
processor-sharing the old "demand within 80 % of capacity".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from sandbox.apps.http_load_generator import cpu_under_random_arrivals
from sandbox.apps.processor_sharing import ProcessorSharing

_PS = ProcessorSharing()
PS_QUEUE_BOUND = _PS.max_active + _PS.max_queue  # what a saturated member holds at most


@dataclass(frozen=True)
class ModelApp:
    name: str
    demand_signal: str          # the alerts.json signal the scale-up alert sends as scale_value
    closed_loop: bool = False   # http-load-generator: closed-loop clients instead of random arrivals
    counted: bool = True        # requests in flight as a random count (benchmarks/arrivals.py)

    def cpu(self, x: float) -> float:
        if self.name == "http-load-generator" and not self.closed_loop:
            return cpu_under_random_arrivals(x)
        return min(1.0, x)

    def load_per_core(self, x: float) -> float:
        return self.cpu(x) if self.name == "http-load-generator" else x

    def in_flight(self, x: float) -> float:
        if self.name == "http-load-generator":
            return x
        return min(x / (1.0 - x), PS_QUEUE_BOUND) if x < 1.0 else PS_QUEUE_BOUND

    def needed(self, demand: float, up: float, bounds: tuple[int, int]) -> int:
        """The fewest members (within the bounds) whose CPU stays at or under `up` with this demand."""
        low, high = bounds
        size = max(low, 1)
        while size < high and self.cpu(demand / size) > up + 1e-12:
            size += 1
        return size

    @property
    def random_counts(self) -> bool:
        """Requests in flight are a Poisson count: http-load-generator under random arrivals
        (closed-loop clients hold exactly one each; processor-sharing's figure is CPU)."""
        return self.counted and self.name == "http-load-generator" and not self.closed_loop

    def without_noise(self) -> ModelApp:
        """The same app with requests in flight at their mean: the model before arrival noise."""
        return replace(self, counted=False)

    def sized_by_cpu(self) -> ModelApp:
        """The same app with CPU-only sizing: the scale-up alert sends `demand_cpu_bound`."""
        return replace(self, demand_signal="demand_cpu_bound")

    def sized_by_cpu_alone(self) -> ModelApp:
        """The same app with the scale-up alert sending plain CPU, load1 never counted."""
        return replace(self, demand_signal="cpu")

    def describe(self) -> str:
        arrivals = "closed-loop clients" if self.closed_loop else "random arrivals"
        return f"{self.name} ({arrivals}; scale_value = {self.demand_signal})"


HTTP_LOAD_GENERATOR = ModelApp("http-load-generator", "demand")
CLOSED_LOOP = ModelApp("http-load-generator", "demand", closed_loop=True)
PROCESSOR_SHARING = ModelApp("processor-sharing", "demand_cpu_bound")
APPS = {"http-load-generator": HTTP_LOAD_GENERATOR, "processor-sharing": PROCESSOR_SHARING}


def edge_per_member(app: ModelApp, up: float) -> float:
    """One member's demand at which the app's CPU reaches `up`: 1.61 requests in flight for
    http-load-generator under random arrivals (1 - e^(-x) = 0.8), `up` itself where CPU = x."""
    if app.name == "http-load-generator" and not app.closed_loop:
        return -math.log(1.0 - up)
    return up
