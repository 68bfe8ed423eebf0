"""Road ways split at every node they share with another road way (or pass twice), so each
segment runs between intersections and carries its end nodes' OSM ids as ``source`` and
``target``: the network is routable as it stands (pgRouting's edge table shape).

Everything is numpy over the column-wise ways of :mod:`twin.osm.read`: a country's roads
split in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from twin.osm.read import Ways


@dataclass
class Segments:
    way: np.ndarray       # index of the segment's way in Ways
    number: np.ndarray    # 1, 2, ... along the way (as drawn, or reversed)
    source: np.ndarray    # OSM node ids of the ends
    target: np.ndarray
    geoms: np.ndarray     # shapely LineStrings, lon/lat

    def __len__(self) -> int:
        return len(self.way)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions, offset within its range) of the ranges [start, start + length)."""
    total = int(lengths.sum())
    begin = np.repeat(np.cumsum(lengths) - lengths, lengths)
    local = np.arange(total, dtype=np.int64) - begin
    return np.repeat(starts, lengths) + local, local


def usage_counts(refs: np.ndarray) -> np.ndarray:
    """For each position of ``refs``, how often its node occurs in ``refs``."""
    _, inverse, counts = np.unique(refs, return_inverse=True, return_counts=True)
    return counts[inverse]


def shared_nodes(ways: Ways, selected: np.ndarray) -> np.ndarray:
    """The node ids (sorted) that occur more than once among the ways ``selected``."""
    starts = ways.offsets[selected]
    positions, _ = _ranges(starts, ways.offsets[selected + 1] - starts)
    ids, counts = np.unique(ways.refs[positions], return_counts=True)
    return ids[counts > 1]


def split(ways: Ways, selected: np.ndarray, reverse: np.ndarray,
          shared: np.ndarray | None = None) -> Segments:
    """Split the ways ``selected`` (indices into ``ways``; ``reverse`` flags the ones drawn
    against their direction) at their intersections: the nodes in ``shared`` (sorted ids:
    :func:`shared_nodes` of the whole network, or a change file's view of it), by default
    the nodes that occur more than once among the selected ways."""
    selected = np.asarray(selected, dtype=np.int64)
    starts = ways.offsets[selected]
    lengths = ways.offsets[selected + 1] - starts
    positions, local = _ranges(starts, lengths)
    rep_len = np.repeat(lengths, lengths)
    flip = np.repeat(np.asarray(reverse, dtype=bool), lengths)
    positions = np.where(flip, positions - local + (rep_len - 1 - local), positions)
    refs = ways.refs[positions]
    if shared is None:
        at_shared = usage_counts(refs) > 1
    else:
        at = np.clip(np.searchsorted(shared, refs), 0, max(len(shared) - 1, 0))
        at_shared = (shared[at] == refs) if len(shared) else np.zeros(len(refs), dtype=bool)
    owner = np.repeat(np.arange(len(selected), dtype=np.int64), lengths)
    marks = np.flatnonzero((local == 0) | (local == rep_len - 1) | at_shared)
    same = owner[marks[:-1]] == owner[marks[1:]]
    first, last = marks[:-1][same], marks[1:][same]
    seg_owner = owner[first]
    group_start = np.r_[0, np.flatnonzero(np.diff(seg_owner)) + 1] if len(first) else \
        np.zeros(0, dtype=np.int64)
    group = np.cumsum(np.r_[False, np.diff(seg_owner) != 0]) if len(first) else group_start
    number = np.arange(len(first), dtype=np.int64) - group_start[group] + 1
    at, _ = _ranges(first, last - first + 1)
    index = np.repeat(np.arange(len(first)), last - first + 1)
    lon, lat = ways.lon[positions][at], ways.lat[positions][at]
    geoms = (shapely.linestrings(lon, lat, indices=index) if len(first)
             else np.empty(0, dtype=object))
    return Segments(selected[seg_owner], number, refs[first], refs[last], np.asarray(geoms))
