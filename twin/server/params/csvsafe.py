"""CSV cells a spreadsheet will not run: the one rule every CSV twin writes follows.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read as a formula by Excel, LibreOffice and Google Sheets when an official opens the
file (CSV or formula injection). Such a cell is written with a single quote in front
(OWASP's advice), which those programs show as text. Only text is touched: a number
(an ``int``, ``float`` or ``Decimal`` in Python, a numeric column in SQL) is written as
it is, so ``-3.5`` stays a number.

Writers in Python call :func:`text_cell`; writers whose CSV PostgreSQL makes (``COPY
... (FORMAT csv)``) wrap each text column in :func:`sql_text`, the same rule in SQL.
"""

from __future__ import annotations

from psycopg import sql

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"


def text_cell(value: str) -> str:
    """``value`` with a single quote in front when a spreadsheet would run it."""
    return PREFIX + value if value.startswith(TRIGGERS) else value


def sql_text(column: sql.Composable) -> sql.Composable:
    """The SQL expression of a text column (or expression) neutralised as
    :func:`text_cell` does; NULL stays NULL."""
    triggers = sql.SQL(", ").join(sql.Literal(c) for c in TRIGGERS)
    return sql.SQL("CASE WHEN left({c}, 1) IN ({t}) THEN {p} || {c} ELSE {c} END").format(
        c=column, t=triggers, p=sql.Literal(PREFIX))
