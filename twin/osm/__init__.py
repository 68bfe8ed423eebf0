"""OpenStreetMap into the city model: ``twin import osm FILE`` (.osm.pbf, .osm, .osc).

What becomes what is declared in each layer file's ``osm:`` block
(:mod:`twin.osm_mapping`); this package reads the file and applies it:

- :mod:`twin.osm.read`: pyosmium reads the file (node locations in its location index, on
  disk for large files), keeping the objects the layer files ask for.
- :mod:`twin.osm.tags`: tag filters and the field rules, values coerced like ``twin load``.
- :mod:`twin.osm.topology`: road ways split at shared nodes (``source``/``target``).
- :mod:`twin.osm.features`, :mod:`twin.osm.relations`, :mod:`twin.osm.areas`: features per
  layer, bus routes and their stops, administrative multipolygons.
- :mod:`twin.osm.store`: the node, way and relation store a change file is applied on.
- :mod:`twin.osm.apply`: one transaction through the loaders' staging, merge and
  nearest-road linking; counts and issues in ``load_runs``.
- :mod:`twin.osm.change`: a change file rebuilds exactly what it touches.
- :mod:`twin.osm.run`: the import as the CLI calls it.
"""
