"""The city model: layer tables, readings in monthly partitions, links, rasters, load log.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op

from twin.db.models import build_metadata
from twin.db.schema import sync_layers

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TOUCH = """
CREATE OR REPLACE FUNCTION twin_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
"""

READINGS = """
CREATE TABLE sensor_readings (
  station_id  bigint NOT NULL,  -- sensor_stations.id; kept by the loaders and a trigger
  observed_at timestamptz NOT NULL,
  property    text NOT NULL,
  value       double precision,
  unit        text,
  quality     text NOT NULL DEFAULT 'good'
              CONSTRAINT ck_sensor_readings_quality
              CHECK (quality IN ('good', 'suspect', 'bad', 'missing')),
  CONSTRAINT pk_sensor_readings PRIMARY KEY (station_id, property, observed_at)
) PARTITION BY RANGE (observed_at);
COMMENT ON TABLE sensor_readings IS 'Sensor observations, one native partition per month (UTC)';
CREATE INDEX ix_sensor_readings_time ON sensor_readings (observed_at, property);

-- No foreign key: per-row FK triggers cost a third of a bulk load. The loaders refuse
-- readings of unknown stations, and deleting a station deletes its readings here.
CREATE OR REPLACE FUNCTION twin_delete_station_readings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM sensor_readings r USING old_rows o WHERE r.station_id = o.id;
  RETURN NULL;
END $$;
CREATE TRIGGER sensor_stations_readings AFTER DELETE ON sensor_stations
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION twin_delete_station_readings();
"""

PARTITIONS = """
CREATE OR REPLACE FUNCTION twin_ensure_reading_partitions(t0 timestamptz, t1 timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  m date := date_trunc('month', t0 AT TIME ZONE 'UTC')::date;
  last date := date_trunc('month', t1 AT TIME ZONE 'UTC')::date;
  part text;
  made integer := 0;
BEGIN
  IF t0 IS NULL OR t1 IS NULL THEN RETURN 0; END IF;
  PERFORM pg_advisory_xact_lock(hashtext('twin_reading_partitions'));
  WHILE m <= last LOOP
    part := format('sensor_readings_%s', to_char(m, 'YYYY_MM'));
    IF to_regclass(part) IS NULL THEN
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF sensor_readings FOR VALUES FROM (%L) TO (%L)',
        part, m::timestamp AT TIME ZONE 'UTC',
        (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
      made := made + 1;
    END IF;
    m := (m + interval '1 month')::date;
  END LOOP;
  RETURN made;
END $$;
"""


def upgrade(registry=None) -> None:
    bind = op.get_bind()
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(TOUCH)
    sync_layers(bind, registry)
    op.execute(READINGS)
    op.execute(PARTITIONS)
    metadata = build_metadata(registry)
    for name in ("bus_route_stops", "rasters", "load_runs"):
        metadata.tables[name].create(bind)


def downgrade(registry=None) -> None:
    for name in ("load_runs", "rasters", "bus_route_stops", "sensor_readings"):
        op.execute(f"DROP TABLE IF EXISTS {name} CASCADE")
    for layer in reversed(list(registry)):
        op.execute(f"DROP TABLE IF EXISTS {layer.table} CASCADE")
    op.execute("DROP FUNCTION IF EXISTS twin_ensure_reading_partitions(timestamptz, timestamptz)")
    op.execute("DROP FUNCTION IF EXISTS twin_delete_station_readings() CASCADE")
    op.execute("DROP FUNCTION IF EXISTS twin_touch_updated_at()")
