"""The topics of ``twin ingest mqtt``: what a message topic names, and the share name
of a group of subscribers (MQTT 5 shared subscriptions)."""

from __future__ import annotations

from twin.ingest.observations import Refused

__all__ = ["Refused", "agency_topic_target", "check_group", "filter_prefix", "topic_target"]


def check_group(name: str) -> None:
    """A share name is one non-empty topic level without wildcards (MQTT 5, 4.8.2)."""
    if not name or any(c in name for c in "/+#") or name != name.strip():
        raise ValueError(f"{name!r} is not a group name: one topic level, no '/', '+' or '#'")


def filter_prefix(topic_filter: str) -> list[str]:
    """The literal levels of a topic filter before its first wildcard."""
    levels = []
    for level in topic_filter.split("/"):
        if level in ("+", "#"):
            break
        levels.append(level)
    return levels


def topic_target(topic: str, prefixes: list[list[str]]) -> tuple[str, str | None]:
    """(station, property or None) named by a message topic; raises :class:`Refused`."""
    levels = topic.split("/")
    for prefix in prefixes:
        if levels[:len(prefix)] == prefix:
            rest = levels[len(prefix):]
            if len(rest) in (1, 2) and all(rest):
                return rest[0], rest[1] if len(rest) == 2 else None
            break
    raise Refused("the topic must be <prefix>/<station_code> or <prefix>/<station_code>/"
                  "<property>")


def agency_topic_target(topic: str, prefixes: list[list[str]]
                        ) -> tuple[str, str, str | None]:
    """(agency, station, property or None) named by an agency topic
    ``<prefix>/<agency>/<station_code>[/<property>]``; raises :class:`Refused`."""
    levels = topic.split("/")
    for prefix in prefixes:
        if levels[:len(prefix)] == prefix:
            rest = levels[len(prefix):]
            if len(rest) in (2, 3) and all(rest):
                return rest[0], rest[1], rest[2] if len(rest) == 3 else None
            break
    raise Refused("the topic must be <prefix>/<agency>/<station_code> or <prefix>/<agency>/"
                  "<station_code>/<property>")
