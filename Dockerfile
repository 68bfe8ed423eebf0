# twin server image: Python 3.12; the database and the broker run in their own
# containers (docker-compose.yml). Runs as an unprivileged user; state lives in /data (0700).
FROM python:3.12-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin fonts-dejavu-core libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --uid 10001 twin \
 && mkdir -m 700 /data && chown twin:twin /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY twin ./twin
RUN pip install --no-cache-dir .
COPY layers ./layers
COPY config ./config
COPY styles ./styles
ENV PYTHONUNBUFFERED=1 \
    TWIN_HOST=0.0.0.0 TWIN_PORT=5000 \
    TWIN_LAYERS_DIR=/app/layers TWIN_SERVER_CONFIG=/app/config/server.yaml \
    TWIN_DATA_DIR=/data
USER twin
VOLUME ["/data"]
EXPOSE 5000
# Readiness, not liveness: 503 while PostgreSQL is away, so the orchestrator routes around it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/ready', timeout=4)"]
CMD ["twin", "serve"]
