"""Names of every object in the state bucket (the contract in docs/architecture.md, "The state bucket")."""
from __future__ import annotations

import time

SCHEMA = 1


def requests_prefix(pool: str) -> str:
    return f"requests/{pool}/"


def request(pool: str, received_ms: int, fingerprint: str) -> str:
    return f"{requests_prefix(pool)}{received_ms:013d}-{fingerprint}.json"


def scaler_state(pool: str) -> str:
    return f"state/{pool}/scaler.json"


def discovery(pool: str) -> str:
    return f"state/{pool}/discovery.json"


def history_prefix(pool: str) -> str:
    return f"history/{pool}/"


def history(pool: str, at: float, action: str, unique: str) -> str:
    return f"{history_day_prefix(pool, at)}{int(at * 1000):013d}-{action}-{unique}.json"


def history_day_prefix(pool: str, at: float) -> str:
    return f"{history_prefix(pool)}{time.strftime('%Y-%m-%d', time.gmtime(at))}/"


def settings(pool: str) -> str:
    return f"control/{pool}/settings.json"


def lease(pool: str) -> str:
    return f"lease/{pool}/tick"


def probe(pool: str) -> str:
    return f"state/{pool}/conditions-probe.json"
