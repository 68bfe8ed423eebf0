"""Map reports for planners: one district (or ward), one period, chosen topics.

A report is built in three steps that never mix: the SQL in :mod:`twin.reports.data`
gathers rows for the area and period; the topic modules (:mod:`~twin.reports.assets`,
:mod:`~twin.reports.air`, :mod:`~twin.reports.flood`) turn them into
:class:`~twin.reports.model.Section` objects (map layers, tables, charts, notes); and a
renderer writes those sections as a PDF (:mod:`twin.reports.pdf`) or as an interactive
HTML page (:mod:`twin.reports.html`). Both renderers read the same sections, so the PDF
and the HTML always say the same thing.

A report is in one language, Vietnamese or English (``ReportRequest.language``: the
request's ``lang``, else the city profile's): every word comes from
:mod:`twin.reports.words`, dates and numbers from :mod:`twin.i18n`. The air topic draws
the period's mean interpolated PM2.5 surface and counts hours per VN_AQI class per ward
from the stored hourly surfaces (:mod:`twin.reports.surface`).

:func:`twin.reports.build.build_report` is the one entry point (the CLI and the OGC API
process ``map-report`` both call it); it takes a psycopg connection, so it runs on a
SQLAlchemy engine's connection as well as on the server's sync pool.
"""
