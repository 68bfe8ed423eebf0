"""Tables derived from the readings: latest value, rollups, AQI.

They are kept up to date by ``twin.ingest.derived.refresh`` inside every ingest
transaction and can be rebuilt from the raw readings by ``twin rollups rebuild``.

- ``station_latest``: the newest countable reading per station and property.
- ``reading_rollups``: n, mean, min, max and percentiles per station, property and
  bucket; one list partition per grain (UTC hours; Hà Nội local days and months).
- ``reading_rollups_pending``: month buckets whose recomputation was deferred by a
  small streaming batch (see derived.py for when they are recomputed).
- ``station_aqi``: VN_AQI and US AQI per station and hour / local day.

No foreign keys (per-row checks would cost more than the rollups themselves): deleting
a station deletes its derived rows by trigger, and truncating the readings truncates
everything derived from them, so the derived tables never outlive their source.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE station_latest (
  station_id  bigint NOT NULL,
  property    text NOT NULL,
  observed_at timestamptz NOT NULL,
  value       double precision NOT NULL,
  unit        text,
  quality     text NOT NULL,
  CONSTRAINT pk_station_latest PRIMARY KEY (station_id, property)
);
COMMENT ON TABLE station_latest IS
  'Newest reading per station and property with a value and quality good or suspect';

CREATE TABLE reading_rollups (
  grain      text NOT NULL CONSTRAINT ck_reading_rollups_grain
             CHECK (grain IN ('hour', 'day', 'month')),
  station_id bigint NOT NULL,
  property   text NOT NULL,
  bucket     timestamptz NOT NULL,  -- UTC hour start; the city's local day/month start
  n          integer NOT NULL,
  mean       double precision,
  min        double precision,
  max        double precision,
  p10        double precision,
  p50        double precision,
  p90        double precision,
  p95        double precision,
  CONSTRAINT pk_reading_rollups PRIMARY KEY (grain, station_id, property, bucket)
) PARTITION BY LIST (grain);
CREATE TABLE reading_rollups_hour PARTITION OF reading_rollups FOR VALUES IN ('hour');
CREATE TABLE reading_rollups_day PARTITION OF reading_rollups FOR VALUES IN ('day');
CREATE TABLE reading_rollups_month PARTITION OF reading_rollups FOR VALUES IN ('month');
CREATE INDEX ix_reading_rollups_bucket ON reading_rollups (grain, bucket, property);
COMMENT ON TABLE reading_rollups IS
  'Hourly (UTC), daily and monthly (local) statistics of good and suspect readings; '
  'percentiles by linear interpolation (percentile_cont)';

CREATE TABLE reading_rollups_pending (
  grain      text NOT NULL,
  station_id bigint NOT NULL,
  property   text NOT NULL,
  bucket     timestamptz NOT NULL,
  since      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_reading_rollups_pending PRIMARY KEY (grain, station_id, property, bucket)
);
COMMENT ON TABLE reading_rollups_pending IS
  'Rollup buckets that hold readings not yet counted in reading_rollups';

CREATE TABLE station_aqi (
  station_id  bigint NOT NULL,
  scale       text NOT NULL CONSTRAINT ck_station_aqi_scale CHECK (scale IN ('vn', 'us')),
  period      text NOT NULL CONSTRAINT ck_station_aqi_period CHECK (period IN ('hour', 'day')),
  observed_at timestamptz NOT NULL,  -- UTC hour start or local day start
  aqi         integer NOT NULL,
  pollutant   text,
  category    text,
  colour      text,
  level       smallint,
  sub_indices jsonb,
  CONSTRAINT pk_station_aqi PRIMARY KEY (station_id, scale, period, observed_at)
);
CREATE INDEX ix_station_aqi_time ON station_aqi (scale, period, observed_at);
COMMENT ON TABLE station_aqi IS 'Air quality index per station, hour and local day';
"""

TRIGGERS = """
CREATE OR REPLACE FUNCTION twin_delete_station_derived() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM station_latest d USING old_rows o WHERE d.station_id = o.id;
  DELETE FROM reading_rollups d USING old_rows o WHERE d.station_id = o.id;
  DELETE FROM reading_rollups_pending d USING old_rows o WHERE d.station_id = o.id;
  DELETE FROM station_aqi d USING old_rows o WHERE d.station_id = o.id;
  RETURN NULL;
END $$;
CREATE TRIGGER sensor_stations_derived AFTER DELETE ON sensor_stations
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION twin_delete_station_derived();

CREATE OR REPLACE FUNCTION twin_truncate_derived() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE station_latest, reading_rollups, reading_rollups_pending, station_aqi;
  RETURN NULL;
END $$;
CREATE TRIGGER sensor_readings_truncate_derived AFTER TRUNCATE ON sensor_readings
  FOR EACH STATEMENT EXECUTE FUNCTION twin_truncate_derived();
"""


def upgrade(registry=None) -> None:
    op.execute(TABLES)
    op.execute(TRIGGERS)


def downgrade(registry=None) -> None:
    op.execute("DROP TRIGGER IF EXISTS sensor_readings_truncate_derived ON sensor_readings")
    op.execute("DROP TRIGGER IF EXISTS sensor_stations_derived ON sensor_stations")
    op.execute("DROP FUNCTION IF EXISTS twin_truncate_derived()")
    op.execute("DROP FUNCTION IF EXISTS twin_delete_station_derived()")
    for name in ("station_aqi", "reading_rollups_pending", "reading_rollups", "station_latest"):
        op.execute(f"DROP TABLE IF EXISTS {name}")
