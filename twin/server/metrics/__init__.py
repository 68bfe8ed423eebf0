"""Operations endpoints: ``/metrics`` (Prometheus text format), ``/health`` (liveness)
and ``/ready`` (the database answers), and the middleware that measures every request.

Several uvicorn workers share one listening socket, so a scrape reaches one worker at
random. The workers therefore use prometheus_client's multiprocess mode: each writes
its metrics to memory-mapped files in a folder shared by the workers of one server
(``<data_dir>/metrics/<supervisor pid>``, see :mod:`twin.server.metrics.directory`,
:mod:`twin.server.metrics.instruments`), and the worker that answers a scrape reads
them all: request histograms summed over every worker this server has had (a dead
worker's counts stay, so totals never go down), pool and process gauges per live worker
(label ``worker``). Ingest counters come from the database itself at scrape time
(:mod:`twin.server.metrics.collect`), so they cover every path that writes readings
(HTTP, the MQTT subscriber, CLI loads).
"""
