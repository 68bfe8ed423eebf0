"""ASGI middleware of every request, below the app assembly: NUL-byte guard
(:mod:`.guard`) and security headers (:mod:`.security`). The body limit is in
:mod:`twin.server.limits`, authentication in :mod:`twin.server.auth.middleware`, request
metrics in :mod:`twin.server.metrics.middleware`."""
