"""The server's building blocks, declared once: what the app assembly, the pygeoapi
bridge and the pygeoapi configuration each ask of them.

A building block is one package of :mod:`twin.server` whose door is ``routes.py``:

- ``routes(state) -> list[BaseRoute]``: twin's own routes (``own``), matched in the
  order of :data:`BLOCKS`, before anything pygeoapi serves (:mod:`twin.server.app`);
- ``bridge_routes(bridge) -> list[BaseRoute]``: routes that go through pygeoapi's API
  (``bridged``: EDR queries, processes and jobs, coverages), matched before the
  bridge's own routes (landing page, collections, OpenAPI;
  :mod:`twin.server.pygeoapi.bridge`);

and, for a block pygeoapi describes (``resources``), ``config.py`` with
``resources(state, source) -> dict[str, dict]``: its pygeoapi resources (and, for
processes, ``manager(state)``: the job manager that runs them;
:mod:`twin.server.pygeoapi.config`).

A block whose door module is absent is skipped, so an optional block registers itself
by existing (a package still being written has no door yet); an error inside a present
door is raised, not hidden.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Literal


@dataclass(frozen=True)
class Block:
    name: str               # the package: twin.server.<name>
    own: bool = True        # routes.py has routes(state)
    bridged: bool = False   # routes.py has bridge_routes(bridge)
    resources: bool = False  # config.py has resources(state, source)

    @property
    def package(self) -> str:
        return f"twin.server.{self.name}"


BLOCKS = (
    Block("edit"),         # write methods and OPTIONS only: GET falls through
    Block("records", resources=True),  # the catalogue and change feeds: before features
    Block("features"),
    Block("tiles"),
    Block("auth"),
    Block("readings"),     # sensor readings: HTTP batch ingest
    Block("styles"),       # /collections/{id}/styles, the QGIS project
    Block("viewer"),       # the web viewer and its local assets
    Block("metrics"),      # /metrics (Prometheus), /health and /ready
    Block("notify"),       # alert delivery: /alerts/stream (SSE), CAP, webhook listings
    Block("alerts"),       # alert rules, alerts and their acknowledgement
    Block("subscriptions"),  # subscriptions to a layer's changes (webhook, MQTT)
    Block("edr", own=False, bridged=True, resources=True),
    Block("processes", own=False, bridged=True, resources=True),
    Block("coverages", own=False, bridged=True, resources=True),
)
Part = Literal["own", "bridged", "resources"]
MODULE = {"own": "routes", "bridged": "routes", "resources": "config"}


def modules(part: Part, blocks: tuple[Block, ...] = BLOCKS) -> Iterator[ModuleType]:
    """The modules giving ``part`` of each present block, in order, imported."""
    for block in blocks:
        door = f"{block.package}.{MODULE[part]}"
        if getattr(block, part) and exists(door):
            yield importlib.import_module(door)


def exists(name: str) -> bool:
    """Whether module ``name`` exists, its parent packages included, without importing it."""
    parts = name.split(".")
    for i in range(2, len(parts) + 1):
        if importlib.util.find_spec(".".join(parts[:i])) is None:
            return False
    return True
