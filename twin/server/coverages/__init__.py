"""Catalogued rasters served as OGC API coverages, maps, map tiles and EDR positions."""
