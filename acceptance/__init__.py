"""`./dev acceptance`: the proof on a real Exoscale account (never part of `./dev test`).

| module | owns |
|---|---|
| `load.py` | the closed-loop load driver (N clients doing GET /load, bounded in count and time) |
| `wait.py` | waiting for a size (pool members) with an injected clock and sleep |
| `leftovers.py` | finding a deployment's objects in an account by its own names and labels |
| `terraform.py` | the terraform runner (a workspace of its own, credentials via the environment) |
| `checks.py` | what a grader checks, each against injected API, HTTP and clock |
| `report.py` | the table of checks and the cost of the run (pure) |
| `run.py` | the run: refuse a second deployment of the same name, apply, check, always destroy, list leftovers |

`load.py` and `wait.py` know nothing of terraform or the cloud: the sandbox reuses them.
"""
