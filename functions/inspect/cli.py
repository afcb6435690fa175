"""Imperative shell of `python -m functions.inspect`: argparse, SOS reads and CAS writes, output.

Exit codes: 0 fine (an empty bucket included); 1 an SOS error, a corrupt object (the rest is
still shown), a refused setting or a lost write race; 2 configuration or usage.
"""
from __future__ import annotations

import argparse
import getpass
import json
import random
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn, TextIO

from functions.common import config, keys
from functions.common.bounds import effective_bounds
from functions.common.store import Conflict, Json, Store, StoreError
from functions.views import objects, reads

from . import controls, pools, tables
from . import settings as opsettings
from .errors import describe
from .timefmt import parse_since

# An operator waits at a terminal: fail within seconds rather than botocore's minute.
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
ATTEMPTS = 2
CAS_ATTEMPTS = 5

class Failure(Exception):
    """A one-line error for the operator; exit 1."""


def default_store(cfg: config.Config) -> Store:
    return Store.from_config(cfg, connect_timeout=CONNECT_TIMEOUT_S,
                             read_timeout=READ_TIMEOUT_S, attempts=ATTEMPTS)


def operator_name() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # containers without a passwd entry
        user = "unknown"
    return f"inspect:{user}@{socket.gethostname()}"


# --- writes ---------------------------------------------------------------------------------

def update_settings(store: Store, key: str, change: Callable[[Json | None], Json],
                    attempts: int = CAS_ATTEMPTS,
                    sleep: Callable[[float], None] = time.sleep) -> tuple[Json, list[str]]:
    """Read-modify-write with compare-and-swap; retried when another writer got in between."""
    notes: list[str] = []
    for attempt in range(attempts):
        current = store.get(key)
        base = None
        if current is not None and current.body is None:
            # An operator must be able to repair a damaged flag object, so overwrite it (still CAS).
            notes = [f"{key} was unreadable ({current.error}); replacing it"]
        elif current is not None:
            base = current.body
        new = change(base)  # ValueError: refused, nothing written
        try:
            if current is None:
                store.put(key, new, if_none_match=True)
            else:
                store.put(key, new, if_match=current.etag)
            return new, notes
        except Conflict:
            sleep(random.uniform(0.02, 0.1) * (attempt + 1))  # let the other writer finish
    raise Failure(f"{key} kept changing under us ({attempts} attempts): nothing written, "
                  f"try again")


# --- command line ---------------------------------------------------------------------------

def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError
    return value


def _size(raw: str) -> int | None:
    try:
        return opsettings.parse_size(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


PROG = "python -m functions.inspect"


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line naming the problem (subcommand parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix(PROG).strip()
        self.exit(2, f"inspect: error: {where + ': ' if where else ''}{message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    json_flag = _Parser(add_help=False)
    # SUPPRESS keeps a top-level --json from being reset by the subcommand's default.
    json_flag.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                           help="machine-readable output (stable shapes)")
    json_flag.add_argument("--pool", default=argparse.SUPPRESS, metavar="NAME",
                           help="the pool to show or steer (required when several are configured, "
                                "except by status, which then lists them all)")
    parser = _Parser(
        prog=PROG, parents=[json_flag],
        description="The operator's view of the autoscaler's state bucket. Configured by the "
                    "handlers' environment: EXOSCALE_KEY, EXOSCALE_SECRET, EXOSCALE_ZONE, "
                    "INSTANCEPOOL_ID (or INSTANCEPOOLS), SOS_BUCKET, SOS_ENDPOINT.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("status", parents=[json_flag], help="tick, action, cooldown, pending, "
                                                        "discovery, lease, pause, bounds")
    sub.add_parser("requests", parents=[json_flag], help="pending requests, oldest first")
    hist = sub.add_parser("history", parents=[json_flag], help="audit records, newest first")
    hist.add_argument("--since", help="30m, 1h, 2d, 1w or an ISO time (UTC if no offset); "
                                      "default: no lower bound")
    hist.add_argument("--limit", type=_positive, default=20, help="most records (default 20)")
    sub.add_parser("discovery", parents=[json_flag], help="the discovery snapshot's targets")
    sub.add_parser("pause", parents=[json_flag],
                   help="the tick consumes nothing; requests expire by their TTL")
    sub.add_parser("resume", parents=[json_flag], help="undo pause")
    bounds = sub.add_parser(
        "set-bounds", parents=[json_flag],
        help="operator bounds, clamped by the tick into SCALER_MIN_SIZE..SCALER_MAX_SIZE",
        description="An omitted flag keeps the stored value; 'none' clears it (the hard "
                    "bound applies). Requires 1 <= min <= max.")
    bounds.add_argument("--min", type=_size, default=opsettings.KEEP, metavar="N|none")
    bounds.add_argument("--max", type=_size, default=opsettings.KEEP, metavar="M|none")
    controls.add_commands(sub, [json_flag])
    return parser


def _run(args: argparse.Namespace, cfg: config.Config, store: Store, now: float,
         out: TextIO, err: TextIO) -> int:
    as_json = getattr(args, "json", False)
    # One listing first: a missing bucket reads as 'absent object' on GET, but a LIST says so.
    next(iter(store.list_keys(f"control/{cfg.pool_id}/")), None)
    if args.command in ("pause", "resume", "set-bounds"):
        return _steer(args, cfg, store, now, out, err, as_json)
    if args.command in controls.COMMANDS:
        return _control(args, cfg, store, now, out, err, as_json)
    if args.command == "status":
        view, render = reads.read_status(store, cfg, now), tables.status_text
    elif args.command == "requests":
        view, render = reads.read_requests(store, cfg, now), tables.requests_text
    elif args.command == "discovery":
        view, render = reads.read_discovery(store, cfg, now), tables.discovery_text
    else:
        try:
            since = parse_since(args.since, now) if args.since else None
        except ValueError as exc:
            raise Failure(str(exc)) from None
        view, render = reads.read_history(store, cfg, now, since, args.limit), tables.history_text
    print(json.dumps(view, indent=2, sort_keys=True) if as_json else render(view), file=out)
    for item in view["errors"]:
        print(f"inspect: {item['key']}: {item['error']}", file=err)
    return 1 if view["errors"] else 0


def _steer(args: argparse.Namespace, cfg: config.Config, store: Store, now: float,
           out: TextIO, err: TextIO, as_json: bool) -> int:
    by = operator_name()
    if args.command == "set-bounds" and args.min is opsettings.KEEP and args.max is opsettings.KEEP:
        raise Failure("set-bounds needs --min and/or --max")

    def change(current: Json | None) -> Json:
        if args.command == "set-bounds":
            return opsettings.merged(current, now=now, by=by, min_size=args.min, max_size=args.max)
        return opsettings.merged(current, now=now, by=by, paused=args.command == "pause")
    try:
        new, notes = update_settings(store, keys.settings(cfg.pool_id), change)
    except ValueError as exc:
        raise Failure(f"refused: {exc}; nothing written") from None
    effective = effective_bounds(cfg.min_size, cfg.max_size, new)
    if args.command == "set-bounds":
        notes += opsettings.bounds_warnings(new, cfg.min_size, cfg.max_size)
    for note in notes:
        print(f"inspect: warning: {note}", file=err)
    if as_json:
        print(json.dumps({"pool_id": cfg.pool_id, "settings": objects.settings_summary(
            new, keys.settings(cfg.pool_id), []), "effective_bounds": {
                "min": effective[0], "max": effective[1]}, "warnings": notes},
            indent=2, sort_keys=True), file=out)
        return 0
    headline = {"pause": "paused: the next tick consumes nothing; pending requests expire "
                         "after SCALER_REQUEST_TTL_S",
                "resume": "resumed: the next tick acts on pending requests",
                "set-bounds": "bounds stored; the next tick honours them"}[args.command]
    print(headline + "\n" + tables.settings_text(new, effective), file=out)
    return 0


def _control(args: argparse.Namespace, cfg: config.Config, store: Store, now: float,
             out: TextIO, err: TextIO, as_json: bool) -> int:
    key = keys.settings(cfg.pool_id)

    def read() -> Json | None:
        stored = store.get(key)
        if stored is not None and stored.body is None:
            raise Failure(f"{key}: {stored.error}")
        return None if stored is None else stored.body

    def write(change: Callable[[Json | None], Json]) -> Json:
        new, notes = update_settings(store, key, change)
        for note in notes:
            print(f"inspect: warning: {note}", file=err)
        return new
    try:
        return controls.run(args, cfg, now, operator_name(), read, write, out, as_json)
    except ValueError as exc:
        raise Failure(f"refused: {exc}; nothing written") from None


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None, *,
         now: Callable[[], float] = time.time, out: TextIO | None = None,
         err: TextIO | None = None,
         make_store: Callable[[config.Config], Store] = default_store) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    cfg = config.from_environ_or_exit(env)
    try:
        chosen = pools.target(args, cfg)
    except pools.choice.PoolChoiceError as exc:
        print(f"inspect: error: {exc}", file=err)
        return 2
    try:
        if chosen is None:
            return pools.overview(cfg, make_store(cfg), now(), out, err, getattr(args, "json", False))
        return _run(args, chosen, make_store(chosen), now(), out, err)
    except StoreError as exc:
        print(f"inspect: error: {describe(exc, cfg)}", file=err)
    except Failure as exc:
        print(f"inspect: error: {exc}", file=err)
    return 1
