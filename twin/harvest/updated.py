"""Harvesting by update time: a remote without a change feed, followed through an
update-time property (``twin harvest --updated PROPERTY``).

A run after the first asks only for the features updated at or after the high-water
mark (the latest update time seen so far, kept with the source in the transaction that
writes the features), and upserts them. How it asks depends on what the remote says of
the property:

- its queryables give it the role ``primary-instant`` (OGC API – Features Part 3; the
  property the remote's ``datetime`` parameter filters, pygeoapi's ``time_field``):
  ``datetime=<mark>/..``;
- else, if it is a queryable and the remote declares CQL2 text (the conformance class
  ``.../cql2/1.0/conf/cql2-text``, which pygeoapi declares for its filter parameter):
  ``filter=<property> >= TIMESTAMP('<mark>')``;
- else the remote cannot be followed by update time, and the run says so.

When both are possible and the ``datetime`` request fails, the filter is tried (a
stock pygeoapi's PostgreSQL provider under psycopg 3 binds the ``datetime`` bound as
text, which PostgreSQL will not compare with a ``timestamptz`` column: a 500, while its
CQL2 filter on the same column works).

The mark is compared inclusively (``>=``), so a feature updated in the same instant as
the mark but committed after the last run is not missed; re-reading the features of
that instant writes nothing, as they are unchanged. Deletions cannot be seen this way:
the caller does a full compare every Nth run (:mod:`twin.harvest.run`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from twin.harvest.remote import Remote, RemoteError

PRIMARY_INSTANT = "primary-instant"
CQL2_TEXT = "/conf/cql2-text"
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def instant(value) -> datetime | None:
    """An RFC 3339 date-time (a naive one read as UTC), None when ``value`` is not one."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        found = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def stamp(moment: datetime) -> str:
    """The mark as the remote is asked for it: RFC 3339 in UTC, microseconds kept."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def high_water(features: Iterable[dict], name: str, mark: str | None
               ) -> tuple[str | None, int]:
    """The latest update time among ``features`` and the mark so far, and how many
    features have no readable update time (incremental runs cannot see those)."""
    best, missing = instant(mark), 0
    for feature in features:
        moment = instant((feature.get("properties") or {}).get(name))
        if moment is None:
            missing += 1
        elif best is None or moment > best:
            best = moment
    return (stamp(best) if best else None), missing


def since(remote: Remote, name: str, mark: str) -> list[dict[str, str]]:
    """The ways (items parameters) to ask ``remote`` for the features whose ``name`` is
    at or after ``mark``, best first; :class:`RemoteError` when it offers none."""
    spec, ways = remote.queryables().get(name), []
    if spec is not None and spec.get("x-ogc-role") == PRIMARY_INSTANT:
        ways.append({"datetime": f"{mark}/.."})
    if spec is not None and any(c.endswith(CQL2_TEXT) for c in remote.conformance()):
        prop = name if NAME.fullmatch(name) else '"' + name.replace('"', '""') + '"'
        ways.append({"filter": f"{prop} >= TIMESTAMP('{mark}')", "filter-lang": "cql2-text"})
    if ways:
        return ways
    raise RemoteError(
        f"{remote.items_url}: cannot be asked for the features updated since a time: "
        f"{name!r} is not its temporal property (x-ogc-role {PRIMARY_INSTANT} in its "
        "queryables) nor a queryable it can filter with CQL2 text; harvest it without "
        "--updated (a full compare each run)")


def updated_since(remote: Remote, name: str, mark: str) -> list[dict]:
    """Every feature whose ``name`` is at or after ``mark``, asked the best way the
    remote answers: when a way fails, the next is tried; the last way's failure fails
    the run, as any other read does."""
    ways = since(remote, name, mark)
    for params in ways[:-1]:
        try:
            return [f for page in remote.items(params) for f in page]
        except RemoteError:
            continue
    return [f for page in remote.items(ways[-1]) for f in page]
