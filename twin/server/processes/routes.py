"""/processes and /jobs (OGC API – Processes), served by pygeoapi through the bridge,
guarded by twin.

Execution: the caller must hold a role the process's ``access`` declaration names
(401/403 otherwise, :mod:`twin.server.processes.access`); the inputs are checked with
the process's own :meth:`~twin.server.processes.base.TwinProcessor.validate`, so a bad
input is a 400 at once, for synchronous and asynchronous (``Prefer: respond-async``)
requests alike; then the ledger admits the execution under the per-caller limits (429)
and pygeoapi makes the job, with the ledger's ticket among the inputs.

Jobs belong to their caller: ``/jobs`` lists the caller's own (an admin's lists all);
a job's status and results are read by its owner, an admin, or anyone when the process
is public; dismissing a job needs its owner or an admin.
"""

from __future__ import annotations

import json
import logging

import psycopg
import pygeoapi.api.processes as processes_api
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from twin.errors import TwinInputError
from twin.server.auth.principal import Principal, principal_of
from twin.server.db import translate
from twin.server.errors import (
    APIError,
    AuthenticationRequired,
    Forbidden,
    InvalidParameter,
    NotFound,
    ServerError,
)
from twin.server.processes import ledger
from twin.server.processes.access import PublishForbidden, check_execute
from twin.server.processes.base import TICKET
from twin.server.processes.config import processor_class
from twin.server.processes.manager import VISIBLE
from twin.server.processes.report_headers import with_report_headers

log = logging.getLogger("twin.server")


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


class ProcessRoutes:
    def __init__(self, bridge):
        self.bridge = bridge
        self.db = bridge.state.db

    async def list_processes(self, request: Request) -> Response:
        return await self.bridge.call(processes_api.describe_processes,
                                      await self.bridge.api_request(request))

    async def process(self, request: Request) -> Response:
        return await self.bridge.call(processes_api.describe_processes,
                                      await self.bridge.api_request(request),
                                      request.path_params["process_id"])

    async def execute(self, request: Request) -> Response:
        pid = request.path_params["process_id"]
        cls, resource = self.process_of(pid)
        who, client = principal_of(request), client_of(request)
        check_execute(cls.access, who, pid)
        asynchronous = ("respond-async" in request.headers.get("prefer", "")
                        or "sync-execute" not in cls.metadata.get("jobControlOptions", []))
        doc = parse_body(await request.body())
        await self.validate(cls, resource, doc["inputs"], asynchronous, who)
        ticket = await ledger.admit(self.db, pid, who, client, asynchronous,
                                    cls.access.public)
        doc["inputs"][TICKET] = ticket
        req = await self.bridge.api_request(request)
        req._data = json.dumps(doc).encode()
        status = 500
        try:
            headers, status, content = await self.bridge.invoke(
                processes_api.execute_process, req, pid)
        finally:
            if status >= 400:  # no job ran: the execution no longer counts
                await ledger.finish_async(self.db, ticket, "failed")
        location = next((v for k, v in headers.items() if k.lower() == "location"), None)
        if status == 201 and location:
            await ledger.bind_async(self.db, ticket, location.rstrip("/").rsplit("/", 1)[-1])
        return self.bridge.respond(headers, status, content)

    def process_of(self, pid: str):
        resource = self.bridge.config["resources"].get(pid)
        cls = processor_class(pid)
        if cls is None or not resource or resource.get("type") != "process":
            raise NotFound(f"no process {pid!r}; /processes lists them")
        return cls, resource

    async def validate(self, cls, resource: dict, inputs: dict, asynchronous: bool,
                       who: Principal) -> None:
        inputs.pop(TICKET, None)
        processor = cls(resource["processor"])
        try:
            await run_in_threadpool(processor.validate, inputs, asynchronous, who)
        except APIError:
            raise
        except PublishForbidden as exc:
            raise Forbidden(str(exc)) from None
        except TwinInputError as exc:  # safe words; any other error is a logged 500
            raise InvalidParameter(str(exc)) from None
        except Exception as exc:  # never internal text, never a dropped connection
            translated = translate(exc) if isinstance(exc, psycopg.Error) else exc
            if isinstance(translated, APIError):
                raise translated from None
            log.exception("process %s: checking the inputs failed", cls.metadata["id"])
            raise ServerError() from None

    async def jobs(self, request: Request) -> Response:
        visible = await ledger.visible_jobs(self.db, principal_of(request),
                                            client_of(request))
        token = VISIBLE.set(visible)
        try:
            return await self.bridge.call(processes_api.get_jobs,
                                          await self.bridge.api_request(request))
        finally:
            VISIBLE.reset(token)

    async def job(self, request: Request) -> Response:
        job_id = await self.readable(request)
        return await self.bridge.call(processes_api.get_jobs,
                                      await self.bridge.api_request(request), job_id)

    async def delete_job(self, request: Request) -> Response:
        job_id = await self.owned(request, readable=False)
        return await self.bridge.call(processes_api.delete_job,
                                      await self.bridge.api_request(request), job_id)

    async def results(self, request: Request) -> Response:
        job_id = await self.readable(request)
        response = await self.bridge.call(processes_api.get_job_result,
                                          await self.bridge.api_request(request), job_id)
        return with_report_headers(response)

    async def readable(self, request: Request) -> str:
        return await self.owned(request, readable=True)

    async def owned(self, request: Request, readable: bool) -> str:
        """The job id when the caller may read (or dismiss) it; 404 for a job the
        ledger does not know (unless admin), 401/403 for someone else's."""
        job_id = request.path_params["job_id"]
        who, client = principal_of(request), client_of(request)
        owner = await ledger.owner_of(self.db, job_id)
        if ledger.owns(owner, who, client) or (readable and owner and owner.public):
            return job_id
        if owner is None:
            raise NotFound(f"no job {job_id!r}")
        action = "read" if readable else "dismiss"
        if not who.authenticated:
            raise AuthenticationRequired(f"only the owner of job {job_id!r} or an admin may "
                                         f"{action} it; sign in")
        raise Forbidden(f"job {job_id!r} belongs to another caller; only its owner or an "
                        f"admin may {action} it")


def parse_body(body: bytes) -> dict:
    try:
        doc = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("the request body must be JSON: "
                               '{"inputs": {...}}') from None
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), dict):
        raise InvalidParameter('the request body must be {"inputs": {...}}')
    return doc


def bridge_routes(bridge) -> list[BaseRoute]:
    if not bridge.processes:
        return []
    r = ProcessRoutes(bridge)
    return [Route("/processes", r.list_processes),
            Route("/processes/{process_id}", r.process),
            Route("/processes/{process_id}/execution", r.execute, methods=["POST"]),
            Route("/jobs", r.jobs),
            Route("/jobs/{job_id}", r.job),
            Route("/jobs/{job_id}", r.delete_job, methods=["DELETE"]),
            Route("/jobs/{job_id}/results", r.results)]
