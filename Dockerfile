# twin server image: Python 3.12 + GDAL tools; the database runs in its own container.
FROM python:3.12-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin fonts-dejavu-core libpq5 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY twin ./twin
COPY layers ./layers
COPY config ./config
COPY styles ./styles
RUN pip install --no-cache-dir .
ENV TWIN_HOST=0.0.0.0 TWIN_PORT=5000 TWIN_LAYERS_DIR=/app/layers TWIN_DATA_DIR=/data
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/conformance', timeout=4)"
CMD ["twin", "serve"]
