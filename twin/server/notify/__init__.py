"""Alert delivery over HTTP: the SSE stream, CAP 1.2 messages and feed, the admin
listing of deliveries; and the dispatcher run in each worker's lifespan."""
