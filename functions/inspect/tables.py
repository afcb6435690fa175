"""Pure text rendering of the views: aligned tables and key/value blocks for a terminal."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from functions.money.budget import amount

from .timefmt import ago, duration

Json = dict[str, Any]
REASON_WIDTH = 72


def clip(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[("-" if c is None else str(c)) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def pairs(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def _ago(age_s: float | None) -> str:
    return "?" if age_s is None else ago(age_s)


def _at(iso: str | None, age_s: float | None) -> str:
    return "unknown time" if iso is None else f"{iso} ({_ago(age_s)})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _sizes(a: Any, b: Any) -> str:
    return f"{'?' if a is None else a} -> {'?' if b is None else b}"


def status_text(v: Json) -> str:
    tick, act, dec = v["tick"], v["last_action"], v["last_decision"]
    rows = [("pool", v["pool_id"]), ("now", v["now"])]
    rows.append(("last tick", "no tick yet" if tick is None else
                 f"{_at(tick['at'], tick['age_s'])} by {tick['by'] or '?'}, "
                 f"revision {tick['revision']}"))
    rows.append(("last action", "none yet" if act is None else
                 f"{act['action']} {_sizes(act['from_size'], act['to_size'])} at "
                 f"{_at(act['at'], act['age_s'])}: {act['reason']}"
                 + (f" ({_count(act['requests'], 'request')})" if act["requests"] is not None else "")))
    if dec is not None:
        rows.append(("last decision", f"{dec['action']} at {_at(dec['at'], dec['age_s'])}: "
                                      f"{dec['reason']}"))
    cd = v["cooldown"]
    rows.append(("cooldown", f"{duration(cd['remaining_s'])} remaining, no scale-down until "
                             f"{cd['until']}" if cd["remaining_s"] > 0 else "none"))
    intent = v["intent"]
    if intent is not None:
        evict = f", evict {', '.join(intent['evict'])}" if intent["evict"] else ""
        rows.append(("intent", f"{intent['action']} "
                               f"{_sizes(intent['from_size'], intent['target_size'])}, "
                               f"phase {intent['phase']}, decided {_ago(intent['age_s'])}, "
                               f"{_count(intent['requests'], 'request')}{evict}"))
    if v["refusal"] is not None:
        ref = v["refusal"]
        rows.append(("refusal", f"{_at(ref['at'], ref['age_s'])}: {ref['message']}"))
    pool = v["pool"]
    if pool is not None:
        rows.append(("pool size", f"{pool['size']} ({pool['state']}, {pool['serving']} serving),"
                                  f" observed {_ago(pool['age_s'])}"))
    pend = v["pending"]
    rows.append(("pending", "none" if pend["total"] == 0 else
                 f"{pend['total']} (up {pend['up']}, down {pend['down']}), oldest "
                 f"{_ago(pend['oldest_age_s'])}"))
    disc = v["discovery"]
    rows.append(("discovery", "no discovery yet" if disc is None else
                 f"{disc['members']} members, checked "
                 f"{_at(disc['checked_at'], disc['checked_age_s'])}, "
                 f"changed {_ago(disc['changed_age_s'])}"))
    lease = v["lease"]
    rows.append(("lease", "no lease yet" if lease is None else
                 f"held by {lease['holder']} until {lease['expires_at']} ({_ago(-lease['expires_in_s'])})"
                 if lease["held"] else
                 f"free (last holder {lease['holder']}, expired {_ago(-lease['expires_in_s'])})"))
    settings = v["settings"]
    paused = "yes" if v["paused"] else "no"
    if settings is not None and settings["updated_at"]:
        paused += f" (settings by {settings['updated_by'] or '?'} at {settings['updated_at']})"
    if tick is not None and tick["paused"] != v["paused"]:
        paused += ", not yet seen by the tick"
    rows.append(("paused", paused))
    b, hard = v["bounds"], v["hard_bounds"]
    if b["source"] == "computed":
        source = (f"computed: hard bounds {hard['min']}..{hard['max']} from this environment"
                  + (" and the stored settings" if settings is not None else ""))
    elif b["source"] == "last-tick":
        source = "as used by the last tick"
    else:
        source = "as used by the last tick; settings changed since, the next tick applies them"
    rows.append(("bounds", f"{b['min']}..{b['max']} ({source})"))
    sched = v["schedule"]
    rows.append(("schedule", f"ignored by the tick: {sched['error']}" if sched["error"] else
                 "no rules" if not sched["rules"] else in_force_text(sched)))
    rows += money_rows(v["money"])
    return pairs(rows)


def requests_text(v: Json) -> str:
    if not v["requests"]:
        return "no pending requests"
    return table(["RECEIVED", "AGE", "DIR", "SOURCE", "ALERT", "VALUE", "MEMBERS", "TREND", "CPU",
                  "STATE"], [
        [r["received_at"], _ago(r["age_s"]), r["direction"], r["source"], r["alertname"],
         r["value"], r["members"], r["trend"], r["cpu"],
         "claimed by intent" if r["claimed"] else "pending"]
        for r in v["requests"]])


def history_text(v: Json) -> str:
    if not v["records"]:
        return "no history" + (f" since {v['since']}" if v["since"] else "")
    return table(["AT", "AGE", "ACTION", "SIZE", "REQ", "REASON"], [
        [r["at"], _ago(r["age_s"]), r["action"],
         "" if r["from_size"] is None and r["to_size"] is None
         else _sizes(r["from_size"], r["to_size"]),
         r["requests"], clip(r["reason"], REASON_WIDTH)]
        for r in v["records"]])


def discovery_text(v: Json) -> str:
    disc = v["discovery"]
    if disc is None:
        return "no discovery yet"
    head = (f"{disc['members']} members, checked {_at(disc['checked_at'], disc['checked_age_s'])},"
            f" changed {_ago(disc['changed_age_s'])}")
    if not disc["targets"]:
        return head
    return head + "\n" + table(["INSTANCE", "IP"],
                               [[t["instance_id"], t["ip"]] for t in disc["targets"]])


def settings_text(settings: Json, effective: tuple[int, int]) -> str:
    def bound(name: str) -> str:
        value = settings.get(name)
        return "none (hard bound)" if value is None else str(value)
    return pairs([("paused", "yes" if settings.get("paused") else "no"),
                  ("min", bound("min_size")), ("max", bound("max_size")),
                  ("effective", f"{effective[0]}..{effective[1]} (with this environment's "
                                f"hard bounds)")])


# --- the operator's controls (functions/views/controls.py builds the views) ---------------------------

def in_force_text(view: Json) -> str:
    here, upcoming = view["in_force"], view["next_change"]
    rules = ", ".join(here["rules"])
    line = f"{here['min']}..{here['max']} " + (f"(rule {rules})" if rules else "(no rule in force)")
    if upcoming is None:
        return line + "; no change scheduled"
    then = ", ".join(upcoming["rules"]) or "no rule"
    return (line + f"; next change {upcoming['at']} (in {duration(upcoming['in_s'])}): "
                   f"{upcoming['min']}..{upcoming['max']} ({then})")


def money_rows(view: Json) -> list[tuple[str, str]]:
    """`inspect status` lines: cost, spend, budget (always shown; `unknown` before a recorded size)."""
    cur = view["currency"]
    if view["cost_per_hour"] is None:
        cost = spend = "unknown (no tick has recorded the pool's size yet)"
    else:
        cost = (f"{view['cost_per_hour']:.4f} {cur}/h now ({view['size']} × {view['instance_type']} at "
                f"{view['price_hourly']:.4f}/h)")
        spend = (f"today {amount(view['spend_day'])} {cur}, this month {amount(view['spend_month'])} {cur} "
                 f"({view['tz']}; since {view['since']})")
    budget = view["budget"]
    if budget["error"]:
        state = f"ignored by the tick: {budget['error']}"
    elif budget["daily"] is None and budget["monthly"] is None:
        state = "no cap"
    elif not view["caps"]:
        state = "; ".join(f"{key} cap {amount(budget[key])} {cur}" for key in ("daily", "monthly")
                          if budget[key] is not None) + ", projection unknown"
    else:
        state = "; ".join(
            f"{'daily' if c['period'] == 'day' else 'monthly'} cap {amount(c['cap'])} {cur}: projected "
            f"{amount(c['projected'])} at size {c['size']}, {'within' if c['within'] else 'over: no scale-up'}"
            for c in view["caps"])
    if view["held"]:
        state += f"; held a scale-up back at {view['held']['at']}: {view['held']['message']}"
    return [("cost", cost), ("spend", spend), ("budget", state)]


def schedule_text(view: Json) -> str:
    lines = []
    if view["error"]:
        lines.append(f"schedule ignored by the tick: {view['error']}")
    if view["rules"]:
        lines.append(table(["ID", "CRON", "ZONE", "FOR", "MIN", "MAX", "NOW", "MEANS"], [
            [r["id"], r["cron"], r["tz"], r["duration"], r["min"], r["max"],
             f"until {r['ends_at']}" if r["in_force"] else "-", r["explain"]] for r in view["rules"]]))
    elif not view["error"]:
        lines.append("no schedule rules")
    lines.append(pairs([("bounds now", in_force_text(view))]))
    return "\n".join(lines)


def budget_text(view: Json, currency: str) -> str:
    def cap(value: float | None) -> str:
        return "none" if value is None else f"{amount(value)} {currency}"
    rows = [("daily cap", cap(view["daily"])), ("monthly cap", cap(view["monthly"])),
            ("periods", f"days and months in {view['tz']}")]
    if view["error"]:
        rows.append(("problem", f"stored budget ignored by the tick: {view['error']}"))
    return pairs(rows)


# --- several pools (functions/views/overview.py builds the view) ---------------------------------

def _notes(row: Json) -> str:
    notes = []
    if row["paused"]:
        notes.append("paused")
    if row["intent"] is not None:
        notes.append(f"{row['intent']['action']} to {row['intent']['target_size']} "
                     f"({row['intent']['phase']})")
    if row["refusal"] is not None:
        notes.append(f"refused: {clip(row['refusal'], 40)}")
    if row["cooldown_remaining_s"] > 0:
        notes.append(f"cooldown {duration(row['cooldown_remaining_s'])}")
    if row["lease"] is not None and row["lease"]["held"]:
        notes.append(f"lease held by {row['lease']['holder']}")
    if row["errors"]:
        notes.append(_count(row["errors"], "error"))
    return "; ".join(notes)


def overview_text(v: Json) -> str:
    """One line per pool; `inspect --pool NAME status` shows one in full."""
    return table(["POOL", "SIZE", "BOUNDS", "PENDING", "LAST ACTION", "LAST TICK", "NOTES"], [
        [r["name"], None if r["size"] is None else f"{r['size']} {r['state']}",
         f"{r['bounds']['min']}..{r['bounds']['max']}",
         f"up {r['pending']['up']}, down {r['pending']['down']}",
         "none yet" if (act := r["last_action"]) is None else
         f"{act['action']} {_sizes(act['from_size'], act['to_size'])}, {_ago(act['age_s'])}",
         "no tick yet" if r["tick_age_s"] is None else _ago(r["tick_age_s"]), _notes(r)]
        for r in v["pools"]])
