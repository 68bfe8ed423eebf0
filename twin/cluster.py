"""The ``dask.distributed`` cluster that long analyses may run on.

``TWIN_DASK_SCHEDULER`` (``tcp://host:8786``) names a running cluster: every worker
needs twin installed, at the same version. Unset, a job that wants a cluster starts a
``LocalCluster`` for itself and closes it after. Which jobs go to the cluster, and from
what size, is each job's own rule (:mod:`twin.flood.distributed`,
:mod:`twin.surfaces.distributed`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SCHEDULER_ENV = "TWIN_DASK_SCHEDULER"


def named_scheduler() -> str | None:
    """The address ``TWIN_DASK_SCHEDULER`` names, or None."""
    return os.environ.get(SCHEDULER_ENV) or None


_clients: dict[str, object] = {}
_lock = threading.Lock()


def _shared(address: str):
    """This process's client of the cluster at ``address``, made on first use and kept
    (a client per call costs a connection handshake, and a closing client cancels the
    tasks another one shares with it)."""
    from distributed import Client

    with _lock:
        client = _clients.get(address)
        if client is None or client.status not in ("running", "connecting"):
            client = _clients[address] = Client(address, set_as_default=False)
        return client


@contextmanager
def dask_client(address: str | None = None, **local) -> Iterator:
    """A client of ``address``, of ``TWIN_DASK_SCHEDULER`` (kept for the process's
    life), or of a new ``LocalCluster`` closed after (``local``: its options, e.g.
    ``n_workers``, ``processes``, ``memory_limit``)."""
    from distributed import Client, LocalCluster

    address = address or named_scheduler()
    if address:
        yield _shared(address)
        return
    local.setdefault("threads_per_worker", 1)
    local.setdefault("dashboard_address", ":0")
    with LocalCluster(**local) as cluster, Client(cluster) as client:
        yield client
