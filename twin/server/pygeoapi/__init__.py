"""The pygeoapi adapter: what of the OGC API surface pygeoapi serves, and how.

twin's own routes (the building-block packages beside this one) serve the hot paths;
pygeoapi serves the landing page, the collections, the OpenAPI document and every HTML
page, through:

- :mod:`.bridge`: one pygeoapi ``API`` per worker, its routes, the HTML renderers
  twin's routes hand ``f=html`` to, and the building blocks served through pygeoapi
  (EDR queries, processes and jobs, coverage descriptions);
- :mod:`.config`: pygeoapi's configuration, generated at start-up and validated;
- :mod:`.provider`: ``TwinProvider``, pygeoapi's feature provider over twin's SQL
  builder, so both paths return the same features;
- :mod:`.openapi_twin`, :mod:`.openapi_components`: the OpenAPI document completed with
  twin's own routes and made self-contained.

Nothing else imports pygeoapi's API layer: a building block reached through pygeoapi
gets the :class:`.bridge.Bridge` handed in.
"""
