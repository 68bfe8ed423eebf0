"""The dispatcher's settings (``TWIN_NOTIFY_`` environment variables) and the webhook
endpoints of ``config/alerts.yaml`` (its ``webhooks:`` section).

``webhooks: {<name>: {url, secret_env, agency, timeout_s, max_attempts, backoff_s,
backoff_max_s}}``: the HMAC secret is read from the environment variable ``secret_env``
names, never from the file. An endpoint whose variable is unset is still known (rules
may name it); its deliveries are dead letters saying so, retried by an admin once set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from twin.config import REPO_ROOT
from twin.errors import TwinInputError

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")


class NotifySettings(BaseSettings):
    """What the dispatcher reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="TWIN_NOTIFY_", env_file=".env",
                                      extra="ignore")

    dispatch: bool = Field(True, description="run the dispatcher in each server worker")
    alerts_config: Path = Field(REPO_ROOT / "config" / "alerts.yaml",
                                description="the file whose webhooks: section is read")
    mqtt_url: str | None = Field(None, description=(
        "broker for alert messages, mqtt://[user:password@]host[:port] or mqtts://; "
        "unset = no MQTT deliveries"))
    mqtt_prefix: str = Field("twin/alerts", pattern=r"^[A-Za-z0-9_/-]+$")
    mqtt_retry_max_s: float = Field(10.0, gt=0, le=600, description=(
        "longest wait between tries while the broker is away (MQTT is never dead-lettered)"))
    poll_s: float = Field(5.0, gt=0, le=600, description="poll even without a notification")
    lease_s: float = Field(60.0, gt=0, le=3600, description=(
        "a claimed delivery is left to others after this long (its dispatcher died)"))
    batch: int = Field(200, ge=1, le=10000)
    concurrency: int = Field(32, ge=1, le=1000, description="deliveries in flight at once")
    heartbeat_s: float = Field(15.0, gt=0, le=300, description="SSE heartbeat interval")


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    secret_env: str
    agency: str | None = None
    timeout_s: float = 5.0
    max_attempts: int = 8
    backoff_s: float = 2.0
    backoff_max_s: float = 900.0

    @property
    def secret(self) -> str | None:
        return os.environ.get(self.secret_env) or None

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones (exponential)."""
        return min(self.backoff_max_s, self.backoff_s * 2 ** max(0, attempts - 1))


def _endpoint(name: str, spec) -> Endpoint:
    where = f"webhooks.{name}"
    if not isinstance(spec, dict):
        raise TwinInputError(f"{where}: expected a mapping with url and secret_env")
    if not name or set(name) - NAME_CHARS:
        raise TwinInputError(f"{where}: a name is lower-case letters, digits, _ and -")
    unknown = set(spec) - {f for f in Endpoint.__dataclass_fields__ if f != "name"}
    if unknown:
        raise TwinInputError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    url = spec.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") \
            or not urlsplit(url).hostname:
        raise TwinInputError(f"{where}.url: an http(s) URL is required")
    if not isinstance(spec.get("secret_env"), str) or not spec["secret_env"]:
        raise TwinInputError(f"{where}.secret_env: the name of an environment variable "
                             "holding the HMAC secret is required")
    numbers = {"timeout_s": (0.1, 120), "max_attempts": (1, 100), "backoff_s": (0.01, 3600),
               "backoff_max_s": (0.01, 86400)}
    for field, (low, high) in numbers.items():
        value = spec.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not low <= value <= high):
            raise TwinInputError(f"{where}.{field}: a number from {low} to {high}")
    return Endpoint(name=name, **spec)


def load_webhooks(path: Path) -> dict[str, Endpoint]:
    """The ``webhooks:`` section of ``path`` (none when the file or section is absent)."""
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise TwinInputError(f"{path.name}: not valid YAML ({exc})") from None
    section = doc.get("webhooks") if isinstance(doc, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise TwinInputError(f"{path.name}: webhooks: must map names to endpoints")
    return {str(name): _endpoint(str(name), spec) for name, spec in section.items()}
