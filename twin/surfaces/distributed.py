"""Surfaces for many hours on a ``dask.distributed`` cluster.

A run of at least ``TWIN_SURFACE_CLUSTER_HOURS`` hours (default 48) goes to the
cluster ``TWIN_DASK_SCHEDULER`` names (:mod:`twin.cluster`): one task per chunk of
hours (a day), the chunk's station means and the grid sent with it, the Dataset back.
Chunks are submitted a few ahead of the one being stored and taken in order, so the
caller writes the COGs of one day while the workers interpolate the next, and the
workers never hold more than a few days of grids.

Without a named cluster, or for a shorter run, nothing changes: the ingest-triggered
runs (one or a few hours) stay in process and keep their latency. The interpolation is
deterministic, so a surface is the same bit for bit wherever it was computed.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from twin.cluster import dask_client, named_scheduler

HOURS_ENV = "TWIN_SURFACE_CLUSTER_HOURS"
DEFAULT_HOURS = 48
AHEAD_PER_WORKER = 2      # chunks in flight per worker


def on_cluster(hours: int) -> bool:
    """Whether a run of ``hours`` hours goes to the cluster: one is named and the run
    is long enough."""
    return named_scheduler() is not None and \
        hours >= int(os.environ.get(HOURS_ENV, DEFAULT_HOURS))


def map_in_order(function: Callable, jobs: Iterable[tuple]) -> Iterator:
    """``function(job)`` for every job, computed on the cluster, yielded in order."""
    from distributed import wait

    with dask_client() as client:
        ahead = max(2, AHEAD_PER_WORKER * max(1, len(client.scheduler_info()["workers"])))
        pending: deque = deque()
        todo = iter(jobs)
        for job in todo:
            pending.append(client.submit(function, job, pure=False))
            if len(pending) >= ahead:
                break
        while pending:
            future = pending.popleft()
            wait(future)
            result = future.result()
            future.release()
            for job in todo:   # one more in flight for each one taken
                pending.append(client.submit(function, job, pure=False))
                break
            yield result
