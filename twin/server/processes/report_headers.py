"""Headers of a job result that is a twin HTML map report: its Content-Security-Policy
(:func:`twin.reports.csp.header_policy`: the page's own inline scripts and stylesheets
only, no remote origin, framed only by twin's own pages)."""

from __future__ import annotations

from starlette.responses import Response

from twin.reports.csp import header_policy


def with_report_headers(response: Response) -> Response:
    """``response``, with the report's Content-Security-Policy when it is an HTML report;
    any other response is returned as it is."""
    media = response.headers.get("content-type", "")
    if response.status_code == 200 and media.startswith("text/html"):
        policy = header_policy(bytes(response.body))
        if policy:
            response.headers["Content-Security-Policy"] = policy
    return response
