"""Subscription-triggered harvesting: the harvester subscribes to the remote twin's
layer changes (``POST /subscriptions`` with a webhook pointing back at itself) and runs
as soon as a signed delivery arrives, besides its ``--every`` schedule.

The receiver checks each delivery's ``X-Twin-Signature`` with the secret the remote gave
at subscription (:func:`twin.notify.webhook.verify`) and only wakes the harvest loop: the
run itself reads the change feed from its stored cursor, so a lost, repeated or
reordered delivery changes nothing but when the run happens. The subscription is
deleted when the harvester stops.
"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx

from twin.harvest.remote import Remote, RemoteError
from twin.notify.webhook import verify

MAX_BODY = 64 * 1024 * 1024


class Trigger:
    def __init__(self, remote: Remote, callback: str, wake: threading.Event):
        parts = urlsplit(callback)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise RemoteError(f"--subscribe {callback!r}: an http://HOST:PORT/... URL the "
                              "remote can reach; the harvester listens on that port")
        self.remote, self.callback, self.wake = remote, callback, wake
        self.secret: str | None = None
        self.subscription: str | None = None
        self.received = 0
        self._serving = False
        self.httpd = ThreadingHTTPServer((parts.hostname, parts.port), self._handler())

    def _handler(self):
        trigger = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(size, MAX_BODY))
                ok = trigger.secret is not None and verify(
                    trigger.secret, body, self.headers.get("X-Twin-Signature", ""))
                self.send_response(204 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if ok:
                    trigger.received += 1
                    trigger.wake.set()

            def log_message(self, *args):
                pass

        return Handler

    def start(self) -> None:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self._serving = True
        url = f"{self.remote.base}/subscriptions"
        try:
            r = self.remote.client.post(url, json={"layer": self.remote.collection,
                                                   "webhook": self.callback})
        except httpx.HTTPError as exc:
            self.stop()
            raise RemoteError(f"{url}: {type(exc).__name__}: cannot subscribe") from None
        if r.status_code != 201:
            self.stop()
            raise RemoteError(f"{url}: the subscription was refused (HTTP {r.status_code}: "
                              f"{_description(r)}); send an API key with --header")
        body = r.json()
        self.secret, self.subscription = body["secret"], body["links"][0]["href"]

    def stop(self) -> None:
        if self.subscription:
            with contextlib.suppress(httpx.HTTPError):
                self.remote.client.delete(self.subscription)
            self.subscription = None
        if self._serving:
            self.httpd.shutdown()
            self._serving = False
        self.httpd.server_close()


def _description(response: httpx.Response) -> str:
    try:
        return str(response.json().get("description"))[:200]
    except (ValueError, AttributeError):
        return "no description"
