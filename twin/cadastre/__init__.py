"""The cadastre as land offices deliver it: MicroStation DGN v7 sheets to parcels.

- :mod:`twin.cadastre.dgn`: the sheet's elements through GDAL's DGN driver (pyogrio),
  texts as their raw bytes (decoded by the caller: TCVN3, VNI ...).
- :mod:`twin.cadastre.polygonise`: parcel boundaries (line elements on one level) noded
  with ``unary_union`` and polygonised; loose and unclosed lines named by element.
- :mod:`twin.cadastre.labels`: the text elements inside each parcel read as its parcel
  number, land-use code and stated area; the sheet number from a title or the file name.
- :mod:`twin.cadastre.sheet`: the conversion, with its report (parcels without a label,
  with two, labels outside every parcel, boundaries that do not close).

Pure: no database and no twin.ingest imports; :mod:`twin.ingest.dgn_source` turns a
converted sheet into rows for the ordinary loader.
"""
