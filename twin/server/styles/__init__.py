"""OGC API – Styles (draft) for the collections, the whole-city MapLibre style and the
QGIS project download."""
