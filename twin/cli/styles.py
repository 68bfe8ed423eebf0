"""``twin styles export`` and ``twin qgis-project``: the styles as files, the QGIS project."""

from __future__ import annotations

import json
from pathlib import Path

import click
import httpx

from twin.city import CityProfile
from twin.cli.context import AppContext, handle_errors
from twin.registry import Layer, Registry

DEFAULT_STYLES_DIR = Path("styles")


def _dump(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def export_styles(registry: Registry, out: Path, base_url: str,
                  city: CityProfile | None = None) -> list[Path]:
    """Write ``<layer>.qml``, ``<layer>.sld``, ``<layer>.maplibre.json`` per layer, the
    whole-city ``city.maplibre.json`` (framed on ``city``, the city profile) and the
    class ramps ``ramps.json``."""
    from twin.styles.legend import RAMP_TARGETS, legend
    from twin.styles.maplibre import style_document
    from twin.styles.qml import qml_document
    from twin.styles.sld import sld_document

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for layer in registry:
        files = {f"{layer.name}.qml": qml_document(layer),
                 f"{layer.name}.sld": sld_document(layer),
                 f"{layer.name}.maplibre.json": _dump(
                     style_document([layer], base_url, include=lambda _layer: True,
                                    city=city))}
        for name, text in files.items():
            (out / name).write_text(text, encoding="utf-8")
            written.append(out / name)
    extras = {"city.maplibre.json": _dump(style_document(registry, base_url, city=city)),
              "ramps.json": _dump({name: legend(name) for name in RAMP_TARGETS})}
    for name, text in extras.items():
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    return written


def server_extents(base_url: str, layers: list[Layer]) -> dict[str, dict]:
    """Extents as the running server publishes them (``/collections/{id}``), so the
    project opens on the data and its time range spans it; {} when unreachable."""
    out = {}
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for layer in layers:
            try:
                response = client.get(f"/collections/{layer.name}", params={"f": "json"})
            except httpx.HTTPError:
                return {}
            if response.status_code != 200:
                continue
            ext = response.json().get("extent", {})
            bbox = (ext.get("spatial", {}).get("bbox") or [None])[0]
            interval = (ext.get("temporal", {}).get("interval") or [[None, None]])[0]
            if bbox:
                out[layer.name] = {"bbox": bbox, "interval": interval}
    return out


@click.group("styles")
def styles() -> None:
    """Layer styles: QGIS QML, SLD 1.1 and MapLibre."""


@styles.command("export")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_STYLES_DIR, show_default=True, help="Folder to write into.")
@click.option("--url", help="Server base URL written into MapLibre tile URLs "
              "(default: the configured public URL).")
@click.pass_obj
@handle_errors
def export(app: AppContext, out: Path, url: str | None) -> None:
    """Write every layer's style as QML, SLD and MapLibre JSON."""
    written = export_styles(app.registry, out, url or app.settings.base_url, app.settings.city)
    click.echo(f"wrote {len(written)} files to {out}/")


@click.command("qgis-project")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("twin-hanoi.qgz"), show_default=True, help="The .qgz to write.")
@click.option("--url", help="Base URL of the twin server QGIS will read from "
              "(default: the configured public URL).")
@click.option("--local-rasters", is_flag=True, help="Add the catalogued COGs by their file "
              "paths (for a QGIS on this machine; reads the database).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default=None,
              help="Layer, group and field names in this language (default: the city "
              "profile's, Vietnamese for Hà Nội).")
@click.pass_obj
@handle_errors
def qgis_project(app: AppContext, out: Path, url: str | None, local_rasters: bool,
                 lang: str | None) -> None:
    """Write a QGIS project with every public layer wired to a twin server."""
    from twin.qgis.project import ProjectOptions, build_qgz

    base = (url or app.settings.base_url).rstrip("/")
    layers = [lyr for lyr in app.registry if "public" in lyr.access.read]
    extents = server_extents(base, layers)
    if not extents:
        click.echo(f"note: {base} did not answer; the project uses the default city extent",
                   err=True)
    rasters = catalogued_rasters(app) if local_rasters else []
    city = app.settings.city
    options = ProjectOptions(base_url=base, extents=extents, rasters=rasters,
                             title=f"twin — {city.name}", bounds=city.view.bounds,
                             crs=city.crs.metric, lang=lang or city.language)
    out.write_bytes(build_qgz(layers, options))
    click.echo(f"wrote {out} ({len(layers)} layers, {len(rasters)} rasters, "
               f"reading from {base})")


def catalogued_rasters(app: AppContext) -> list:
    """The COGs of the ``rasters`` table as GDAL layers opened by their file paths."""
    from sqlalchemy import text

    from twin.qgis.rasters import CATALOGUE_SQL, raster_layers

    with app.engine.connect() as conn:
        rows = conn.execute(text(CATALOGUE_SQL)).all()
    return raster_layers(rows, lambda _external_id, path: str(Path(path).resolve()))


def register(main: click.Group) -> None:
    main.add_command(styles)
    main.add_command(qgis_project)
