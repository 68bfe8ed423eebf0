"""The web viewer: a MapLibre page over twin's own vector tiles, served with its assets
(MapLibre GL JS vendored, see ``scripts/vendor-maplibre.sh``) so that it needs no internet."""
