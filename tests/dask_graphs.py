"""What the dask tests ask of a scheduler: how many task graphs clients submitted."""

from __future__ import annotations

from distributed.diagnostics.plugin import SchedulerPlugin


class Graphs(SchedulerPlugin):
    """Counts the task graphs clients submit to the scheduler (not task transitions:
    the tasks of an earlier test may still be moving to "forgotten" meanwhile)."""

    name = "twin-test-graphs"

    def __init__(self) -> None:
        self.count = 0

    def update_graph(self, scheduler, **kwargs) -> None:
        self.count += 1


def count_graphs(client):
    """Installs a fresh counter on ``client``'s scheduler; returns a function that
    reads it."""
    def install(dask_scheduler) -> None:
        if Graphs.name in dask_scheduler.plugins:
            dask_scheduler.remove_plugin(name=Graphs.name)
        dask_scheduler.add_plugin(Graphs())

    client.run_on_scheduler(install)

    def graphs() -> int:
        return client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.plugins[Graphs.name].count)

    return graphs
