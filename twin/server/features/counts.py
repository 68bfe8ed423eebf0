"""numberMatched of a whole layer, from the counts the database keeps (twin.db.counts).

An items request with no bbox, filter, datetime or property filter matches every row of
the layer's table: its count is one primary-key lookup in ``layer_counts``, never a scan,
whatever the layer's size. Any filter keeps the counted, budgeted path.
"""

from __future__ import annotations

from twin.db.counts import COUNT_SQL
from twin.registry import Layer
from twin.server.features.params import ItemsQuery


def whole_layer(layer: Layer, q: ItemsQuery) -> bool:
    """Does ``q`` match every row of ``layer``'s table (so its kept count is exact)?
    View layers have no kept count."""
    return (not layer.is_view and q.bbox is None and q.time is None
            and q.filter_text is None and q.filter_tree is None and not q.equals)


def kept_count_sql() -> str:
    """The kept count of a table (``%(layer)s``: the layer's table name)."""
    return COUNT_SQL
