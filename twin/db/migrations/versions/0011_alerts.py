"""Alert rules, alerts and their transitions (issue 18).

Written by H7 exactly to the alerts contract so that delivery (0012) can be built and
tested before the rules engine lands; H6 owns this file and edits it (columns may be
added, none renamed).

- ``alert_rules``: the validated rules, from ``config/alerts.yaml`` or the API.
- ``alerts``: one row per alert; one live (not resolved) alert per rule and subject.
- ``alert_events``: every transition, in the transaction of the change; the outbox the
  notification dispatcher (0012, :mod:`twin.notify`) delivers from. Each insert is
  announced with ``pg_notify('twin_alert_events', id)``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE alert_rules (
  id          text PRIMARY KEY,
  spec        jsonb NOT NULL,
  source      text NOT NULL CHECK (source IN ('config', 'api')),
  agency      text,
  enabled     boolean NOT NULL DEFAULT true,
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alerts (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rule_id          text NOT NULL REFERENCES alert_rules (id),
  subject          text NOT NULL,
  subject_kind     text NOT NULL,
  kind             text NOT NULL,
  severity         text NOT NULL
                   CHECK (severity IN ('minor', 'moderate', 'severe', 'extreme')),
  level            int,
  state            text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
  value            double precision,
  unit             text,
  title            jsonb NOT NULL,
  description      jsonb NOT NULL,
  geom             geometry(Geometry, 4326),
  opened_at        timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  acknowledged_at  timestamptz,
  acknowledged_by  text,
  ack_note         text,
  resolved_at      timestamptz
);
CREATE UNIQUE INDEX ux_alerts_live ON alerts (rule_id, subject) WHERE state <> 'resolved';

CREATE TABLE alert_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id    bigint NOT NULL REFERENCES alerts (id),
  at          timestamptz NOT NULL,
  transition  text NOT NULL
              CHECK (transition IN ('opened', 'updated', 'acknowledged', 'resolved')),
  severity    text NOT NULL,
  value       double precision,
  actor       text,
  note        text
);
CREATE INDEX ix_alert_events_alert ON alert_events (alert_id, id);

CREATE FUNCTION twin_alert_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('twin_alert_events', NEW.id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER tr_alert_events_notify AFTER INSERT ON alert_events
  FOR EACH ROW EXECUTE FUNCTION twin_alert_event_notify();
"""


def upgrade() -> None:
    op.execute(TABLES)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS alert_events, alerts, alert_rules CASCADE; "
               "DROP FUNCTION IF EXISTS twin_alert_event_notify()")
