"""The base of twin's processors: database access through the bridge's registered
source (never a DSN in the configuration), inputs checked before any job exists, and
errors that never carry internal text to the client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from psycopg import Connection
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from twin.server.provider import get_source

log = logging.getLogger("twin.server")


class TwinProcessor(BaseProcessor):
    """Subclasses set ``metadata`` (their module's PROCESS_METADATA) and implement
    :meth:`check` (inputs → parsed inputs, or ValueError naming what is wrong) and
    :meth:`run` (parsed inputs, a connection → media type and content)."""

    metadata: ClassVar[dict[str, Any]]

    def __init__(self, processor_def: dict):
        super().__init__(processor_def, self.metadata)
        self.source = get_source(processor_def["source"])

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        with self.source.pool().connection() as conn:
            yield conn

    def check(self, inputs: dict, conn: Connection) -> Any:
        raise NotImplementedError

    def run(self, parsed: Any, conn: Connection) -> tuple[str, bytes | dict]:
        raise NotImplementedError

    def validate(self, inputs: dict, asynchronous: bool = False) -> None:
        """Check the inputs (the route calls this before pygeoapi makes a job); a
        ValueError's message is safe to show the client."""
        with self.connection() as conn:
            parsed = self.check(inputs, conn)
        self.check_mode(parsed, asynchronous)

    def check_mode(self, parsed: Any, asynchronous: bool) -> None:
        """Refuse (ValueError) a request too large to run synchronously; by default every
        request may run either way."""

    def execute(self, data: dict, outputs: dict | None = None) -> tuple[str, Any]:
        """Check, then run. Only :meth:`check`'s ValueErrors reach the client as they
        are; anything else is logged and reported without internal detail."""
        with self.connection() as conn:
            try:
                parsed = self.check(data, conn)
            except ValueError as exc:
                raise ProcessorExecuteError(str(exc)) from None
            try:
                return self.run(parsed, conn)
            except Exception:
                log.exception("process %s failed", self.metadata["id"])
                raise ProcessorExecuteError(f"{self.metadata['id']} failed; the error has "
                                            "been logged") from None
