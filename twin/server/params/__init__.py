"""The request-parameter library every route reads its query through: ``limit``,
``bbox``, ``datetime``, ``crs``/``bbox-crs``, unknown names, content negotiation
(``f`` and ``Accept``), the SQL bind-parameter collector, and the CSV cells written in
answer (:mod:`.csvsafe`)."""
