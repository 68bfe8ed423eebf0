"""An alert's life over a series of observations, as a pure function.

The evaluator turns stored data into :class:`Point` s (an hour's mean, a 3-hour rain
sum, a gap between readings, a run of equal values), each covering ``[start, end)`` and
saying whether the condition holds (``active``), has cleared (``clear``) or neither (the
hysteresis band). :func:`run` walks them in time order from the live alert's state and
returns the transitions, stamped with data times:

- not live: a run of contiguous active points lasting ``for_s`` opens an alert at the
  end of the point that completes it;
- live: an active point with another severity or level is an update; points that are
  clear for ``clear_s`` (from the start of the first) resolve it at the end of the last;
  a point in the band restarts the clearing.

Evaluating the stored series, not the arrival order, makes the result the same whatever
order readings came in, and replaying the same data changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Point:
    subject: int
    start: datetime
    end: datetime
    active: bool
    clear: bool
    value: float | None = None
    level: int | None = None
    severity: str = "moderate"


@dataclass
class Live:
    """The live alert of a rule and subject, as stored."""
    id: int
    severity: str
    level: int | None
    opened_at: datetime
    checked_at: datetime | None = None
    clear_since: datetime | None = None
    value: float | None = None


@dataclass(frozen=True)
class Transition:
    kind: str           # opened | updated | resolved
    at: datetime
    severity: str
    level: int | None
    value: float | None


@dataclass
class Outcome:
    transitions: list[Transition] = field(default_factory=list)
    live: bool = False
    severity: str | None = None
    level: int | None = None
    value: float | None = None
    checked_at: datetime | None = None
    clear_since: datetime | None = None


def run(points: list[Point], live: Live | None, for_s: float, clear_s: float,
        emit_after: datetime | None = None) -> Outcome:
    """Transitions over ``points`` (sorted by start) from ``live``'s state (None: no live
    alert). Updates at or before ``emit_after`` (already reported) are not repeated."""
    out = Outcome(live=live is not None)
    if live is not None:
        out.severity, out.level, out.value = live.severity, live.level, live.value
        out.checked_at, out.clear_since = live.checked_at, live.clear_since
    pending: datetime | None = None
    prev_end: datetime | None = None
    for p in points:
        if not out.live:
            if not p.active:
                pending = None
            else:
                if pending is None or (prev_end is not None and p.start > prev_end):
                    pending = p.start
                if (p.end - pending) >= timedelta(seconds=for_s):
                    out.transitions.append(Transition("opened", p.end, p.severity, p.level,
                                                      p.value))
                    out.live, out.severity, out.level = True, p.severity, p.level
                    out.clear_since = None
        elif p.active:
            out.clear_since = None
            if (p.severity, p.level) != (out.severity, out.level) and (
                    emit_after is None or p.end > emit_after):
                out.transitions.append(Transition("updated", p.end, p.severity, p.level,
                                                  p.value))
            out.severity, out.level = p.severity, p.level
        elif p.clear:
            out.clear_since = out.clear_since or p.start
            if (p.end - out.clear_since) >= timedelta(seconds=clear_s):
                out.transitions.append(Transition("resolved", p.end, out.severity, out.level,
                                                  p.value))
                out.live, out.clear_since, pending = False, None, None
        else:
            out.clear_since = None
        if p.value is not None:
            out.value = p.value
        prev_end = p.end
        out.checked_at = max(out.checked_at or p.end, p.end)
    return out
