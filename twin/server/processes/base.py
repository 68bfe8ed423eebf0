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

from twin.errors import TwinInputError
from twin.server.auth.principal import ANONYMOUS, Principal
from twin.server.processes import ledger
from twin.server.processes.access import ProcessAccess
from twin.server.pygeoapi.provider import get_source

log = logging.getLogger("twin.server")

# The input the execution route adds to every admitted request: the ledger ticket that
# says who the caller is (a client's own value is always overwritten).
TICKET = "_twin_ticket"


def process_input(title: str, description: str, schema: dict,
                  required: bool = False) -> dict:
    """One input of a process description (OGC API – Processes ``inputDescription``)."""
    return {"title": title, "description": description, "schema": schema,
            "minOccurs": 1 if required else 0, "maxOccurs": 1}


class TwinProcessor(BaseProcessor):
    """Subclasses set ``metadata`` (their module's PROCESS_METADATA) and implement
    :meth:`check` (inputs → parsed inputs, or TwinInputError naming what is wrong) and
    :meth:`run` (parsed inputs, a connection → media type and content)."""

    metadata: ClassVar[dict[str, Any]]
    access: ClassVar[ProcessAccess]

    def __init__(self, processor_def: dict):
        metadata = {**self.metadata, "twin:access": self.access.describe()}
        super().__init__(processor_def, metadata)
        self.source = get_source(processor_def["source"])
        self.timezone: str = processor_def.get("timezone", "UTC")  # the city's zone
        self.caller: Principal = ANONYMOUS
        self.job_id: str | None = None

    def set_job_id(self, job_id: str) -> None:
        super().set_job_id(job_id)
        self.job_id = job_id

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        with self.source.pool().connection() as conn:
            yield conn

    def check(self, inputs: dict, conn: Connection) -> Any:
        raise NotImplementedError

    def run(self, parsed: Any, conn: Connection) -> tuple[str, bytes | dict]:
        raise NotImplementedError

    def validate(self, inputs: dict, asynchronous: bool = False,
                 caller: Principal = ANONYMOUS) -> None:
        """Check the inputs of ``caller`` (the route calls this before pygeoapi makes a
        job); a TwinInputError's message is safe to show the client, any other error
        is not (the route lets it become a logged 500)."""
        self.caller = caller
        with self.connection() as conn:
            parsed = self.check(inputs, conn)
        self.check_mode(parsed, asynchronous)

    def check_mode(self, parsed: Any, asynchronous: bool) -> None:
        """Refuse (TwinInputError) a request too large to run synchronously; by default every
        request may run either way."""

    def execute(self, data: dict, outputs: dict | None = None) -> tuple[str, Any]:
        """Bind the caller the route admitted, check, then run. Only :meth:`check`'s
        TwinInputErrors reach the client as they are; anything else is logged and
        reported without internal detail."""
        ticket = data.pop(TICKET, None) if isinstance(data, dict) else None
        with self.connection() as conn:
            self.caller = self._admitted(conn, ticket)
            status = "failed"
            try:
                result = self._checked_run(data, conn)
                status = "successful"
                return result
            finally:
                ledger.finish(conn, ticket, status)

    def _admitted(self, conn: Connection, ticket: str | None) -> Principal:
        row = ledger.bind(conn, ticket, self.job_id) if ticket else None
        if row is None:  # only the execution route makes jobs, and it always admits
            raise ProcessorExecuteError("this execution was not admitted by the server")
        subject, agency, roles, method, _client = row
        return Principal(subject=subject, agency=agency, roles=frozenset(roles), method=method)

    def _checked_run(self, data: dict, conn: Connection) -> tuple[str, Any]:
        try:
            parsed = self.check(data, conn)
        except TwinInputError as exc:
            raise ProcessorExecuteError(str(exc)) from None
        except Exception:
            raise self._failed("check") from None
        try:
            return self.run(parsed, conn)
        except Exception:
            raise self._failed("run") from None

    def _failed(self, step: str) -> ProcessorExecuteError:
        """Log the error being handled; the client is told only that it was logged."""
        log.exception("process %s failed (%s)", self.metadata["id"], step)
        return ProcessorExecuteError(f"{self.metadata['id']} failed; the error has been "
                                     "logged")
