"""Reading a remote OGC API – Features collection: its items page by page, and, from
another twin, its change feed (``/collections/{id}/changes``).

Every answer is checked before it is used: a status other than 200, a body that is not a
GeoJSON FeatureCollection, a feature without an id, a ``next`` link that leaves the
server or a connection that breaks raise :class:`RemoteError`, which names the URL and
what went wrong, so that a run stops before it writes anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from twin.errors import TwinInputError

USER_AGENT = "twin-harvest/1"
PAGE = 10_000  # features a page (twin serves up to 10,000)


class RemoteError(TwinInputError):
    """The remote server is down, too slow, or answered something that is not a page."""


class FeedGone(RemoteError):
    """The remote twin pruned the changes after our cursor (410 Gone): only a full copy
    makes the mirror exact again."""


@dataclass
class Page:
    features: list[dict] = field(default_factory=list)
    next: str | None = None
    cursor: str | None = None   # change feeds only


class Remote:
    """One remote collection: ``base`` (the landing page URL) and ``collection``."""

    def __init__(self, base: str, collection: str, *, timeout_s: float = 30.0,
                 headers: dict[str, str] | None = None, client: httpx.Client | None = None,
                 page_size: int = PAGE):
        self.base = base.rstrip("/")
        self.page_size = page_size
        self.collection = collection
        self.client = client or httpx.Client(
            timeout=timeout_s, follow_redirects=True,
            headers={"User-Agent": USER_AGENT, "Accept": "application/geo+json, "
                     "application/json;q=0.9", **(headers or {})})

    def close(self) -> None:
        self.client.close()

    @property
    def items_url(self) -> str:
        return f"{self.base}/collections/{self.collection}/items"

    @property
    def changes_url(self) -> str:
        return f"{self.base}/collections/{self.collection}/changes"

    def _get(self, url: str, params: dict | None = None) -> httpx.Response:
        try:
            try:
                return self.client.get(url, params=params)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                # a kept-alive connection the server closed (uvicorn does after a 500
                # it did not handle): a GET is safe to send once more, on a new one
                return self.client.get(url, params=params)
        except httpx.TimeoutException:
            raise RemoteError(f"{url}: no answer in time") from None
        except httpx.HTTPError as exc:
            raise RemoteError(f"{url}: {type(exc).__name__}: the server is unreachable "
                              "or closed the connection") from None

    def page(self, url: str, params: dict | None = None) -> Page:
        """One page of features (items or changes), checked."""
        response = self._get(url, params)
        if response.status_code == 410:
            raise FeedGone(f"{url}: answered HTTP 410: the changes after the stored cursor "
                           "were pruned")
        if response.status_code != 200:
            raise RemoteError(f"{url}: answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise RemoteError(f"{url}: the page is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("features"), list):
            raise RemoteError(f"{url}: the page is not a GeoJSON FeatureCollection")
        for n, feature in enumerate(body["features"]):
            if not isinstance(feature, dict) or feature.get("id") in (None, ""):
                raise RemoteError(f"{url}: feature {n} of the page has no id")
        return Page(body["features"], self._next(url, body), body.get("cursor"))

    def _next(self, url: str, body: dict) -> str | None:
        links = body.get("links") if isinstance(body.get("links"), list) else []
        href = next((link.get("href") for link in links if isinstance(link, dict)
                     and link.get("rel") == "next"), None)
        if href and urlsplit(href).netloc not in ("", urlsplit(self.base).netloc):
            raise RemoteError(f"{url}: its next link leaves the server ({href[:80]})")
        return href

    def items(self, params: dict | None = None) -> Iterator[list[dict]]:
        """Every feature of the collection (or those ``params`` select, e.g. ``datetime``),
        page by page, following ``next`` links."""
        page = self.page(self.items_url, {"limit": self.page_size, **(params or {})})
        yield page.features
        seen = set()
        while page.next and page.next not in seen:
            seen.add(page.next)
            page = self.page(page.next)
            yield page.features

    def document(self, url: str) -> dict | None:
        """A JSON document the remote may not offer (``/queryables``, ``/conformance``):
        None when it answers 404 or something that is not a JSON object."""
        response = self._get(url, {"f": "json"})
        if response.status_code in (400, 404, 405, 406, 501):
            return None
        if response.status_code != 200:
            raise RemoteError(f"{url}: answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def queryables(self) -> dict[str, dict]:
        """The collection's queryables (name: JSON schema), {} when it declares none."""
        body = self.document(f"{self.base}/collections/{self.collection}/queryables") or {}
        props = body.get("properties")
        return {k: v for k, v in props.items() if isinstance(v, dict)} if isinstance(
            props, dict) else {}

    def conformance(self) -> list[str]:
        """The conformance classes the remote declares."""
        body = self.document(f"{self.base}/conformance") or {}
        found = body.get("conformsTo")
        return [c for c in found if isinstance(c, str)] if isinstance(found, list) else []

    def feed_position(self) -> str | None:
        """The change feed's cursor now (None: the remote has no change feed, not a
        twin). Read before a copy of the items: replaying from it after the copy misses
        nothing (a change is put again at worst)."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        try:
            response = self.client.get(self.changes_url, params={"since": now, "limit": 1})
        except httpx.HTTPError as exc:
            raise RemoteError(f"{self.changes_url}: {type(exc).__name__}: the server is "
                              "unreachable or closed the connection") from None
        if response.status_code in (400, 404, 405, 501):
            return None
        if response.status_code != 200:
            raise RemoteError(f"{self.changes_url}: answered HTTP {response.status_code}")
        try:
            cursor = response.json().get("cursor")
        except (ValueError, AttributeError):
            return None
        return cursor if isinstance(cursor, str) and cursor else None

    def changes(self, cursor: str) -> Iterator[Page]:
        """The change feed's pages after ``cursor``; each carries the cursor after it."""
        page = self.page(self.changes_url, {"cursor": cursor, "limit": self.page_size})
        if not page.cursor:
            raise RemoteError(f"{self.changes_url}: the page has no cursor")
        yield page
        while page.next:
            page = self.page(page.next)
            if not page.cursor:
                raise RemoteError(f"{self.changes_url}: a page has no cursor")
            yield page
