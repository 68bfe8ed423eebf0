"""pygeoapi's TinyDB job manager, listing only the jobs the caller may see.

The jobs route puts the ids a caller may list into :data:`VISIBLE` (None: every job,
for an admin) before it calls pygeoapi's ``get_jobs``, which runs in a worker thread
with a copy of the request's context; this manager filters and pages by it, so
``numberMatched`` and the paging links count the caller's own jobs only.
"""

from __future__ import annotations

from contextvars import ContextVar

from pygeoapi.process.manager.tinydb_ import TinyDBManager

VISIBLE: ContextVar[frozenset[str] | set[str] | None] = ContextVar(
    "twin_visible_jobs", default=frozenset())


class OwnedJobsManager(TinyDBManager):
    def get_jobs(self, status=None, limit=None, offset=None) -> dict:
        everything = super().get_jobs(status=status)
        visible = VISIBLE.get()
        jobs = everything["jobs"] if visible is None else \
            [j for j in everything["jobs"] if j.get("identifier") in visible]
        jobs = sorted(jobs, key=lambda j: j.get("started") or "", reverse=True)
        matched = len(jobs)
        if offset:
            jobs = jobs[offset:]
        if limit:
            jobs = jobs[:limit]
        return {"jobs": jobs, "numberMatched": matched}
