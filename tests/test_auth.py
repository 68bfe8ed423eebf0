"""Authentication over real HTTP: API keys in PostGIS, JWTs from a local OpenID provider
(the ``oidc`` fixture serves discovery and JWKS from a real HTTP server), the CLI."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
from datetime import timedelta

import httpx
import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import text

from tests.conftest import _free_port, served
from twin.server.auth.jwt import claim, role_names
from twin.server.auth.keys import UNKNOWN_KEY, create_key, list_keys, revoke_key

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

WHOAMI = "/auth/whoami"


def token(oidc, kid: str = "rsa-1", key=None, alg: str | None = None, **claims) -> str:
    """A JWT from the test provider; ``claims`` override the defaults (None drops one)."""
    now = int(time.time())
    payload = {"iss": oidc.issuer, "aud": oidc.audience, "sub": "minh@dot.hanoi.gov.vn",
               "iat": now, "exp": now + 300, "roles": ["transport"], "agency": "Hanoi DOT"}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    alg = alg or ("ES256" if kid.startswith("ec") else "RS256")
    return jwt.encode(payload, key or oidc.keys[kid], algorithm=alg, headers={"kid": kid})


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def assert_401(response: httpx.Response, *words: str) -> str:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["code"] == "Unauthorized"
    for word in words:
        assert word in body["description"], body
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="twin", error="invalid_token"')
    assert body["description"] in challenge
    return body["description"]


# --- anonymous ------------------------------------------------------------------------

def test_anonymous_reads_public_layers_without_private_fields(http):
    who = http.get(WHOAMI)
    assert who.status_code == 200
    assert who.headers["cache-control"] == "no-store"
    assert who.json() == {"subject": "anonymous", "agency": None, "roles": ["public"],
                          "method": "anonymous", "authenticated": False}
    items = http.get("/collections/land_parcels/items", params={"limit": 5})
    assert items.status_code == 200
    assert items.json()["features"]
    for feature in items.json()["features"]:
        assert "owner_name" not in feature["properties"]


# --- API keys -------------------------------------------------------------------------

def test_api_key_gives_agency_principal(http, city_engine):
    key, record = create_key(city_engine, "Hanoi Land Office", "land_office")
    assert key.startswith(f"twin_{record.prefix}_") and len(key) >= 45
    expected = {"subject": record.prefix, "agency": "Hanoi Land Office",
                "roles": ["land_office", "public"], "method": "api_key", "authenticated": True}
    assert http.get(WHOAMI, headers={"X-API-Key": key}).json() == expected
    assert http.get(WHOAMI, headers={"Authorization": f"ApiKey {key}"}).json() == expected
    # the key is usable on the OGC routes
    assert http.get("/collections/land_parcels/items", params={"limit": 1},
                    headers={"X-API-Key": key}).status_code == 200
    used = {r.prefix: r for r in list_keys(city_engine)}[record.prefix]
    assert used.last_used_at is not None and used.state() == "active"


def test_only_the_hash_is_stored(city_engine):
    key, record = create_key(city_engine, "Hanoi DOT", "transport")
    with city_engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM api_keys WHERE prefix = :p"),
                           {"p": record.prefix}).one()
    assert bytes(row.key_hash) == hashlib.sha256(key.encode()).digest()
    secret = key[len(f"twin_{record.prefix}_"):]
    assert not any(secret in str(value) for value in row)


def test_revoked_key_is_refused(http, city_engine):
    key, record = create_key(city_engine, "Hanoi DOT", "transport")
    assert revoke_key(city_engine, record.prefix).state() == "revoked"
    assert_401(http.get(WHOAMI, headers={"X-API-Key": key}), UNKNOWN_KEY)


def test_unknown_key_and_wrong_secret_look_the_same(http, city_engine):
    key, _record = create_key(city_engine, "Hanoi DOT", "transport")
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    unknown = "twin_zzzzzzzz_" + key.split("_", 2)[2]
    a = http.get(WHOAMI, headers={"X-API-Key": wrong_secret})
    b = http.get(WHOAMI, headers={"X-API-Key": unknown})
    assert assert_401(a, UNKNOWN_KEY) == assert_401(b, UNKNOWN_KEY)
    assert a.content == b.content
    assert a.headers["www-authenticate"] == b.headers["www-authenticate"]


def test_expired_key_is_refused(http, city_engine):
    key, record = create_key(city_engine, "Hanoi DOT", "transport", timedelta(days=1))
    with city_engine.begin() as conn:
        conn.execute(text("UPDATE api_keys SET expires_at = now() - interval '1 minute' "
                          "WHERE prefix = :p"), {"p": record.prefix})
    assert_401(http.get(WHOAMI, headers={"X-API-Key": key}), "expired API key")


@pytest.mark.parametrize("headers, words", [
    ({"X-API-Key": "not-a-key"}, ["malformed API key"]),
    ({"Authorization": "ApiKey"}, ["malformed API key"]),
    # Basic carries an API key as its password (issue 17, point 10): user:pass is no key
    ({"Authorization": "Basic dXNlcjpwYXNz"}, ["malformed API key"]),
    ({"Authorization": "Basic !!"}, ["malformed Basic credentials"]),
    ({"Authorization": "Digest username=x"}, ["unsupported authorization scheme"]),
    ({"Authorization": "Bearer x", "X-API-Key": "twin_abcdefgh_" + "a" * 40}, ["not both"]),
])
def test_malformed_credentials(http, headers, words):
    assert_401(http.get(WHOAMI, headers=headers), *words)


def test_create_key_validates(city_engine):
    from twin.server.auth.keys import KeyAdminError

    with pytest.raises(KeyAdminError, match="unknown role"):
        create_key(city_engine, "Hanoi DOT", "mayor")
    with pytest.raises(KeyAdminError, match="agency"):
        create_key(city_engine, "  ", "transport")
    with pytest.raises(KeyAdminError, match="positive"):
        create_key(city_engine, "Hanoi DOT", "transport", timedelta(days=-1))
    with pytest.raises(KeyAdminError, match="no API key"):
        revoke_key(city_engine, "zzzzzzzz")


# --- JWT bearer tokens ----------------------------------------------------------------

def test_valid_rs256_token(http, oidc):
    tok = token(oidc, roles=["transport", "astronaut"])  # unknown roles are ignored
    assert http.get(WHOAMI, headers=bearer(tok)).json() == {
        "subject": "minh@dot.hanoi.gov.vn", "agency": "Hanoi DOT",
        "roles": ["public", "transport"], "method": "jwt", "authenticated": True}


def test_valid_es256_token_with_space_separated_roles(http, oidc):
    tok = token(oidc, kid="ec-1", roles="environment land_office", agency="Hanoi DONRE")
    body = http.get(WHOAMI, headers=bearer(tok)).json()
    assert body["roles"] == ["environment", "land_office", "public"]
    assert body["agency"] == "Hanoi DONRE" and body["method"] == "jwt"


def test_token_without_roles_is_public(http, oidc):
    body = http.get(WHOAMI, headers=bearer(token(oidc, roles=None, agency=None))).json()
    assert body["roles"] == ["public"] and body["agency"] is None and body["authenticated"]


def test_small_clock_skew_is_tolerated(http, oidc):
    tok = token(oidc, exp=int(time.time()) - 10)  # leeway is 30 s
    assert http.get(WHOAMI, headers=bearer(tok)).status_code == 200


def test_expired_token(http, oidc):
    now = int(time.time())
    assert_401(http.get(WHOAMI, headers=bearer(token(oidc, iat=now - 3600, exp=now - 600))),
               "expired token")


def test_wrong_audience(http, oidc):
    assert_401(http.get(WHOAMI, headers=bearer(token(oidc, aud="another-app"))),
               "wrong audience")


def test_wrong_issuer(http, oidc):
    assert_401(http.get(WHOAMI, headers=bearer(token(oidc, iss="https://evil.example"))),
               "wrong issuer")


def test_not_yet_valid(http, oidc):
    assert_401(http.get(WHOAMI, headers=bearer(token(oidc, nbf=int(time.time()) + 600))),
               "not valid yet")


def test_missing_expiry(http, oidc):
    assert_401(http.get(WHOAMI, headers=bearer(token(oidc, exp=None))), "'exp'")


def test_signed_by_another_key_under_a_known_kid(http, oidc):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_401(http.get(WHOAMI, headers=bearer(token(oidc, key=other))), "bad signature")


def test_signed_by_a_key_not_in_the_jwks(http, oidc):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tok = token(oidc, kid="rsa-2", key=other, alg="RS256")
    assert_401(http.get(WHOAMI, headers=bearer(tok)), "unknown key")


def test_algorithm_must_match_the_key(http, oidc):
    # an RS256 token under the EC key's kid
    tok = token(oidc, kid="ec-1", key=oidc.keys["rsa-1"], alg="RS256")
    assert_401(http.get(WHOAMI, headers=bearer(tok)), "does not match")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, payload: dict) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"


def test_alg_none_is_refused(http, oidc):
    payload = jwt.decode(token(oidc), options={"verify_signature": False})
    tok = _unsigned({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, payload) + "."
    assert_401(http.get(WHOAMI, headers=bearer(tok)), "'none' is not accepted")


def test_hs256_signed_with_the_public_key_is_refused(http, oidc):
    """The classic key-confusion attack: HMAC with the RSA public key as the secret."""
    payload = jwt.decode(token(oidc), options={"verify_signature": False})
    public_pem = oidc.keys["rsa-1"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, payload)
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    tok = f"{signing_input}.{_b64(signature)}"
    assert_401(http.get(WHOAMI, headers=bearer(tok)), "'HS256' is not accepted")


@pytest.mark.parametrize("value", ["Bearer abc", "Bearer not.a.jwt", "Bearer a.b.c.d", "Bearer"])
def test_malformed_token(http, value):
    assert_401(http.get(WHOAMI, headers={"Authorization": value}), "malformed")


def test_token_tampered_after_signing(http, oidc):
    head, _payload, signature = token(oidc).split(".")
    payload = jwt.decode(token(oidc), options={"verify_signature": False})
    payload["roles"] = ["admin"]
    forged = f"{head}.{_b64(json.dumps(payload).encode())}.{signature}"
    assert_401(http.get(WHOAMI, headers=bearer(forged)), "bad signature")


def test_claim_paths_and_role_values():
    claims = {"realm_access": {"roles": ["transport", 7]}, "https://x.org/roles": "a b",
              "scope": "openid"}
    assert role_names(claim(claims, "realm_access.roles")) == {"transport"}
    assert role_names(claim(claims, "https://x.org/roles")) == {"a", "b"}
    assert claim(claims, "realm_access.missing.deeper") is None
    assert role_names(claim(claims, "scope.roles")) == frozenset()


# --- servers configured otherwise -----------------------------------------------------


@contextlib.contextmanager
def serving(settings, registry, city_url, **overrides):
    """Another instance of the real app, under uvicorn, with settings changed."""
    from twin.server.app import create_app

    port = _free_port()
    # A distinct DSN: the pygeoapi bridge registers its sync pool per DSN and per process,
    # and this app's pool closes with it, while the session's server keeps running.
    url = city_url + ("&" if "?" in city_url else "?") + "application_name=twin-test-auth"
    app = create_app(settings.model_copy(update={"port": port, "public_url": None,
                                                 **overrides}), url, registry)
    with served(app, port) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def test_jwks_unreachable_is_503(settings, registry, city_url, oidc):
    dead = f"http://127.0.0.1:{_free_port()}/jwks.json"  # nothing listens there
    with serving(settings, registry, city_url, oidc_issuer=oidc.issuer,
                 oidc_audience=oidc.audience, oidc_jwks_url=dead) as client:
        for _ in range(2):  # the second is answered at once, without a new attempt
            response = client.get(WHOAMI, headers=bearer(token(oidc)))
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "ServiceUnavailable"
            assert int(response.headers["retry-after"]) > 0
        # anonymous requests and API keys do not depend on the identity provider
        assert client.get(WHOAMI).status_code == 200


def test_bearer_tokens_not_configured(settings, registry, city_url, oidc):
    with serving(settings, registry, city_url) as client:
        assert_401(client.get(WHOAMI, headers=bearer(token(oidc))), "not configured")
        assert client.get(WHOAMI).json()["method"] == "anonymous"


# --- CLI ------------------------------------------------------------------------------

def test_cli_create_list_revoke(engine, database_url):
    from twin.cli import main

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE api_keys"))
    runner = CliRunner()
    env = {"TWIN_DATABASE_URL": database_url}

    created = runner.invoke(main, ["keys", "create", "--agency", "Hanoi DOT", "--role",
                                   "transport", "--expires", "90"], env=env)
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("twin_") and "\n" not in key
    assert "shown only this once" in created.stderr
    prefix = key.split("_")[1]
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash, agency, role, expires_at FROM api_keys "
                                   "WHERE prefix = :p"), {"p": prefix}).one()
    assert bytes(stored.key_hash) == hashlib.sha256(key.encode()).digest()
    assert (stored.agency, stored.role) == ("Hanoi DOT", "transport")
    assert stored.expires_at is not None

    listed = runner.invoke(main, ["keys", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    line = next(x for x in listed.stdout.splitlines() if x.startswith(prefix))
    assert "Hanoi DOT" in line and "transport" in line and "active" in line
    assert key not in listed.output and stored.key_hash.hex() not in listed.output

    revoked = runner.invoke(main, ["keys", "revoke", prefix], env=env)
    assert revoked.exit_code == 0, revoked.output
    line = next(x for x in runner.invoke(main, ["keys", "list"], env=env).stdout.splitlines()
                if x.startswith(prefix))
    assert "revoked" in line

    unknown = runner.invoke(main, ["keys", "revoke", "zzzzzzzz"], env=env)
    assert unknown.exit_code == 1 and "no API key with prefix zzzzzzzz" in unknown.output
    bad_role = runner.invoke(main, ["keys", "create", "--agency", "X", "--role", "mayor"],
                             env=env)
    assert bad_role.exit_code == 2 and "--role" in bad_role.output
