"""Harvesting other agencies' OGC API – Features servers into local layers (issue 19,
point 5): :mod:`twin.harvest.remote` reads a remote collection (items, another twin's
change feed), :mod:`twin.harvest.apply` writes a run through the loaders in one
transaction with its provenance, :mod:`twin.harvest.run` decides what a run reads and
runs on a schedule, :mod:`twin.server.edit.harvested` keeps harvested features read-only."""
