"""OGC API - Features, parts 1-3, served straight from PostGIS."""
