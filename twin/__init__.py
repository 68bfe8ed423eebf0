"""twin: a geospatial digital twin and OGC API map server for a city (Hanoi first)."""

__version__ = "0.1.0"
