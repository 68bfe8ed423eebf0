"""A tile store in an S3-compatible object store: AWS S3, MinIO, Ceph RGW, Garage,
SeaweedFS (``TWIN_TILE_CACHE=s3://bucket/prefix``).

Tiles are objects named ``prefix/`` + :attr:`TileKey.path`, so every worker of every
host behind a load balancer shares one cache, and a layer's other versions are removed
by listing ``prefix/layer/`` by version (one delimited list) and deleting each old
version's objects in batches of a thousand.

The endpoint is ``TWIN_TILE_S3_ENDPOINT``, else the AWS SDK's own (``AWS_ENDPOINT_URL_S3``,
``AWS_ENDPOINT_URL``), else AWS itself; a named endpoint is addressed path-style, which
every S3-compatible server understands. Credentials and region come from the SDK's
usual chain (environment, ``~/.aws/config`` and profiles, a container or instance role).
boto3 is an optional extra (``pip install 'twin[s3]'``), imported only when an ``s3://``
cache is configured, so a server without it starts as long as it is not asked for one.

An object store is a network away and may be gone. Every call is bounded (1 s to
connect, 1 s to read, at most two attempts) and any failure but a plain miss opens a
breaker: for ``backoff_s`` the store is not asked at all (reads miss, writes return
False), then one request tries it again. A dead endpoint so costs one request a couple
of seconds once per ``backoff_s``; every tile is still answered, uncached (the route
counts it so). Each kind of failure is logged once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from twin.tilecache.keys import TileKey
from twin.tilecache.store import OPENERS, PrunedStore

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 1.0
ATTEMPTS = 2            # the first try and one retry (throttling, a 5xx, a reset)
BACKOFF_S = 30.0        # how long a failed store is left alone
POOL = 32               # connections: the route's worker threads share one client

# What an object's name ends with -> its Content-Type (a CDN or a browser reading the
# bucket directly gets the right one); anything else is opaque bytes.
CONTENT_TYPES = {".mvt": "application/vnd.mapbox-vector-tile", ".png": "image/png",
                 ".webp": "image/webp", ".jpg": "image/jpeg", ".json": "application/json"}

# Error codes that mean "no such tile": a miss, not a failure of the store.
MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class S3Unavailable(RuntimeError):
    """``s3://`` is configured but boto3 is not installed."""


def content_type(path: str) -> str:
    return CONTENT_TYPES.get(os.path.splitext(path)[1], "application/octet-stream")


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix/")`` (prefix may be "")."""
    parts = urlsplit(url.strip())
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"TWIN_TILE_CACHE={url!r}: an object store is named "
                         "s3://bucket or s3://bucket/prefix")
    prefix = parts.path.strip("/")
    return parts.netloc, prefix + "/" if prefix else ""


def error_code(exc: BaseException) -> str:
    """The S3 error code of a client error (``NoSuchKey``, ``AccessDenied``...), else the
    exception's class (``EndpointConnectionError``, ``ConnectTimeoutError``...)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return exc.__class__.__name__


class Breaker:
    """Closed until a failure; then open for ``backoff_s``; then one caller probes the
    store (the others still skip it) and closes it again by succeeding."""

    def __init__(self, backoff_s: float, clock: Callable[[], float] = time.monotonic):
        self.backoff_s = backoff_s
        self._clock = clock
        self._until: float | None = None
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            if self._until is None:
                return True
            now = self._clock()
            if now < self._until:
                return False
            self._until = now + self.backoff_s   # this caller probes; others wait
            return True

    def succeeded(self) -> None:
        if self._until is not None:
            with self._lock:
                self._until = None

    def failed(self) -> None:
        with self._lock:
            self._until = self._clock() + self.backoff_s

    @property
    def open(self) -> bool:
        until = self._until
        return until is not None and self._clock() < until


class S3Store(PrunedStore):
    """Tiles as objects of one bucket under one prefix, through a boto3 S3 client."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", *,
                 backoff_s: float = BACKOFF_S, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.breaker = Breaker(backoff_s, clock)
        self.failures: dict[str, int] = {}
        self._warned: set[str] = set()

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def get(self, key: TileKey) -> bytes | None:
        if not self.breaker.allow():
            return None
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key.path)
            body = reply["Body"].read()
        except Exception as exc:   # anything at all is a miss, never a client's error
            if error_code(exc) in MISSING:
                self.breaker.succeeded()
            else:
                self._failed("read", exc)
            return None
        self.breaker.succeeded()
        return body

    def put(self, key: TileKey, body: bytes) -> bool:
        if not self.breaker.allow():
            return False
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + key.path,
                                   Body=body, ContentType=content_type(key.path))
        except Exception as exc:
            self._failed("store", exc)
            return False
        self.breaker.succeeded()
        self._prune_once(key.layer, key.version)
        return True

    def prune(self, layer: str, keep_version: str) -> int:
        if not self.breaker.allow():
            return 0
        removed = 0
        try:
            for version in self._versions(layer):
                if version != keep_version:
                    self._delete_all(f"{self.prefix}{layer}/{version}/")
                    removed += 1
        except Exception as exc:
            self._failed("prune", exc)
            return removed
        self.breaker.succeeded()
        return removed

    def _pages(self, prefix: str, **more: str) -> Iterator[dict]:
        paginator = self.client.get_paginator("list_objects_v2")
        yield from paginator.paginate(Bucket=self.bucket, Prefix=prefix, **more)

    def _versions(self, layer: str) -> list[str]:
        """The versions of ``layer`` stored: the "directories" under ``prefix/layer/``."""
        start = len(f"{self.prefix}{layer}/")
        return [common["Prefix"][start:].rstrip("/")
                for page in self._pages(f"{self.prefix}{layer}/", Delimiter="/")
                for common in page.get("CommonPrefixes", [])]

    def _delete_all(self, prefix: str) -> None:
        """Every object under ``prefix``, a page (at most 1000, DeleteObjects' limit) at
        a time."""
        for page in self._pages(prefix):
            objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if not objects:
                continue
            reply = self.client.delete_objects(Bucket=self.bucket,
                                               Delete={"Objects": objects, "Quiet": True})
            errors = reply.get("Errors") or []
            if errors:
                self._warn("prune", errors[0].get("Code", "DeleteError"),
                           f"{len(errors)} objects not deleted ({errors[0].get('Message')})")

    def _failed(self, action: str, exc: BaseException) -> None:
        code = error_code(exc)
        with self._lock:
            self.failures[code] = self.failures.get(code, 0) + 1
        self.breaker.failed()
        self._warn(action, code, str(exc))

    def _warn(self, action: str, code: str, text: str) -> None:
        if (action, code) in self._warned:
            return
        self._warned.add((action, code))
        log.warning("tile cache %s: cannot %s tiles (%s: %s); serving them uncached, "
                    "trying the store again after %.0f s", self.url, action, code, text,
                    self.breaker.backoff_s)


def endpoint_of(configured: str | None) -> str | None:
    """``TWIN_TILE_S3_ENDPOINT``, else the SDK's standard endpoint variables (unless the
    SDK is told to ignore them). An endpoint in ``~/.aws/config`` is left to the SDK,
    which addresses it virtual-host style: name a non-AWS store in a variable."""
    sdk = ([] if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true"
           else [os.environ.get("AWS_ENDPOINT_URL_S3"), os.environ.get("AWS_ENDPOINT_URL")])
    for value in (configured, *sdk):
        if value and value.strip():
            return value.strip()
    return None


def s3_client(endpoint: str | None) -> Any:
    """A boto3 S3 client with bounded timeouts and retries; raises :class:`S3Unavailable`
    without boto3."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise S3Unavailable("TWIN_TILE_CACHE names an s3:// store but boto3 is not "
                            "installed: pip install 'twin[s3]' (or set TWIN_TILE_CACHE to "
                            "a directory or 'off')") from None
    config = Config(connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
                    retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
                    max_pool_connections=POOL,
                    # S3-compatible servers other than AWS may refuse the newer default
                    # checksums; they are sent only where an operation requires one.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                    s3={"addressing_style": "path"} if endpoint else None)
    return boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)


def open_s3(url: str, endpoint: str | None = None) -> S3Store:
    """The store ``TWIN_TILE_CACHE=s3://bucket/prefix`` names."""
    bucket, prefix = parse_url(url)
    return S3Store(s3_client(endpoint_of(endpoint)), bucket, prefix)


OPENERS["s3"] = open_s3
