"""The pygeoapi provider of a coverage series: describes it, never reads pixels.

pygeoapi loads it to describe a collection (grid size and resolution, time range),
for its schema (the one field, the series' variable) and for the OpenAPI document.
The data itself is served by twin's routes; a ``query`` through pygeoapi is refused.
"""

from __future__ import annotations

import itertools

from pygeoapi.provider.base import BaseProvider, ProviderConnectionError, ProviderQueryError

from twin.server.coverages.config import catalogue_of


class SeriesProvider(BaseProvider):
    def __init__(self, provider_def: dict):
        super().__init__(provider_def)
        try:
            catalogue = catalogue_of(self.data["source"])
        except KeyError:
            raise ProviderConnectionError("coverage catalogue not registered in this "
                                          "process (twin.server.coverages.config)") from None
        series = catalogue.series.get(self.data["collection"])
        if series is None:
            raise ProviderConnectionError(f"coverage {self.data['collection']!r} is no "
                                          "longer catalogued")
        self.series = series
        latest = series.latest
        self._coverage_properties = {
            "width": latest.width, "height": latest.height,
            "resx": latest.res[0], "resy": latest.res[1], "crs": latest.crs}
        if series.timed:
            times = series.times
            self._coverage_properties["time_range"] = [times[0].isoformat(),
                                                       times[-1].isoformat()]
            if len(times) > 1:
                step = min(b - a for a, b in itertools.pairwise(times))
                self._coverage_properties["restime"] = _iso_duration(step.total_seconds())
        self.get_fields()

    def get_fields(self) -> dict:
        if not self._fields:
            self._fields = {self.series.variable: {
                "type": "number", "title": self.series.title,
                "x-ogc-unit": self.series.unit}}
        return self._fields

    def query(self, **_kwargs):
        raise ProviderQueryError("coverages are served by twin's coverage routes")


def _iso_duration(seconds: float) -> str:
    """``PT1H``, ``PT30M``, ``P1D``... for the temporal grid resolution."""
    seconds = round(seconds)
    if seconds and seconds % 86400 == 0:
        return f"P{seconds // 86400}D"
    if seconds and seconds % 3600 == 0:
        return f"PT{seconds // 3600}H"
    if seconds and seconds % 60 == 0:
        return f"PT{seconds // 60}M"
    return f"PT{seconds}S"
