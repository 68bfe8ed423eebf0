"""What the loaders, the rollups and the surfaces agree on about readings.

Imports nothing from twin: ``twin.ingest`` (which queues surfaces) and
``twin.surfaces`` (which reads rollups) both import it downhill.
"""

# The readings that count in a statistic or a surface: a value, of good or suspect
# quality (bad and missing readings are kept but never averaged). A SQL predicate on
# the columns ``value`` and ``quality``.
COUNTABLE = "value IS NOT NULL AND quality IN ('good', 'suspect')"
