"""`inspect` with several pools: which pool a command is about (`--pool NAME`), and `status`
without --pool, one line per pool (functions/views/overview.py). With one pool --pool is optional
and every command behaves as it always has."""
from __future__ import annotations

import argparse
import json
from typing import TextIO

from functions.common import config
from functions.common.store import Store
from functions.views import pools as choice
from functions.views import reads

from . import tables

HOW = "--pool NAME"


def target(args: argparse.Namespace, cfg: config.Config) -> config.Config | None:
    """The configuration of the pool the command is about; None for the every-pool overview
    (`status` without --pool when several pools are configured). Raises PoolChoiceError."""
    given = getattr(args, "pool", None)
    if not given and args.command == "status" and len(choice.names(cfg)) > 1:
        return None
    return choice.choose(cfg, given, HOW)


def overview(cfg: config.Config, store: Store, now: float, out: TextIO, err: TextIO,
             as_json: bool) -> int:
    """`inspect status` over every pool: exit 1 when any object could not be read."""
    # One listing first: a missing bucket reads as 'absent object' on GET, but a LIST says so.
    next(iter(store.list_keys(f"control/{cfg.pool_id}/")), None)
    view = reads.read_overview(store, cfg, now)
    print(json.dumps(view, indent=2, sort_keys=True) if as_json else tables.overview_text(view),
          file=out)
    for item in view["errors"]:
        print(f"inspect: {item['key']}: {item['error']}", file=err)
    return 1 if view["errors"] else 0
