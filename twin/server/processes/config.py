"""pygeoapi ``process`` resources for every process module of this package, and the
job manager that runs them.

A module of :mod:`twin.server.processes` is a process when it has ``PROCESS_METADATA``
and a ``Processor`` class; it is found by existing (no central list to edit).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from twin.datadir import private_folder
from twin.server.processes.access import ProcessAccess
from twin.server.state import ServerState

PACKAGE = "twin.server.processes"
JOBS_DIR = "jobs"
NOT_PROCESSES = {"access", "base", "config", "ledger", "manager", "routes"}


def process_modules() -> list[ModuleType]:
    """The process modules of this package, in name order."""
    package = importlib.import_module(PACKAGE)
    out = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name in NOT_PROCESSES:
            continue
        module = importlib.import_module(f"{PACKAGE}.{info.name}")
        if hasattr(module, "PROCESS_METADATA") and hasattr(module, "Processor"):
            if not isinstance(getattr(module.Processor, "access", None), ProcessAccess):
                raise TypeError(f"{module.__name__}: a process declares who may run it "
                                "(Processor.access = ProcessAccess(...))")
            out.append(module)
    return out


def resources(state: ServerState, source: str) -> dict[str, dict]:
    """One pygeoapi ``process`` resource per process module, bound to ``source`` (the
    key of the bridge's database registration, never a DSN)."""
    return {m.PROCESS_METADATA["id"]: {
        "type": "process",
        "processor": {"name": f"{m.__name__}.Processor", "source": source,
                      "raster_dir": str(state.settings.raster_dir),
                      "timezone": state.settings.city.timezone,  # dates are local days
                      "language": state.settings.city.language,  # reports' default
                      "city_names": {lang: state.settings.city.title(lang)
                                     for lang in state.settings.city.languages},
                      "base_url": state.base_url},
    } for m in process_modules()}


def manager(state: ServerState) -> dict:
    """pygeoapi's TinyDB job manager in ``<data_dir>/jobs``: job records in one JSON
    file under a file lock (shared by every worker on the host) and results beside it.
    pygeoapi's PostgreSQL manager needs psycopg2 and a DSN in the configuration (which
    pygeoapi hands to its HTML templates), and creates its own table outside the
    migrations; none of that suits twin, so jobs stay on the host that ran them."""
    folder = private_folder(state.settings.data_dir / JOBS_DIR)  # 0700: job results
    return {"name": "twin.server.processes.manager.OwnedJobsManager",
            "connection": str(folder / "jobs.tinydb.json"), "output_dir": str(folder)}


def processor_class(process_id: str):
    """The Processor class of ``process_id``, or None."""
    for module in process_modules():
        if module.PROCESS_METADATA["id"] == process_id:
            return module.Processor
    return None
