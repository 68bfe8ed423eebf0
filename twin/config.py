"""Settings, one small class per concern (pydantic-settings, ``TWIN_`` prefix).

Only the CLI and the app assembly call :func:`load_settings`; every other
module receives a settings object as an argument.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from twin.city import CityProfile, Extent, load_city
from twin.db.cluster.location import reachable_pgdata

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything twin reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="TWIN_", env_file=".env", extra="ignore")
    _city: CityProfile = PrivateAttr()

    database_url: str | None = Field(
        None, description="SQLAlchemy URL of an existing PostGIS; unset = embedded cluster"
    )
    data_dir: Path = Field(REPO_ROOT / ".twin", description="Embedded cluster, COGs, caches")
    embedded_port: int | None = Field(None, ge=1024, le=65535, description=(
        "Port of the embedded cluster; unset = the one it used before, else 54329 when "
        "free, else any free port"))
    embedded_database: str = "twin"
    layers_dir: Path = REPO_ROOT / "layers"
    server_config: Path = Field(REPO_ROOT / "config" / "server.yaml",
                                description="Server metadata for the OGC API landing page")
    city_profile: Path = Field(REPO_ROOT / "config" / "city.yaml", description=(
        "The city served: name, extents, time zone, CRSs, gauges (see twin.city)"))
    plausible_extent: tuple[float, float, float, float] | None = Field(None, description=(
        "CRS84 box outside which data is refused; unset = the city profile's"))
    host: str = "127.0.0.1"
    port: int = Field(5000, ge=1, le=65535)
    workers: int = Field(2, ge=1, le=64)
    public_url: str | None = None
    pool_size: int = Field(8, ge=1, le=200)
    statement_timeout_ms: int = Field(30000, ge=100)
    count_limit: int = Field(50_000, ge=0, description=(
        "numberMatched is exact up to this many matches and omitted beyond: when the "
        "planner expects more, no count runs at all; 0 turns counting off"))
    count_budget_ms: int = Field(25, ge=1, le=10000, description=(
        "an exact count that takes longer than this is abandoned and numberMatched "
        "left out (the planner can underestimate correlated filters)"))
    readings_max_age_days: int = Field(3650, ge=1, le=36500, description=(
        "streamed readings (POST /readings, SensorThings, MQTT) older than this are "
        "refused; the bulk CSV loader has no age limit"))
    readings_max_ahead_minutes: int = Field(5, ge=0, le=1440, description=(
        "readings more than this far ahead of the server's clock are refused (clock skew)"))
    changes_keep_days: int = Field(90, ge=0, le=36500, description=(
        "the change log behind /collections/{id}/changes and subscriptions keeps this many "
        "days; a cursor older than what is kept gets 410 Gone (copy the layer again); "
        "0 = keep for ever"))
    deliveries_keep_days: int = Field(30, ge=0, le=36500, description=(
        "delivered and dead alert and subscription deliveries (and their attempts) are "
        "removed this many days after their last change; pending ones never; 0 = keep "
        "for ever"))
    prune_every_s: float = Field(3600.0, ge=0, le=86400, description=(
        "how often each notify dispatcher applies the two retentions above, in batches; "
        "0 = never (run 'twin db prune' from cron instead)"))

    # Authentication. API keys need no settings but the header name; bearer tokens (OIDC)
    # are accepted only when an issuer is set, and then an audience is required.
    api_key_header: str = Field("X-API-Key", pattern=r"^[A-Za-z0-9-]+$",
                                description="Header carrying an API key (also accepted: "
                                "'Authorization: ApiKey <key>')")
    oidc_issuer: str | None = Field(None, description=(
        "OIDC issuer whose JWTs are accepted (exact 'iss'); unset = no bearer tokens"))
    oidc_audience: str | None = Field(None, description="Required 'aud' of bearer tokens")
    oidc_jwks_url: str | None = Field(None, description=(
        "JWKS URL; unset = discovered from {issuer}/.well-known/openid-configuration"))
    oidc_roles_claim: str = Field("roles", description=(
        "Claim holding roles (list or space-separated); dotted path for nested claims, "
        "e.g. realm_access.roles for Keycloak"))
    oidc_agency_claim: str = Field("agency", description="Claim naming the caller's agency")
    oidc_leeway_s: float = Field(30.0, ge=0, le=300, description="Clock skew allowed on exp/nbf")
    metrics_access: str = Field("local", pattern=r"^(local|public|role:[a-z][a-z0-9_]{0,62})$",
                                description=(
        "Who may read /metrics (and /health's worker pid): 'local' = requests over this "
        "host's loopback that no proxy forwarded, 'public' = anyone, 'role:<name>' = "
        "callers with that role; admin always may"))
    tile_cache: str | None = Field(None, description=(
        "Where made vector tiles are kept: a directory, or 'off'; unset = "
        "<data_dir>/tiles; or an S3-compatible store, s3://bucket/prefix. Keyed by layer "
        "version: an edit or load is never served stale"))
    tile_s3_endpoint: str | None = Field(None, pattern=r"^https?://\S+$", description=(
        "Endpoint of the s3:// tile cache (MinIO, Ceph RGW, Garage, SeaweedFS...); unset = "
        "AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else AWS. Credentials and region: the "
        "AWS SDK's chain (AWS_* variables, ~/.aws, an instance or container role)"))
    tile_max_age: int = Field(0, ge=0, le=31_536_000, description=(
        "Seconds a browser or CDN may keep a tile without asking again (Cache-Control "
        "max-age); 0 = revalidate every time (by ETag, the layer version)"))
    replica_urls: str | None = Field(None, description=(
        "Read replicas (PostgreSQL streaming replication), comma-separated URLs: GET and "
        "HEAD requests read from a healthy one close enough behind the primary; writes go "
        "to the primary. Unset = no replicas (twin db replica create makes local ones)"))
    replica_max_lag_s: float = Field(5.0, gt=0, le=3600, description=(
        "A replica still missing WAL the primary wrote longer ago than this is skipped"))
    replica_max_lag_bytes: int = Field(16 * 1024 * 1024, ge=0, description=(
        "A replica more than this many bytes of WAL behind the primary is skipped"))
    cors_origins: str = Field("*", description=(
        "Origins whose web pages may call the API (CORS): '*' = any, without credentials "
        "(cookies); or comma-separated origins, e.g. https://ops.city.vn,http://localhost:8080"))

    @field_validator("data_dir", "layers_dir", "server_config", "city_profile")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _extent_ordered(self) -> Settings:
        self._city = load_city(self.city_profile)  # read once, with the settings
        x0, y0, x1, y1 = self.plausible_extent or self._city.extent.plausible
        if not (x0 < x1 and y0 < y1):
            raise ValueError("plausible_extent must be (minx, miny, maxx, maxy)")
        self.plausible_extent = Extent((x0, y0, x1, y1), self._city.name)
        return self

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError("oidc_audience is required when oidc_issuer is set (without it, "
                             "tokens the issuer made for other applications would be accepted)")
        for name in ("oidc_issuer", "oidc_jwks_url"):
            value = getattr(self, name)
            if value and not value.startswith(("https://", "http://")):
                raise ValueError(f"{name} must be an http(s) URL")
        return self

    @property
    def city(self) -> CityProfile:
        """The city profile read from :attr:`city_profile` (to serve another city, make
        new settings: a copy keeps the profile it was made with)."""
        return self._city

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def raster_dir(self) -> Path:
        return self.data_dir / "rasters"

    @property
    def pgdata(self) -> Path:
        """The embedded cluster's directory (see twin.db.cluster.location.reachable_pgdata)."""
        return reachable_pgdata(self.data_dir / "pgdata")


def load_settings(**overrides) -> Settings:
    """Read settings from the environment (and ``.env``); keyword overrides win."""
    return Settings(**overrides)
