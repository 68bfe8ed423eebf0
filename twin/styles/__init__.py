"""Layer styles: colour ramps, and writers for QGIS QML, SLD 1.1 and MapLibre, all drawn
from one resolved style per layer (``resolve.py``). The typed ``style:`` block itself is
``twin.style_model``, outside this package: the registry imports it, and this package
imports the registry."""
