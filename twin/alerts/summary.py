"""The alerts as lines of text: ``twin alerts list`` and the demo's summary."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg


def alert_lines(conn: psycopg.Connection, everything: bool = True, lang: str = "en"
                ) -> Iterator[str]:
    """One line per alert, oldest first: id, rule, subject, severity, opened, resolved."""
    with conn.cursor() as cur:
        cur.execute("SELECT id, rule_id, subject, severity, level, state, opened_at, "
                    "resolved_at, value, unit, title ->> %s FROM alerts"
                    + ("" if everything else " WHERE state <> 'resolved'")
                    + " ORDER BY opened_at, id", (lang,))
        for aid, rule, subject, sev, level, state, opened, resolved, value, unit, title \
                in cur.fetchall():
            lv = f" level {level}" if level else ""
            until = f" -> {resolved:%Y-%m-%d %H:%M}Z" if resolved else f" ({state})"
            shown = "" if value is None else f", {value:g} {unit or ''}".rstrip()
            yield (f"#{aid} {rule} {subject}: {title} [{sev}{lv}{shown}] "
                   f"{opened:%Y-%m-%d %H:%M}Z{until}")


def counts(conn: psycopg.Connection) -> dict[str, int]:
    """Alerts per rule."""
    with conn.cursor() as cur:
        cur.execute("SELECT rule_id, count(*) FROM alerts GROUP BY rule_id ORDER BY rule_id")
        return dict(cur.fetchall())


def demo_lines(conn: psycopg.Connection, per_rule: int = 6) -> Iterator[str]:
    """Per rule: how many alerts, and the first ``per_rule`` of them."""
    shown: dict[str, int] = {}
    total = counts(conn)
    for line in alert_lines(conn):
        rule = line.split(" ", 2)[1]
        shown[rule] = shown.get(rule, 0) + 1
        if shown[rule] == 1:
            yield f"{rule}: {total[rule]} alert(s)"
        if shown[rule] <= per_rule:
            yield f"  {line}"
