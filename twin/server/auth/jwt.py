"""OIDC bearer tokens: JWTs checked against the configured issuer's signing keys (JWKS).

Only asymmetric signatures are accepted (RS256, ES256): never ``none``, never an HMAC
algorithm (an HS256 token "signed" with the public key would otherwise pass). The token
must name its key (``kid``) and the key's own algorithm must match the token's. Checked:
signature, ``iss``, ``aud``, ``exp`` (required), ``nbf`` and ``iat`` if present, with a
small leeway for clock skew.

Roles come from a configurable claim, a list or a space-separated string, reached by a
dotted path (``realm_access.roles`` for Keycloak); roles twin does not know are ignored.

The JWKS (and, without a configured JWKS URL, the OpenID discovery document) is fetched
in a worker thread, never on the event loop, and cached (5 minutes; a token naming an
unknown key forces one refresh at most every 30 s, so key rotation is picked up without
letting random ``kid`` values hammer the identity provider). When the provider cannot be
reached the request gets 503 with ``Retry-After``, and for the next few seconds further
requests that need a fetch get it at once instead of each waiting for a timeout.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request

import jwt
from starlette.concurrency import run_in_threadpool

from twin.server.auth.keys import Unauthorized, known_roles
from twin.server.auth.principal import Principal
from twin.server.errors import RETRY_AFTER_S, Unavailable

log = logging.getLogger("twin.server.auth")

ALGORITHMS = ("RS256", "ES256")
JWKS_LIFESPAN_S = 300.0
REFRESH_COOLDOWN_S = 30.0
FETCH_TIMEOUT_S = 5.0


class JwtValidator:
    """Validates bearer tokens of one issuer for one audience; one per worker."""

    def __init__(self, issuer: str, audience: str, *, jwks_url: str | None = None,
                 roles_claim: str = "roles", agency_claim: str = "agency",
                 leeway_s: float = 30.0, roles: frozenset[str] | None = None):
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.roles_claim = roles_claim
        self.agency_claim = agency_claim
        self.leeway_s = leeway_s
        self.known_roles = roles or known_roles()
        self._client: jwt.PyJWKClient | None = None
        self._discovery = asyncio.Lock()
        self._fetch = threading.Lock()  # one JWKS fetch at a time per worker
        self._refreshed = float("-inf")
        self._down_until = 0.0

    @classmethod
    def from_settings(cls, settings, registry=None) -> JwtValidator | None:
        """A validator if OIDC is configured (``oidc_issuer``), else None."""
        if not settings.oidc_issuer:
            return None
        return cls(settings.oidc_issuer, settings.oidc_audience,
                   jwks_url=settings.oidc_jwks_url, roles_claim=settings.oidc_roles_claim,
                   agency_claim=settings.oidc_agency_claim, leeway_s=settings.oidc_leeway_s,
                   roles=known_roles(registry))

    async def validate(self, token: str) -> Principal:
        """The principal of a valid token; :class:`Unauthorized` (401) for a bad token,
        :class:`Unavailable` (503) when the signing keys cannot be fetched."""
        alg, kid = _header(token)
        key = await self._signing_key(kid)
        if key.algorithm_name != alg:
            raise Unauthorized(f"token algorithm {alg} does not match its signing key")
        return self._principal(self._decode(token, key.key, alg))

    # --- keys ------------------------------------------------------------------------

    async def _signing_key(self, kid: str) -> jwt.PyJWK:
        client = await self._jwks_client()
        cached = client.jwk_set_cache.get() if client.jwk_set_cache else None
        if cached is not None:  # the common case: no thread, no I/O
            for key in cached.keys:
                if key.key_id == kid and key.public_key_use in ("sig", None):
                    return key
        self._check_up()
        try:
            key = await run_in_threadpool(self._find_key, client, kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise self._went_down(f"JWKS fetch failed: {exc}") from None
        except (jwt.PyJWKClientError, jwt.PyJWKSetError) as exc:
            raise self._went_down(f"JWKS unusable: {exc}") from None
        if key is None:
            raise Unauthorized("token signed by an unknown key")
        return key

    def _find_key(self, client: jwt.PyJWKClient, kid: str) -> jwt.PyJWK | None:
        """In a worker thread: the key from the (cached or fetched) set, refreshing once
        per cooldown when the ``kid`` is new (key rotation)."""
        with self._fetch:
            key = client.match_kid(client.get_signing_keys(), kid)
            if key is None and time.monotonic() - self._refreshed >= REFRESH_COOLDOWN_S:
                self._refreshed = time.monotonic()
                key = client.match_kid(client.get_signing_keys(refresh=True), kid)
            return key

    async def _jwks_client(self) -> jwt.PyJWKClient:
        if self._client is None:
            async with self._discovery:
                if self._client is None:
                    url = self.jwks_url
                    if not url:
                        self._check_up()
                        url = await run_in_threadpool(self._discover)
                    self._client = jwt.PyJWKClient(url, lifespan=JWKS_LIFESPAN_S,
                                                   timeout=FETCH_TIMEOUT_S,
                                                   cooldown_duration=REFRESH_COOLDOWN_S)
        return self._client

    def _discover(self) -> str:
        """In a worker thread: ``jwks_uri`` from the issuer's discovery document."""
        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:
                document = json.load(response)
        except (urllib.error.URLError, TimeoutError, http.client.HTTPException,
                ValueError) as exc:
            raise self._went_down(f"OIDC discovery at {url} failed: {exc}") from None
        document = document if isinstance(document, dict) else {}
        jwks_uri = document.get("jwks_uri")
        if document.get("issuer") != self.issuer or not isinstance(jwks_uri, str) or \
                not jwks_uri.startswith(("https://", "http://")):
            raise self._went_down(f"OIDC discovery at {url}: issuer does not match "
                                  f"{self.issuer!r} or no jwks_uri")
        return jwks_uri

    def _check_up(self) -> None:
        if time.monotonic() < self._down_until:
            raise _unavailable()

    def _went_down(self, reason: str) -> Unavailable:
        log.warning("identity provider unavailable: %s", reason)
        self._down_until = time.monotonic() + RETRY_AFTER_S
        return _unavailable()

    # --- claims ----------------------------------------------------------------------

    def _decode(self, token: str, key, alg: str) -> dict:
        try:
            return jwt.decode(token, key=key, algorithms=[alg], audience=self.audience,
                              issuer=self.issuer, leeway=self.leeway_s,
                              options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("expired token") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("wrong audience: the token is not meant for this server") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("wrong issuer") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("token not valid yet (nbf or iat in the future)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"token lacks the '{exc.claim}' claim") from None
        except jwt.InvalidSignatureError:
            raise Unauthorized("bad signature") from None
        except jwt.DecodeError:
            raise Unauthorized("malformed token") from None
        except jwt.PyJWTError:
            raise Unauthorized("invalid token") from None

    def _principal(self, claims: dict) -> Principal:
        subject = claims.get("sub") or claims.get("azp") or claims.get("client_id")
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("token lacks the 'sub' claim")
        agency = claim(claims, self.agency_claim)
        return Principal(subject=subject, agency=agency if isinstance(agency, str) and agency
                         else None, roles=role_names(claim(claims, self.roles_claim)) &
                         self.known_roles, method="jwt")


def _header(token: str) -> tuple[str, str]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("malformed token") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise Unauthorized(f"token algorithm {str(alg)[:20]!r} is not accepted "
                           f"(only {', '.join(ALGORITHMS)})")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthorized("token has no 'kid' header naming its signing key")
    return alg, kid


def _unavailable() -> Unavailable:
    return Unavailable("the identity provider cannot be reached to check the token; "
                       "retry shortly")


def claim(claims: dict, path: str):
    """A claim by name, or by dotted path into nested objects (``realm_access.roles``).
    A name that itself contains dots (``https://example.org/roles``) is tried first."""
    if path in claims:
        return claims[path]
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def role_names(value) -> frozenset[str]:
    """Roles from a claim value: a list of strings or one space-separated string."""
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, (list, tuple)):
        return frozenset(v for v in value if isinstance(v, str))
    return frozenset()
