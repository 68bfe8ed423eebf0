"""Feature ids are path segments as they are: clients (OWSLib, QGIS, GDAL) build
``/collections/{c}/items/{id}`` from an id without percent-encoding it, so an id must
not hold ``/``, ``?``, ``#``, ``%`` or whitespace. Loaders refuse such ids; view layers
build theirs with ``~`` and ``:`` (layers/station_aqi.yaml)."""

from __future__ import annotations

import re

UNSAFE = re.compile(r"[/?#%\s]")
RULE = "a feature id may not contain '/', '?', '#', '%' or whitespace"


def unsafe_id(value: str) -> bool:
    """Does ``value`` hold a character a client cannot put in a URL path as it is?"""
    return UNSAFE.search(value) is not None
