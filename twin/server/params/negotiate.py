"""Content negotiation, one rule for every route: ``f`` first, else ``Accept``.

- ``f`` names a format by its key, one of its aliases or one of its media types,
  case-insensitively; anything else is a 400 listing the route's formats. The same
  name means the same format on every route (``tif`` is GeoTIFF, ``coveragejson`` is
  CoverageJSON, ``flatgeobuf`` is FlatGeobuf); ``json`` is a route's JSON encoding.
- ``Accept`` (RFC 9110 §12.5.1): each offered format is weighed by the most specific
  media range that matches one of its media types (``type/subtype`` over ``type/*``
  over ``*/*``); the format with the highest weight wins, ties going to the range
  listed first, then to the route's order. ``q=0`` refuses a format; an invalid
  q-value counts as 0.
- Neither, or nothing acceptable: the route's first format (twin answers rather than
  sending 406).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from twin.server.errors import InvalidParameter


@dataclass(frozen=True)
class Format:
    key: str                       # what the route acts on
    media: tuple[str, ...] = ()    # media types it is asked for by (Accept, or f)
    aliases: tuple[str, ...] = ()  # other f names

    def also(self, *aliases: str, media: tuple[str, ...] = ()) -> Format:
        """This format with more names (e.g. ``json`` where it is a route's JSON)."""
        return replace(self, aliases=(*self.aliases, *aliases), media=(*self.media, *media))

    def named(self, f: str) -> bool:
        name = f.strip().lower()
        return name in (self.key, *self.aliases) or _bare(name) in self.media

    @property
    def names(self) -> tuple[str, ...]:
        """The f values of this format (besides its media types)."""
        return (self.key, *self.aliases)


# The formats twin serves: keys, aliases and media types are the same on every route.
GEOJSON = Format("geojson", ("application/geo+json",))
JSON = Format("json", ("application/json",))
HTML = Format("html", ("text/html",))
CSV = Format("csv", ("text/csv",))
FGB = Format("fgb", ("application/flatgeobuf",), ("flatgeobuf",))
GPKG = Format("gpkg", ("application/geopackage+sqlite3",))
COVJSON = Format("covjson", ("application/prs.coverage+json", "application/vnd.cov+json"),
                 ("coveragejson",))
GEOTIFF = Format("geotiff", ("image/tiff",), ("gtiff", "tif", "tiff"))  # GTiff: GDAL's name
PNG = Format("png", ("image/png",))
MVT = Format("mvt", ("application/vnd.mapbox-vector-tile",))


def negotiate(params: Mapping[str, str], accept: str | None,
              offers: Sequence[Format]) -> Format:
    """The format of one response among ``offers`` (see the module's text)."""
    raw = params.get("f")
    if raw is not None:
        for fmt in offers:
            if fmt.named(raw):
                return fmt
        raise InvalidParameter(f"f: {raw[:100]!r} is not one of "
                               f"{', '.join(fmt.key for fmt in offers)}")
    ranges = accepted(accept or "")
    weighed = [(weight(fmt, ranges), n, fmt) for n, fmt in enumerate(offers)]
    best = max(weighed, key=lambda w: (w[0][0], -w[0][1], -w[1]))
    return best[2] if best[0][0] > 0 else offers[0]


def accepted(header: str) -> list[tuple[str, str, float, int]]:
    """(type, subtype, q, position) of each media range of an Accept header."""
    out = []
    for n, part in enumerate(header.split(",")):
        media, *params = part.split(";")
        kind, slash, sub = media.strip().lower().partition("/")
        if not slash or not kind or not sub:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                q = _qvalue(value.strip())
        out.append((kind, sub.strip(), q, n))
    return out


def weight(fmt: Format, ranges: list[tuple[str, str, float, int]]) -> tuple[float, int]:
    """(q, position of the range) of the most specific range matching one of ``fmt``'s
    media types, the best over them; (0, 0) when none matches."""
    best = (0.0, 0)
    for media in fmt.media:
        kind, _, sub = media.partition("/")
        matching = [(2 if (k, s) == (kind, sub) else 1 if (k, s) == (kind, "*") else 0, -n,
                     q) for k, s, q, n in ranges
                    if (k, s) in ((kind, sub), (kind, "*"), ("*", "*"))]
        if matching:
            _, position, q = max(matching)  # most specific, then listed first
            if (q, position) > (best[0], -best[1]):
                best = (q, -position)
    return best


def _qvalue(text: str) -> float:
    try:
        q = float(text)
    except ValueError:
        return 0.0
    return q if 0.0 <= q <= 1.0 else 0.0  # also NaN


def _bare(media: str) -> str:
    return media.split(";")[0].strip()
