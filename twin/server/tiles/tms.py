"""The WebMercatorQuad tile matrix set, as data (OGC Two Dimensional Tile Matrix Set
and Tile Set Metadata 2.0, OGC 17-083r4, Annex D.1, JSON encoding).

EPSG:3857, origin at the top-left corner (-20037508.3427892, 20037508.3427892), 256 x 256
pixel tiles, zoom 0 to 24; cellSize is metres per pixel at the equator and
scaleDenominator = cellSize / 0.00028 (the standardised 0.28 mm rendering pixel).
"""

from __future__ import annotations

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
CRS_URI = "http://www.opengis.net/def/crs/EPSG/0/3857"
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
ORIGIN = 20037508.3427892      # metres: half the equator's length in EPSG:3857
TILE_SIZE = 256
MAX_ZOOM = 24

# (tile matrix id, scaleDenominator, cellSize in metres, matrixWidth = matrixHeight)
MATRICES: tuple[tuple[str, float, float, int], ...] = (
    ("0", 559082264.028718, 156543.033928041, 1),
    ("1", 279541132.014359, 78271.5169640205, 2),
    ("2", 139770566.007179, 39135.7584820102, 4),
    ("3", 69885283.0035897, 19567.8792410051, 8),
    ("4", 34942641.5017949, 9783.93962050256, 16),
    ("5", 17471320.7508974, 4891.96981025128, 32),
    ("6", 8735660.37544871, 2445.98490512564, 64),
    ("7", 4367830.18772436, 1222.99245256282, 128),
    ("8", 2183915.09386218, 611.49622628141, 256),
    ("9", 1091957.54693109, 305.748113140705, 512),
    ("10", 545978.773465545, 152.874056570353, 1024),
    ("11", 272989.386732772, 76.4370282851763, 2048),
    ("12", 136494.693366386, 38.2185141425881, 4096),
    ("13", 68247.3466831931, 19.1092570712941, 8192),
    ("14", 34123.6733415965, 9.55462853564703, 16384),
    ("15", 17061.8366707983, 4.77731426782352, 32768),
    ("16", 8530.91833539914, 2.38865713391176, 65536),
    ("17", 4265.45916769957, 1.19432856695588, 131072),
    ("18", 2132.72958384978, 0.597164283477939, 262144),
    ("19", 1066.36479192489, 0.29858214173897, 524288),
    ("20", 533.182395962446, 0.149291070869485, 1048576),
    ("21", 266.591197981223, 0.0746455354347424, 2097152),
    ("22", 133.295598990611, 0.0373227677173712, 4194304),
    ("23", 66.6477994953057, 0.0186613838586856, 8388608),
    ("24", 33.3238997476529, 0.0093306919293428, 16777216),
)

WEB_MERCATOR_QUAD: dict = {
    "id": TMS_ID,
    "title": "Google Maps Compatible for the World",
    "uri": TMS_URI,
    "crs": CRS_URI,
    "orderedAxes": ["X", "Y"],
    "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
    "boundingBox": {
        "crs": CRS_URI,
        "orderedAxes": ["X", "Y"],
        "lowerLeft": [-ORIGIN, -ORIGIN],
        "upperRight": [ORIGIN, ORIGIN],
    },
    "tileMatrices": [
        {
            "id": tm_id,
            "scaleDenominator": scale,
            "cellSize": cell,
            "cornerOfOrigin": "topLeft",
            "pointOfOrigin": [-ORIGIN, ORIGIN],
            "tileWidth": TILE_SIZE,
            "tileHeight": TILE_SIZE,
            "matrixWidth": size,
            "matrixHeight": size,
        }
        for tm_id, scale, cell, size in MATRICES
    ],
}
