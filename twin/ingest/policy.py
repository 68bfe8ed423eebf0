"""What a stream of readings may write: the time window, new months per batch, whose stations.

Pure rules (no database), applied by the one write path (:mod:`twin.ingest.stream`) to
``POST /readings``, ``POST /sta/v1.1/Observations`` and MQTT alike:

- **Time window** (:class:`Window`): a streamed reading older than ``max_age``
  (``TWIN_READINGS_MAX_AGE_DAYS``, default ten years: the demo's fixed October 2026
  history and back-fills stay inside it; a deployment sets how late its stations may
  deliver) or more than ``ahead`` in the future (``TWIN_READINGS_MAX_AHEAD_MINUTES``,
  default 5: clock skew, never a reading from the future) is refused with the reason.
  A reading written ahead of its time would otherwise win over the real one, which
  arrives later and is skipped as a duplicate. The bulk CSV loader (``twin load``, run
  by an operator with the database's credentials) has no age limit, for historical
  archives, but the same bound ahead (:data:`BULK`). Nothing before 1900 is ever stored.
- **New months per batch** (:data:`NEW_MONTHS_PER_BATCH`): one batch may create at most
  this many monthly partitions; the readings of further new months are refused with the
  reason (send them again in a later batch). Month partitions of the present and the
  next two months exist beforehand, so only back-fills ever meet this.
- **Agencies** (:class:`Scope`): a caller who is not an admin writes readings only of
  stations whose ``agency`` is the caller's agency (compared without regard to case,
  Unicode form or runs of spaces); a station without an agency is written by admins
  only. An MQTT topic may carry the agency (:func:`topic_names_agency`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
MAX_AGE_DAYS = 3650
AHEAD_MINUTES = 5
NEW_MONTHS_PER_BATCH = 3


@dataclass(frozen=True)
class Window:
    """The times a reading may have, relative to the clock when it arrives, and how a
    time without a UTC offset is read: as local time of ``tz``, the city's IANA zone
    (the city profile's; UTC when none is given)."""
    max_age: timedelta | None = timedelta(days=MAX_AGE_DAYS)   # None: back to 1900
    ahead: timedelta = timedelta(minutes=AHEAD_MINUTES)
    tz: str = "UTC"

    @classmethod
    def of(cls, max_age_days: int | None, ahead_minutes: int, tz: str = "UTC") -> Window:
        return cls(None if max_age_days is None else timedelta(days=max_age_days),
                   timedelta(minutes=ahead_minutes), tz)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """(earliest, latest) time accepted at ``now``."""
        earliest = EARLIEST if self.max_age is None else max(EARLIEST, now - self.max_age)
        return earliest, now + self.ahead

    def refusal(self, when: datetime, now: datetime) -> str | None:
        """Why ``when`` is out of the window at ``now`` (None when it is inside)."""
        earliest, latest = self.bounds(now)
        if when > latest:
            return (f"more than {_minutes(self.ahead)} ahead of the server's clock (a reading "
                    "cannot come from the future)")
        if when < earliest:
            if self.max_age is None or earliest == EARLIEST:
                return "before 1900"
            return (f"more than {self.max_age.days} days old (readings of the last "
                    f"{self.max_age.days} days are taken: TWIN_READINGS_MAX_AGE_DAYS)")
        return None


def _minutes(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


STREAMS = Window()
BULK = Window(max_age=None)


# --- agencies ---------------------------------------------------------------------------

def _normal(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def same_agency(a: str | None, b: str | None) -> bool:
    """Whether two agency names are the same agency (case, Unicode form and spacing
    aside); an empty or missing name is nobody's."""
    return bool(a and b) and _normal(a) != "" and _normal(a) == _normal(b)


def agency_slug(name: str) -> str:
    """An agency's name as a topic level or broker user name: ASCII, lower case, words
    joined by '-' ("Sở Tài nguyên và Môi trường Hà Nội" -> "so-tai-nguyen-va-moi-truong-ha-noi")."""
    text = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def topic_names_agency(level: str, agency: str | None) -> bool:
    """Whether an MQTT topic's agency level names ``agency``: its slug or its name."""
    return bool(agency) and (level == agency_slug(agency) or same_agency(level, agency))


@dataclass(frozen=True)
class Scope:
    """Whose stations a writer may write readings of."""
    agency: str | None = None
    every_station: bool = False   # admins, and trusted services (the CLI, the subscriber)

    def refusal(self, station: str, station_agency: str | None,
                verb: str = "write") -> str | None:
        """Why this writer may not ``verb`` readings of ``station`` (None when it may)."""
        if self.every_station or same_agency(self.agency, station_agency):
            return None
        if not station_agency:
            return f"station {station!r} has no agency: only an admin may {verb} its readings"
        caller = repr(self.agency) if self.agency else "a caller without an agency"
        return (f"station {station!r} belongs to {station_agency!r}; {caller} may not "
                f"{verb} its readings")


EVERY_STATION = Scope(every_station=True)
