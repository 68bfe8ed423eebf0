"""Surfaces for many hours on a dask.distributed cluster (issue 20, point 4): a long
run goes to the cluster ``TWIN_DASK_SCHEDULER`` names, one task per day of hours, and
gives the same surfaces bit for bit as in process; a short run (the ingest-triggered
path) never touches the cluster; the COGs and catalogue rows of a run on the cluster are
stored in the caller's transaction as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
import rasterio

from tests.dask_graphs import count_graphs
from twin.flood.distributed import dask_client
from twin.surfaces.build import compute, store
from twin.surfaces.request import SurfaceRequest
from twin.surfaces.run import driver_connection, request_means, request_region

START = datetime(2026, 9, 30, 17, tzinfo=UTC)    # the demo city's readings: two days
HOURS = 48                                         # two chunks of 24 hours


@pytest.fixture(scope="module")
def client():
    with dask_client(n_workers=2, processes=True, memory_limit="1GiB") as c:
        yield c


@pytest.fixture(scope="module")
def inputs(city_engine):
    request = SurfaceRequest(pollutant="pm25", start=START, end=START + timedelta(hours=HOURS))
    with driver_connection(city_engine) as conn:
        return request, request_means(conn, request), request_region(conn, request)


def surfaces(inputs) -> list:
    request, means, region = inputs
    return list(compute(means, region, request.params()))


def equal(x, y) -> bool:
    """x == y, and NaN equals NaN (a cross-validation measure a method does not have)."""
    both_nan = isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y)
    return both_nan or x == y


def differences(a, b) -> list[str]:
    """What differs between two hours' results (empty: the same bits)."""
    if a is None or b is None:
        return [] if a is b else ["one hour has no surface"]
    out = [f"{a.hour}: {name}" for name in sorted(set(a.data.attrs) | set(b.data.attrs))
           if not equal(a.data.attrs.get(name), b.data.attrs.get(name))]
    if not np.array_equal(a.data.values, b.data.values, equal_nan=True):
        out.append(f"{a.hour}: values, at most "
                   f"{np.nanmax(np.abs(a.data.values - b.data.values))} apart")
    return out + ([f"{a.hour}: hour or stations"]
                  if (a.hour, a.stations) != (b.hour, b.stations) else [])


def test_a_long_run_goes_to_the_cluster_with_the_same_bits(inputs, client, monkeypatch):
    _request, means, _region = inputs
    assert len(means.hours) == HOURS, "the demo city has readings for these hours"
    here = surfaces(inputs)
    graphs = count_graphs(client)
    monkeypatch.setenv("TWIN_DASK_SCHEDULER", client.scheduler.address)
    monkeypatch.setenv("TWIN_SURFACE_CLUSTER_HOURS", "48")
    there = surfaces(inputs)
    assert graphs() == 2                       # one task per chunk of 24 hours
    assert len(here) == len(there) == len(means.hours)
    assert sum(s is not None for s in there) > 40
    assert [d for a, b in zip(here, there, strict=True) for d in differences(a, b)] == []


def test_a_short_run_stays_in_process(inputs, client, monkeypatch):
    request, means, region = inputs
    graphs = count_graphs(client)
    monkeypatch.setenv("TWIN_DASK_SCHEDULER", client.scheduler.address)
    monkeypatch.setenv("TWIN_SURFACE_CLUSTER_HOURS", str(len(means.hours) + 1))
    assert sum(s is not None for s in compute(means, region, request.params())) > 40
    assert graphs() == 0


def test_stored_from_the_cluster_in_the_callers_transaction(inputs, client, monkeypatch,
                                                            city_url, tmp_path):
    request, means, region = inputs
    monkeypatch.setenv("TWIN_DASK_SCHEDULER", client.scheduler.address)
    monkeypatch.setenv("TWIN_SURFACE_CLUSTER_HOURS", "48")
    libpq = city_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        with conn.transaction(force_rollback=True):     # nothing stays in the test city
            summary = store(conn, means, region, request.params(), tmp_path,
                            scenario="dask-test")
            paths = [r[0] for r in conn.execute(
                "SELECT path FROM rasters WHERE scenario = 'dask-test' ORDER BY valid_time")]
        assert len(paths) == len(summary.ids) > 40
        assert conn.execute("SELECT count(*) FROM rasters WHERE scenario = 'dask-test'"
                            ).fetchone()[0] == 0
    with rasterio.open(paths[0]) as src:
        assert src.crs.to_epsg() == 3405 and np.isfinite(src.read(1, masked=True)).any()
