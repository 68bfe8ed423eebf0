"""A stock pygeoapi as a remote for the harvest tests: its configuration for a set of
collections, GeoJSON files for its GeoJSON provider, and the server itself (its
Starlette app under uvicorn, in its own process)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time

import httpx


def pygeoapi_config(port: int, resources: dict[str, dict]) -> dict:
    """A pygeoapi configuration serving ``resources`` (id: provider) as collections."""
    return {
        "server": {"bind": {"host": "127.0.0.1", "port": port},
                   "url": f"http://127.0.0.1:{port}", "mimetype": "application/json",
                   "encoding": "utf-8", "language": "en-US", "limits": {"default_items": 10,
                                                                        "max_items": 3},
                   "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                           "attribution": "OSM"}},
        "logging": {"level": "ERROR"},
        "metadata": {"identification": {"title": "agency", "description": "agency",
                                        "keywords": ["x"], "terms_of_service": "x",
                                        "url": "http://example.org"},
                     "license": {"name": "CC-BY 4.0",
                                 "url": "https://creativecommons.org/licenses/by/4.0/"},
                     "provider": {"name": "agency"}, "contact": {"name": "agency"}},
        "resources": {name: {
            "type": "collection", "title": name, "description": name, "keywords": [name],
            "extents": {"spatial": {"bbox": [105.7, 20.9, 106.0, 21.2],
                                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": [{"type": "feature", **provider}]}
            for name, provider in resources.items()}}


def geojson_file(path, features: list[dict]) -> None:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")


@contextlib.contextmanager
def pygeoapi_server(config: dict, workdir, probe: str):
    """A stock pygeoapi (its Starlette app under uvicorn) in its own process with
    ``config`` (its server.bind port is used); yields its base URL once ``probe`` (a
    path) answers 200."""
    import yaml

    port = config["server"]["bind"]["port"]
    path, openapi = workdir / "pygeoapi.yml", workdir / "openapi.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    bindir = sys.executable.rsplit("/", 1)[0]
    env = {"PYGEOAPI_CONFIG": str(path), "PYGEOAPI_OPENAPI": str(openapi),
           "PATH": bindir + ":/usr/bin:/bin"}
    subprocess.run([f"{bindir}/pygeoapi", "openapi", "generate", str(path),
                    "--output-file", str(openapi)], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "pygeoapi.starlette_app:APP",
                             "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"pygeoapi did not start: {proc.stderr.read()[-2000:]}")
            try:
                if httpx.get(base + probe, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
