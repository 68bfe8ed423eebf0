"""The raster catalogue's writes on a psycopg connection.

``twin.rasters.catalogue.store_surface`` writes its row with SQLAlchemy's
``Connection.execute(text(...), params)``. Surfaces are made where a psycopg
connection is what is at hand (the server's pools, the MQTT subscriber, a CLI
transaction's driver connection), so this object offers that one method: the statement
is compiled by SQLAlchemy's own psycopg dialect (``:name`` -> ``%(name)s``) and run on
the connection, inside whatever transaction it has open.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy.dialects.postgresql.psycopg import dialect as _psycopg_dialect
from sqlalchemy.sql.elements import TextClause

_DIALECT = _psycopg_dialect()


class PsycopgCatalogue:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def execute(self, clause: TextClause, params: dict[str, Any] | None = None
                ) -> psycopg.Cursor:
        return self.conn.execute(str(clause.compile(dialect=_DIALECT)), params)
