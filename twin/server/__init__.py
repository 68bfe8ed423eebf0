"""The ASGI app: twin's fast OGC API routes plus pygeoapi for the rest."""
