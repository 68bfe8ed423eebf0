"""Which administrative map is in force when: ``admin_areas`` holds every map, each area
with ``valid_from`` (first day in force; empty: before the records) and ``valid_to``
(first day no longer in force, an exclusive end; empty: still in force).

On 1 July 2025 Vietnam abolished its districts: since then communes and wards lie
directly under the province (Hà Nội: 126 commune-level units, 51 wards and 75
communes, formed by merging the former ones). Anything that picks areas — reports,
rollups and flood exposure by area, the city boundary — picks the map in force at the
time it is about. Plain SQL text and dates only: every layer of twin can use it.
"""

from __future__ import annotations

from datetime import date

REFORM = date(2025, 7, 1)
# Levels that no longer exist, and the first day they did not.
ABOLISHED = {"district": REFORM}
# The commune level: what rollups and exposure by area count in (the former map's wards
# took the communes and townships too).
COMMUNE_LEVELS = ("commune", "ward")


def in_force(alias: str, day: str) -> str:
    """SQL: the area ``alias`` is in force on ``day`` (a date expression or parameter)."""
    return (f"({alias}.valid_from IS NULL OR {alias}.valid_from <= {day}) AND "
            f"({alias}.valid_to IS NULL OR {alias}.valid_to > {day})")


EDGES_SQL = ("SELECT DISTINCT d FROM (SELECT valid_from AS d FROM admin_areas UNION ALL "
             "SELECT valid_to FROM admin_areas) e WHERE d IS NOT NULL ORDER BY d")


def day_text(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def map_at(edges: list[date], day: date) -> tuple[date | None, date | None]:
    """The map in force on ``day`` as (first day, first day after), from the days on
    which maps begin or end (``EDGES_SQL``); None where it is open."""
    since = max((e for e in edges if e <= day), default=None)
    until = min((e for e in edges if e > day), default=None)
    return since, until


def map_label(since: date | None, until: date | None) -> str:
    """"the administrative map in force from 01/07/2025" (or until, or between)."""
    if since is None and until is None:
        return "the administrative map (no validity dates recorded)"
    if until is None:
        return f"the administrative map in force from {day_text(since)}"
    last = date.fromordinal(until.toordinal() - 1)
    if since is None:
        return f"the administrative map in force until {day_text(last)}"
    return f"the administrative map in force from {day_text(since)} to {day_text(last)}"


def changes_within(edges: list[date], first: date, last: date) -> list[date]:
    """Days in (first, last] on which a map begins or ends: a period holding one spans
    two maps."""
    return [e for e in edges if first < e <= last]
