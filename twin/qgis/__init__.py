"""The QGIS project of the city (.qgz), written as XML without QGIS: every layer wired
to twin's OGC API endpoints, styled, grouped and time-aware."""
