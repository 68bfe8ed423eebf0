"""Evaluating the rules: after a readings batch commits (on the touched stations, from the
touched hours on), on the silence timer, and all at once (``twin alerts evaluate``).

One transaction per evaluation, under a transaction-level advisory lock, so evaluators in
several processes (server workers, the MQTT subscriber, the CLI) run one after another
and each sees the alerts the previous one wrote. For each rule and station the stored
series is read from where its state is known (the live alert's last check, or the later
of the touched hours less the rule's duration and its last resolution) and walked by
:func:`twin.alerts.machine.run`; a late reading re-reads from its own hour.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from twin.alerts import series, store
from twin.alerts.machine import Live, run
from twin.alerts.rules import Rule

log = logging.getLogger("twin.alerts")
HOURLY = ("threshold", "aqi_class", "river_level", "rain")
LOOKBACK = {"threshold": timedelta(hours=1), "aqi_class": timedelta(hours=1),
            "river_level": timedelta(hours=1), "rain": timedelta(hours=3),
            "silence": timedelta(0), "stuck": timedelta(days=2), "flood_depth": timedelta(0),
            "aqi_area": timedelta(0)}
EPOCH = datetime(1900, 1, 1, tzinfo=UTC)
TIMER_LOCK = "twin_alerts_timer"
CACHE = store.RuleCache()


@dataclass
class Summary:
    rules: int = 0
    transitions: list[tuple[str, int]] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.transitions if k == kind)

    def line(self) -> str:
        return (f"alerts: {self.rules} rules evaluated, {self.count('opened')} opened, "
                f"{self.count('updated')} updated, {self.count('resolved')} resolved")


def evaluate_kind(conn: psycopg.Connection, keep: Callable[[Rule], bool],
                  one: Callable[..., int]) -> Summary:
    """The rules ``keep`` selects, each run by ``one(cur, loaded, lives, resolved)``
    (its transitions), under the alerts' lock in one transaction: the flood-depth and
    the area rules share this frame."""
    summary = Summary()
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (store.LOCK,))
        rules = [r for r in CACHE.get(cur) if keep(r.rule)]
        if not rules:
            return summary
        ids = [r.rule.id for r in rules]
        lives, resolved = store.live_alerts(cur, ids), store.last_resolved(cur, ids)
        for loaded in rules:
            summary.rules += 1
            summary.transitions += one(cur, loaded, lives, resolved)
    return summary


def _durations(rule: Rule) -> tuple[float, float]:
    c = rule.condition
    return (getattr(c, "for_minutes", 0) * 60.0, getattr(c, "clear_minutes", 0) * 60.0)


def _since(rule: Rule, live: Live | None, resolved: datetime | None, lo: datetime
           ) -> tuple[datetime, Live | None, datetime | None]:
    """Where to read from, the state to start in and after when updates are new."""
    for_s, _ = _durations(rule)
    back = LOOKBACK[rule.condition.kind] + timedelta(seconds=for_s)
    if live is not None:
        checked = live.checked_at or live.opened_at
        if lo >= checked:
            return (live.clear_since or checked) - LOOKBACK[rule.condition.kind], live, checked
        start = max(lo - back, live.opened_at - timedelta(seconds=for_s))
        live.clear_since = None
        return start, live, checked
    return max(lo - back, resolved or EPOCH), None, None


def _keep(rule: Rule, since: datetime):
    if rule.condition.kind in HOURLY:
        return lambda p: p.end - series.HOUR >= since
    return lambda p: p.end >= since


def evaluate(conn: psycopg.Connection, stations: list[int] | None, lo: datetime,
             now: datetime | None = None, kinds: tuple[str, ...] | None = None,
             props: set[str] | None = None) -> Summary:
    """Evaluate the enabled rules on ``stations`` (None: all) from ``lo`` on, in one
    transaction; with ``props``, only the rules reading one of those properties (and
    those reading several: AQI, silence). ``now``: the clock for trailing silences (the
    timer), else None."""
    summary = Summary()
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (store.LOCK,))
        touched = None if stations is None else set(stations)
        work = []
        for loaded in CACHE.get(cur):
            if kinds is not None and loaded.rule.condition.kind not in kinds:
                continue
            if props is not None and loaded.rule.prop not in (None, *props):
                continue
            ids = [s for s in loaded.subjects if touched is None or s in touched]
            if ids:
                work.append((loaded, ids))
        if not work:
            return summary
        rule_ids = [w[0].rule.id for w in work]
        lives, resolved = store.live_alerts(cur, rule_ids), store.last_resolved(cur, rule_ids)
        shared = series.Shared(cur, now)
        plans = [(loaded, ids, *_plan(loaded, ids, lo, lives)) for loaded, ids in work]
        for loaded, ids, _live, since in plans:
            shared.want(loaded.rule, ids, since)
        for loaded, ids, live, since in plans:
            summary.rules += 1
            summary.transitions += _rule(cur, shared, loaded, ids, (lo, since), live,
                                         resolved)
    return summary


def _back(rule: Rule) -> timedelta:
    return LOOKBACK[rule.condition.kind] + timedelta(seconds=_durations(rule)[0])


def _plan(loaded: store.Loaded, ids: list[int], lo: datetime, lives: dict
          ) -> tuple[dict[int, tuple], datetime]:
    """Where each live alert of the rule is read from, and the earliest time to read."""
    rule, live = loaded.rule, {}
    for sid in ids:
        key = (rule.id, loaded.subjects[sid].code)
        if key in lives:
            live[sid] = _since(rule, lives[key], None, lo)
    return live, min([lo - _back(rule), *(s[0] for s in live.values())])


def _rule(cur, shared: series.Shared, loaded: store.Loaded, ids: list[int],
          window: tuple[datetime, datetime], live: dict[int, tuple], resolved: dict
          ) -> list[tuple[str, int]]:
    rule, (lo, since) = loaded.rule, window
    rows = shared.rows(rule, ids)
    found = series.points(cur, rule, ids, since, shared.now) if rows is None else None
    for_s, clear_s = _durations(rule)
    done = []
    for sid in ids:
        if sid in live:
            start, alert, emit_after = live[sid]
        else:
            if rows is not None and not series.hot(rule, rows.get(sid, ())):
                continue
            code = loaded.subjects[sid].code
            start, alert, emit_after = _since(rule, None, resolved.get((rule.id, code)), lo)
        keep = _keep(rule, start)
        found_here = series.build(rule, rows.get(sid, [])) if rows is not None \
            else found.get(sid, [])
        pts = [p for p in found_here if keep(p)]
        if pts:
            outcome = run(pts, alert, for_s, clear_s, emit_after)
            done += store.apply(cur, loaded, loaded.subjects[sid], alert, outcome)
    return done


def after_readings(conn: psycopg.Connection, touched: tuple | None) -> Summary | None:
    """The hook of the readings write paths, after commit: never raises (the readings are
    stored; an evaluation that fails is logged and the next batch or the timer catches up)."""
    if not touched or not touched[0]:
        return None
    try:
        return evaluate(conn, touched[0], touched[1], props=touched[2])
    except Exception:  # ingest must not fail after its commit
        log.exception("evaluating the alert rules after a readings batch failed")
        return None


def tick(conn: psycopg.Connection, now: datetime | None = None) -> Summary | None:
    """The silence timer: trailing gaps up to ``now``, by one process at a time (a
    session-level try-lock); None when another process holds it."""
    now = now or datetime.now(UTC)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (TIMER_LOCK,))
        held = cur.fetchone()[0]
    if not conn.autocommit:
        conn.commit()  # a session lock; the evaluation commits its own transaction
    if not held:
        return None
    try:
        return evaluate(conn, None, now - timedelta(days=366), now=now, kinds=("silence",))
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(hashtext(%s))", (TIMER_LOCK,))
        if not conn.autocommit:
            conn.commit()
