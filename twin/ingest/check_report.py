"""The ``--check`` report for a terminal, and the mapping template it writes."""

from __future__ import annotations

from pathlib import Path

import yaml

from twin.ingest.area_check import AREA_COLUMNS
from twin.ingest.check import CheckReport
from twin.ingest.mapping import Mapping
from twin.registry import Layer

SHOWN = 10


def _listed(title: str, items: list[str], indent: str = "") -> list[str]:
    if not items:
        return []
    lines = [f"{indent}{title} ({len(items)}{'+' if len(items) >= 50 else ''}):"]
    lines += [f"{indent}    {item}" for item in items[:SHOWN]]
    if len(items) > SHOWN:
        lines.append(f"{indent}    ... and {len(items) - SHOWN} more (--json lists them)")
    return lines


def _column_lines(report: CheckReport) -> list[str]:
    lines = ["columns:"]
    width = max((len(c.column) for c in report.columns), default=6)
    for c in report.columns:
        target = (f"-> {c.field} ({c.matched_by})" if c.field else "-> the feature id"
                  if c.column == report.id_column else "-> (not mapped)")
        lines.append(f"  {c.column:<{width}}  {target}  {c.type}, {c.nulls} empty")
        if c.values is not None:
            shown = ", ".join(f"{v}{' [REFUSED]' if v in c.refused else ''}: {n}"
                              for v, n in c.values.items())
            lines.append(f"      values: {shown}")
        elif c.refused:
            lines.append(f"      refused: {', '.join(c.refused[:SHOWN])}")
        lines += _listed("out of range", c.out_of_range, "      ")
        lines += _listed("not valid", c.invalid, "      ")
    return lines


def render(report: CheckReport) -> list[str]:
    """The report as terminal lines."""
    verdict = "loads as it stands" if report.ok else "would be refused as it stands"
    if report.rejected:
        verdict += f", {len(report.rejected)} left out"
    lines = [f"{report.file} -> {report.layer}: {report.features} feature(s); {verdict}"]
    if report.mapping:
        lines.append(f"mapping: {report.mapping}")
    if report.encoding:
        lines.append(f"text encoding: {report.encoding}")
    lines += _column_lines(report)
    if report.missing_required:
        lines.append(f"required fields with no column: {', '.join(report.missing_required)}")
    lines.append(f"crs: {report.crs} ({report.crs_from})")
    if report.extent:
        lines.append(f"extent (CRS84): {report.extent}; the city's plausible extent "
                     f"{report.plausible_extent}")
    swapped = " (latitude and longitude look swapped)" if report.axes_swapped else ""
    lines += _listed(f"outside the plausible extent{swapped}", report.outside)
    lines += _listed("invalid geometries (repaired by make_valid on load; --strict "
                     "refuses them)", report.invalid_geometries)
    lines += _listed("wrong geometry types", report.wrong_geometry_types)
    lines += _listed("no geometry (left out on load)", report.missing_geometries)
    lines.append(f"ids: {report.id_column or 'made from the geometry'}")
    lines += _listed("duplicate ids", report.duplicate_ids)
    lines += _listed("stated areas that differ from the computed ones", report.area_mismatches)
    lines += _listed("left out by the reader", report.rejected)
    lines += _listed("notes", report.notes)
    if report.template:
        lines.append(f"mapping template written to {report.template}: fill in the blanks, "
                     f"then twin load {report.file} --layer {report.layer} --mapping "
                     f"{report.template}")
    return lines


def template(report: CheckReport, layer: Layer, mapping: Mapping | None) -> dict:
    """A mapping with the unmapped columns and the refused values left blank."""
    old = mapping or Mapping("", "")
    columns = dict(old.columns)
    for c in report.columns:
        if (c.field is None and c.column not in (report.id_column, *columns)
                and c.column.lower() not in AREA_COLUMNS):
            columns[c.column] = ""
    values = {f: dict(t) for f, t in old.values.items()}
    for c in report.columns:
        for value in c.refused:
            values.setdefault(c.field, {}).setdefault(value, "")
    out = {"layer": layer.name, "columns": columns, "values": values,
           "units": {}, "constants": dict(old.constants), "defaults": dict(old.defaults)}
    crs = old.crs or (report.crs if report.crs_from.startswith("guessed") else None)
    if crs:
        out["crs"] = crs
    if old.encoding:
        out["encoding"] = old.encoding
    return out


def _header(report: CheckReport, layer: Layer) -> str:
    lines = [f"Mapping of {Path(report.file).name} to {layer.name}, written by "
             "twin load --check.",
             "columns: source column -> layer field ('' leaves it out); values: field -> "
             "{source value: layer value};",
             "units: field -> the source's unit (e.g. width_m: cm); constants: one value "
             "for every feature;",
             "defaults: the value where the source's is empty. Fields of the layer:"]
    for name, spec in layer.fields.items():
        extra = f" one of {', '.join(map(str, spec.enum))}" if spec.enum else ""
        need = " (required)" if spec.required else ""
        lines.append(f"  {name}: {spec.type.value}{need}{extra}")
    return "".join(f"# {line}\n" for line in lines)


def write_template(report: CheckReport, layer: Layer, mapping: Mapping | None,
                   path: Path) -> bool:
    """Write the template to ``path`` unless a file is there; returns whether written."""
    if path.exists():
        report.notes.append(f"mapping template not written: {path} exists (name another "
                            "with --template)")
        return False
    body = yaml.safe_dump(template(report, layer, mapping), allow_unicode=True,
                          sort_keys=False, default_flow_style=False)
    path.write_text(_header(report, layer) + body, encoding="utf-8")
    report.template = str(path)
    return True
