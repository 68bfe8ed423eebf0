"""Layer styles: the typed model, colour ramps, and writers for QGIS QML, SLD 1.1 and
MapLibre, all drawn from one resolved style per layer (``resolve.py``)."""
