"""Signed webhook POSTs.

The body is the JSON message; the headers:

- ``X-Twin-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, keyed
  with the endpoint's secret (a receiver recomputes it over the raw body and refuses an
  old ``t``: replays);
- ``X-Twin-Event``: the message type, e.g. ``alert.opened``;
- ``Idempotency-Key``: ``<stream>:<event id>``, the same on every retry of one event to
  one endpoint (a receiver that saw it already answers 2xx and ignores it);
- ``X-Twin-Delivery``: the delivery's id, as listed by ``GET /admin/deliveries``.

Any 2xx answer delivers; anything else, a timeout or a refused connection is a failure,
retried after the endpoint's back-off until ``max_attempts``, then a dead letter.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import httpx

from twin.notify.config import Endpoint
from twin.notify.outbox import Claimed, Outcome

USER_AGENT = "twin-notify/1"


def body_bytes(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, tolerance_s: float = 300,
           now: float | None = None) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance_s`` seconds."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def headers(endpoint: Endpoint, delivery: Claimed, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
            "X-Twin-Signature": signature(endpoint.secret or "", body, int(time.time())),
            "X-Twin-Event": delivery.event_type,
            "Idempotency-Key": f"{delivery.stream}:{delivery.event_id}",
            "X-Twin-Delivery": str(delivery.id)}


def _failure(endpoint: Endpoint, delivery: Claimed, started: datetime, error: str,
             status: int | None = None) -> Outcome:
    retry = (endpoint.delay(delivery.attempts) if delivery.attempts < endpoint.max_attempts
             else None)
    return Outcome(False, started, datetime.now(UTC), error=error, http_status=status,
                   retry_in=retry)


async def send(client: httpx.AsyncClient, endpoint: Endpoint | None,
               delivery: Claimed) -> Outcome:
    """POST ``delivery`` to ``endpoint``; the outcome, with the back-off on a failure."""
    started = datetime.now(UTC)
    if endpoint is None or not endpoint.secret:
        what = ("is no longer configured" if endpoint is None
                else f"has no secret ({endpoint.secret_env} is not set)")
        return Outcome(False, started, datetime.now(UTC),
                       error=f"webhook endpoint {delivery.target!r} {what}")
    body = body_bytes(delivery.payload)
    try:
        response = await client.post(endpoint.url, content=body,
                                      headers=headers(endpoint, delivery, body),
                                      timeout=endpoint.timeout_s)
    except httpx.TimeoutException:
        return _failure(endpoint, delivery, started,
                        f"no answer within {endpoint.timeout_s:g} s")
    except httpx.ConnectError:
        return _failure(endpoint, delivery, started, "connection refused or unreachable")
    except httpx.HTTPError as exc:
        return _failure(endpoint, delivery, started, f"HTTP error: {type(exc).__name__}")
    if 200 <= response.status_code < 300:
        return Outcome(True, started, datetime.now(UTC), http_status=response.status_code)
    return _failure(endpoint, delivery, started, f"answered HTTP {response.status_code}",
                    response.status_code)
