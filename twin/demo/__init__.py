"""A deterministic synthetic demo city: inner Hanoi with real geography and synthetic
content, written as the ordinary files (GeoPackage, GTFS, CSV, GeoTIFF) a user has."""

from twin.demo.generate import generate

__all__ = ["generate"]
