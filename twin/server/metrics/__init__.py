"""Operations endpoints: ``/metrics`` (Prometheus text format), ``/health`` (liveness)
and ``/ready`` (the database answers), and the middleware that measures every request.

Several uvicorn workers share one listening socket, so a scrape reaches one worker at
random. Each worker therefore writes its own numbers to a small JSON file in a
directory shared by the workers of one server (``<data_dir>/metrics/<supervisor pid>``,
see :mod:`twin.server.metrics.store`) once a second, and the worker that answers a
scrape adds them up: request histograms summed over every worker this server has had
(a dead worker's last counts stay, so totals never go down), pool and process gauges
per live worker (label ``worker``). Ingest counters come from the database itself, so
they cover every path that writes readings (HTTP, the MQTT subscriber, CLI loads).
"""
