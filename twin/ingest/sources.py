"""Open any vector input for a layer: a file GDAL reads, a CSV, or a DGN cadastral sheet,
with a mapping file applied when one is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from twin.ingest.dgn_source import DgnOptions, read_dgn
from twin.ingest.errors import LoadError
from twin.ingest.legacy import forced_encoding
from twin.ingest.mapping import Mapping, apply_mapping
from twin.ingest.readers import SourceData, read_source
from twin.registry import Layer


@dataclass(frozen=True)
class SourceOptions:
    """How to read an input: what ``twin load`` takes besides the file and the layer."""

    crs: str | None = None
    source_layer: str | None = None
    encoding: str | None = None
    mapping: Mapping | None = None
    dgn: DgnOptions = field(default_factory=DgnOptions)
    local_crs: str | None = None     # the city's cadastral zone (DGN sheets, CRS guesses)

    def effective_crs(self) -> str | None:
        return self.crs or (self.mapping.crs if self.mapping else None)


def open_source(path: Path, layer: Layer, options: SourceOptions | None = None) -> SourceData:
    options = options or SourceOptions()
    path = Path(path)
    mapping = options.mapping
    encoding = forced_encoding(options.encoding or (mapping.encoding if mapping else None))
    if path.suffix.lower() == ".dgn":
        if not path.is_file() or path.stat().st_size == 0:
            raise LoadError(f"{path}: no such file, or an empty one")
        data = read_dgn(path, layer, options=options.dgn, encoding=encoding,
                        crs=options.effective_crs(), local_crs=options.local_crs)
    else:
        data = read_source(path, options.source_layer, default_layer=layer.name,
                           encoding=encoding)
    return apply_mapping(mapping, layer, data) if mapping else data
