"""Database: engine, embedded cluster, models built from the layer registry, migrations."""
