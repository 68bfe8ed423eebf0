"""The Content-Security-Policy of an HTML report, in the page itself and as a header.

The report is one self-contained page: inline Leaflet, folium's map scripts, inline
stylesheets and ``data:`` images, nothing fetched. Its policy therefore allows exactly
the inline ``<script>`` and ``<style>`` elements the page was rendered with, by their
SHA-256 hashes, and nothing else: no remote origin, no other inline script, no inline
event handler (an ``onerror=`` that slipped into the page would not run), no
``style=`` attribute, no plugin, no ``<base>``, no form target.

:func:`embed` writes the policy into the page's ``<meta http-equiv>`` so that a saved
file is protected too. ``frame-ancestors`` is not allowed in a ``<meta>``; the server
adds it when it serves a report (:func:`header_policy`).
"""

from __future__ import annotations

import base64
import hashlib
import re

PLACEHOLDER = "twin-report-content-security-policy"
META = f'<meta http-equiv="Content-Security-Policy" content="{PLACEHOLDER}">'
GENERATOR = b'<meta name="generator" content="twin">'
FRAMING = "frame-ancestors 'self'"
FIXED = ("img-src data:", "object-src 'none'", "base-uri 'none'", "form-action 'none'")
# A report written before its page carried a policy: shown without any script.
NO_SCRIPT = "; ".join(("default-src 'none'", "script-src 'none'", "style-src 'unsafe-inline'",
                       *FIXED))

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)
_META = re.compile(rb'<meta http-equiv="Content-Security-Policy" content="([^"<>]*)">')


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def policy(page: str) -> str:
    """The policy that allows the page's own inline scripts and stylesheets only."""
    found: dict[str, list[str]] = {"script": [], "style": []}
    for tag, source in _INLINE.findall(page):
        found[tag].append(_hash(source))
    return "; ".join(("default-src 'none'",
                      "script-src " + (" ".join(found["script"]) or "'none'"),
                      "style-src " + (" ".join(found["style"]) or "'none'"), *FIXED))


def embed(page: str) -> str:
    """The rendered page (carrying :data:`META` in its head) with its policy filled in.
    Line ends become LF first, as a browser reads them, so the hashes match."""
    page = page.replace("\r\n", "\n").replace("\r", "\n")
    return page.replace(PLACEHOLDER, policy(page), 1)


def header_policy(body: bytes) -> str | None:
    """The Content-Security-Policy header for an HTML body: a twin report's own policy
    (or, for a report saved before reports carried one, no script at all) with
    ``frame-ancestors``; None for a page that is not a twin report."""
    head = body[:4096].split(b"<title", 1)[0]
    if GENERATOR not in head:
        return None
    found = _META.search(head)
    base = found.group(1).decode("ascii", "replace") if found else NO_SCRIPT
    return f"{base}; {FRAMING}"
