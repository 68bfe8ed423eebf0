"""Strong ETags that name a row version, and the If-Match check.

A single item's ETag is ``"<row id>-<updated_at in microseconds since 1970>"``. The
``updated_at`` trigger takes the clock time (migration 0003), so every update gives a
new tag; the tag is strong because If-Match compares strongly (RFC 9110 §13.1.1): a
client may send back exactly what GET gave it. Item and edit responses carry it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twin.server.errors import PreconditionFailed

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version_etag(row_id: int, updated_at: datetime) -> str:
    micros = (updated_at - EPOCH) // timedelta(microseconds=1)
    return f'"{row_id}-{micros}"'


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def check_if_match(header: str | None, current: str) -> None:
    """No If-Match: accepted (QGIS sends none). ``*``: any current version. Otherwise the
    current version must be listed, compared strongly (a weak tag never matches)."""
    if header is None:
        return
    tags = _tags(header)
    if "*" in tags or current in tags:
        return
    raise PreconditionFailed(
        f"If-Match {header.strip()[:100]} is not the current version {current}: the feature "
        "was changed since you read it; GET it again, re-apply your change and send its "
        "new ETag")


def none_match(header: str | None, current: str) -> bool:
    """If-None-Match matches (weak comparison, as for GET)."""
    if not header:
        return False
    tags = _tags(header)
    return "*" in tags or current.removeprefix("W/") in (t.removeprefix("W/") for t in tags)
