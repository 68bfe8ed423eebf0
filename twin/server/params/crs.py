"""``crs``, ``bbox-crs``, ``filter-crs`` and ``subset-crs``: CRS identifiers of OGC API -
Features Part 2 and the SQL that serves them, and the CRSs rasters are read in.

Coordinates of features are transformed in PostGIS (integer SRIDs only: a text CRS
costs ~20 ms a row on PostGIS 3.3). Axis order follows the CRS definition, as Part 2
requires: EPSG:4326 is latitude first, CRS84 longitude first. Rasters are read and
warped by rasterio, which takes any CRS PROJ knows (:func:`raster_crs`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pyproj import CRS
from pyproj.exceptions import CRSError

from twin.server.errors import InvalidParameter

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
# CRS84, WGS 84 and Web Mercator everywhere; the city adds its own (its datum's geographic
# CRS, its metric CRS, its local zone: twin.city.CityProfile.offered_epsg), passed in
# as ``offered``.
SUPPORTED_EPSG = (4326, 3857)
_EPSG_URI = re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$")
_EPSG_CODE = re.compile(r"^(?:EPSG:{1,2})(\d+)$", re.IGNORECASE)
_CRS84 = {CRS84_URI, "https://www.opengis.net/def/crs/OGC/1.3/CRS84", "OGC:CRS84",
          "CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84", "http://www.opengis.net/def/crs/OGC/0/CRS84"}


@dataclass(frozen=True)
class OutputCRS:
    uri: str
    srid: int
    lat_first: bool  # the CRS's first axis is northing/latitude: flip PostGIS's x/y
    geographic: bool

    @property
    def decimals(self) -> int:
        return 7 if self.geographic else 3


CRS84 = OutputCRS(CRS84_URI, 4326, False, True)


def crs_uri(srid: int) -> str:
    return EPSG_URI.format(srid)


def supported_uris(storage_srid: int, offered: Sequence[int] = ()) -> list[str]:
    """The CRS URIs of a collection stored in ``storage_srid``, with the city's
    ``offered`` codes."""
    codes = dict.fromkeys((*SUPPORTED_EPSG, *offered, storage_srid))
    return [CRS84_URI, *(crs_uri(code) for code in codes)]


@lru_cache(maxsize=64)
def _describe(srid: int) -> tuple[bool, bool]:
    crs = CRS.from_epsg(srid)
    first = crs.axis_info[0].direction.lower() if crs.axis_info else "east"
    return first in ("north", "south"), crs.is_geographic


def parse_crs(value: str | None, storage_srid: int, param: str = "crs",
              offered: Sequence[int] = ()) -> OutputCRS:
    """A CRS URI (or EPSG:n) among those the collection offers (``offered``: the city's
    codes, see :func:`supported_uris`); 400 otherwise."""
    if value is None:
        return CRS84
    if not value.strip():  # crs= is not "the default": the document says a CRS URI
        raise InvalidParameter(f"{param}: empty; give a CRS URI such as {CRS84_URI} "
                               "or leave the parameter out")
    text = value.strip().strip("[]")
    if text in _CRS84:
        return CRS84
    match = _EPSG_URI.match(text) or _EPSG_CODE.match(text)
    if not match:
        raise InvalidParameter(f"{param}: {value!r} is not a CRS URI such as "
                               f"{crs_uri(storage_srid)}")
    srid = int(match.group(1))
    if crs_uri(srid) not in supported_uris(storage_srid, offered):
        raise InvalidParameter(f"{param}: {value!r} is not offered by this collection; "
                               f"supported: {', '.join(supported_uris(storage_srid, offered))}")
    try:
        lat_first, geographic = _describe(srid)
    except CRSError:
        raise InvalidParameter(f"{param}: unknown CRS {value!r}") from None
    return OutputCRS(crs_uri(srid), srid, lat_first, geographic)


def geometry_sql(storage_srid: int, out: OutputCRS, column: str = "t.geom") -> str:
    """SQL expression for a stored geometry in the output CRS and axis order."""
    expr = column if out.srid == storage_srid else f"ST_Transform({column}, {out.srid})"
    return f"ST_FlipCoordinates({expr})" if out.lat_first else expr


RASTER_CRS84 = "OGC:CRS84"


def raster_crs(raw: str, param: str) -> str:
    """A CRS given as a URI, ``EPSG:n``, a CRS84 alias or anything PROJ reads, as the
    text rasterio takes (``EPSG:n``, ``OGC:CRS84``, ...); 400 for one it does not know."""
    from rasterio.crs import CRS as RasterCRS
    from rasterio.errors import CRSError as RasterCRSError

    text = raw.strip()
    if text in _CRS84 or text.upper() in ("CRS84", "OGC:CRS84") or \
            text.endswith("/OGC/1.3/CRS84"):
        return RASTER_CRS84
    match = _EPSG_URI.match(text)
    code = f"EPSG:{match.group(1)}" if match else text
    try:
        CRS.from_user_input(code)
        RasterCRS.from_user_input(code)
    except (CRSError, RasterCRSError, ValueError):
        raise InvalidParameter(f"{param}: {raw!r} is not a CRS this server knows "
                               f"(a URI, EPSG:n or CRS84)") from None
    return code
