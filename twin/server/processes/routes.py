"""/processes and /jobs (OGC API – Processes), served by pygeoapi through the bridge.

Before pygeoapi makes a job, the execution route checks the inputs with the process's
own :meth:`~twin.server.processes.base.TwinProcessor.validate`, so a bad input is a 400
OGC exception at once, for synchronous and asynchronous (``Prefer: respond-async``)
requests alike, instead of a job that fails later.
"""

from __future__ import annotations

import json

import pygeoapi.api.processes as processes_api
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from twin.server.errors import InvalidParameter, NotFound
from twin.server.processes.config import processor_class
from twin.server.processes.report_headers import with_report_headers


class ProcessRoutes:
    def __init__(self, bridge):
        self.bridge = bridge

    async def list_processes(self, request: Request) -> Response:
        return await self.bridge.call(processes_api.describe_processes,
                                      await self.bridge.api_request(request))

    async def process(self, request: Request) -> Response:
        return await self.bridge.call(processes_api.describe_processes,
                                      await self.bridge.api_request(request),
                                      request.path_params["process_id"])

    async def execute(self, request: Request) -> Response:
        pid = request.path_params["process_id"]
        asynchronous = "respond-async" in request.headers.get("prefer", "")
        await self.validate(pid, await request.body(), asynchronous)
        return await self.bridge.call(processes_api.execute_process,
                                      await self.bridge.api_request(request), pid)

    async def validate(self, pid: str, body: bytes, asynchronous: bool = False) -> None:
        resource = self.bridge.config["resources"].get(pid)
        cls = processor_class(pid)
        if cls is None or not resource or resource.get("type") != "process":
            raise NotFound(f"no process {pid!r}; /processes lists them")
        try:
            doc = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise InvalidParameter("the request body must be JSON: "
                                   '{"inputs": {...}}') from None
        if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), dict):
            raise InvalidParameter('the request body must be {"inputs": {...}}')
        processor = cls(resource["processor"])
        try:
            await run_in_threadpool(processor.validate, doc["inputs"], asynchronous)
        except ValueError as exc:
            raise InvalidParameter(str(exc)) from None

    async def jobs(self, request: Request) -> Response:
        return await self.bridge.call(processes_api.get_jobs,
                                      await self.bridge.api_request(request))

    async def job(self, request: Request) -> Response:
        return await self.bridge.call(processes_api.get_jobs,
                                      await self.bridge.api_request(request),
                                      request.path_params["job_id"])

    async def delete_job(self, request: Request) -> Response:
        return await self.bridge.call(processes_api.delete_job,
                                      await self.bridge.api_request(request),
                                      request.path_params["job_id"])

    async def results(self, request: Request) -> Response:
        response = await self.bridge.call(processes_api.get_job_result,
                                          await self.bridge.api_request(request),
                                          request.path_params["job_id"])
        return with_report_headers(response)


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
