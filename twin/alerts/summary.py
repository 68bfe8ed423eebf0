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
