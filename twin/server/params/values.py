"""Query parameters every API reads the same way: ``limit`` and other integers, ``bbox``,
``datetime`` (and whether a layer has a time dimension at all) and unknown names.

Each is validated into a plain value or refused with a 400 (:class:`InvalidParameter`)
that names the parameter and what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from twin.registry import FieldType, Layer
from twin.server.errors import InvalidParameter
from twin.server.limits import LIMITS

DEFAULT_LIMIT = LIMITS.default_page_size
MAX_LIMIT = LIMITS.page_size


def parse_int(params: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(f"{name}: {raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise InvalidParameter(f"{name}: {value} is outside {lo}..{hi}")
    return value


def parse_limit(params: Mapping[str, str], default: int = DEFAULT_LIMIT,
                most: int = MAX_LIMIT) -> int:
    """``limit``: a page size of at least 1, capped at ``most`` (the limits table's page
    size): OGC API Features caps a larger page and links the next, it does not refuse it
    (a client asking for 50,000 may get 10,000). Not an integer, 0 or negative: 400."""
    raw = params.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(f"limit: {raw[:50]!r} is not an integer") from None
    if value < 1:
        raise InvalidParameter(f"limit: {value} is not a page size (1 or more)")
    return min(value, most)


# --- bbox ------------------------------------------------------------------------------

def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    """``bbox`` as given in a query string: 4 or 6 comma-separated numbers."""
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        raise InvalidParameter(f"bbox: {raw!r} must be 4 or 6 comma-separated numbers") from None
    return bbox_values(values, raw)


def bbox_values(values: Sequence[float], raw: str | None = None, ordered: bool = True
                ) -> tuple[float, float, float, float]:
    """A bbox of 4 or 6 numbers (the heights of 6 dropped), finite, lower corner first;
    also for a bbox another parser (pygeoapi's) has already split into numbers.
    ``ordered=False``: corners that come swapped are put in order rather than refused
    (pygeoapi transforms each corner on its own, and an axis may run the other way)."""
    shown = raw if raw is not None else ",".join(str(v) for v in values)
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        raise InvalidParameter(f"bbox: {shown!r} must be 4 or 6 finite numbers")
    x0, y0, x1, y1 = values if len(values) == 4 else (values[0], values[1], values[3],
                                                       values[4])
    if not ordered:
        (x0, x1), (y0, y1) = sorted((x0, x1)), sorted((y0, y1))
    if x0 > x1 or y0 > y1:
        raise InvalidParameter("bbox: the lower corner must come before the upper corner")
    return float(x0), float(y0), float(x1), float(y1)


# --- datetime --------------------------------------------------------------------------

@dataclass
class TimeFilter:
    start: datetime | None
    end: datetime | None
    instant: bool = False


def _moment(text: str, end: bool) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        if "T" not in text.upper() and len(text) <= 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.min, tzinfo=UTC)
            return moment + timedelta(days=1) - timedelta(microseconds=1) if end else moment
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        stamp.astimezone(UTC)  # an offset that pushes it past year 9999 fails here
    except ValueError:
        raise InvalidParameter(f"datetime: {text!r} is not an RFC 3339 date or date-time") \
            from None
    except OverflowError:
        raise InvalidParameter(f"datetime: {text!r} is out of range") from None
    return stamp


def parse_datetime(raw: str) -> TimeFilter:
    """An instant (a date covers that whole day), a closed or an open interval."""
    if "/" not in raw:
        if raw in ("", ".."):
            raise InvalidParameter("datetime: an instant cannot be open ('..')")
        return TimeFilter(_moment(raw, False), _moment(raw, True), instant=True)
    first, _, second = raw.partition("/")
    start, end = _moment(first, False), _moment(second, True)
    if start is None and end is None:
        raise InvalidParameter("datetime: '../..' is not an interval; leave datetime out")
    if start and end and start > end:
        raise InvalidParameter("datetime: the interval ends before it starts")
    return TimeFilter(start, end)


def layer_datetime(layer: Layer, raw: str) -> TimeFilter:
    """``datetime`` on a layer's features or tiles: its time field, on a layer that
    keeps history the versions valid then, on a layer with ``validity`` the features in
    force then; a layer with none of these has no time dimension."""
    if not (layer.time_field or layer.history or layer.validity):
        raise InvalidParameter(f"datetime: collection {layer.name} has no time dimension")
    return parse_datetime(raw)


def validity_bounds(layer: Layer, t: TimeFilter) -> tuple[date | datetime | None,
                                                         date | datetime | None]:
    """The ends of ``datetime`` to compare with a layer's ``validity`` fields: for date
    fields the calendar date of each end as written (``2025-07-01``,
    ``2025-07-01T00:30+07:00``: 1 July), for datetime fields the moments themselves.
    A feature is in force during [lo, hi] when ``from <= hi`` and ``to > lo``."""
    if layer.fields[layer.validity.start].type is FieldType.datetime:
        return t.start, t.end
    return (t.start.date() if t.start is not None else None,
            t.end.date() if t.end is not None else None)


# --- names -----------------------------------------------------------------------------

def check_names(params: Collection[str], allowed: Collection[str],
                of: str = "this endpoint") -> None:
    """A misspelt parameter is refused rather than silently ignored."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidParameter(f"{', '.join(unknown)}: not a parameter of {of}; it takes "
                               f"{', '.join(sorted(allowed))}")
