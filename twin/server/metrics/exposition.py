"""The Prometheus text exposition format (version 0.0.4), written out: a handful of
metric families needs no client library and no process-global registry."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = dict[str, str]


@dataclass
class Family:
    """One metric family: its samples are (name suffix, labels, value)."""
    name: str
    kind: str  # counter | gauge | histogram
    help: str
    samples: list[tuple[str, Labels, float]] = field(default_factory=list)

    def add(self, value: float, labels: Labels | None = None, suffix: str = "") -> None:
        self.samples.append((suffix, labels or {}, value))

    def add_histogram(self, labels: Labels, buckets: tuple[float, ...], counts: list[float],
                      total: float) -> None:
        """``counts``: per-bucket (not cumulative) counts, the last one above every bound."""
        running = 0.0
        for bound, count in zip((*buckets, math.inf), counts, strict=True):
            running += count
            self.add(running, {**labels, "le": format_value(bound)}, "_bucket")
        self.add(total, labels, "_sum")
        self.add(running, labels, "_count")


def format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


def render(families: list[Family]) -> str:
    """The exposition text; families without samples are left out."""
    lines = []
    for family in families:
        if not family.samples:
            continue
        lines.append(f"# HELP {family.name} {_escape(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for suffix, labels, value in family.samples:
            lines.append(f"{family.name}{suffix}{_labels(labels)} {format_value(value)}")
    return "\n".join(lines) + "\n"
