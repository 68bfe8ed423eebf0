"""SQLAlchemy engines with the session settings twin relies on."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event


def make_engine(url: str, *, pool_size: int = 5, statement_timeout_ms: int = 0,
                application_name: str = "twin") -> Engine:
    """An engine on psycopg 3. JIT is turned off per connection: it adds 50-300 ms to
    tile and aggregation queries and never pays back on requests of this size."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    options = "-c jit=off"
    if statement_timeout_ms:
        options += f" -c statement_timeout={int(statement_timeout_ms)}"
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
        connect_args={"options": options, "application_name": application_name},
    )
    event.listen(engine, "connect", _utc_session)
    return engine


def _utc_session(dbapi_connection, _record) -> None:
    with dbapi_connection.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()
