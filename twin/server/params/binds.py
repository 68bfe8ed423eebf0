"""The SQL bind-parameter collector every statement builder shares (items, counts,
CQL2 filters, tiles' time filter through the Features parser)."""

from __future__ import annotations

from psycopg import sql


class Params(dict):
    """Bound values collected while SQL is composed, by name (so a fragment may be reused)."""

    def add(self, value) -> sql.Placeholder:
        name = f"p{len(self)}"
        self[name] = value
        return sql.Placeholder(name)
