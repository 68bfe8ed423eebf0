"""Analyses as pure functions on numpy, xarray and shapely: no web or database code here."""
