"""Alerts: declared rules, the alerts they raise and every transition of an alert.

- ``alert_rules``: the validated rules (``spec``, JSON), from ``config/alerts.yaml``
  (source ``config``) or the API (source ``api``).
- ``alerts``: one row per alert; at most one live (not resolved) alert per rule and
  subject (partial unique index), so a replayed reading never opens a second one.
  ``opened_at`` / ``resolved_at`` are data times: when the condition began to hold
  (after its duration) and when it had cleared for the rule's hysteresis time.
- ``alert_events``: one row per transition, written in the transaction of the change;
  an AFTER INSERT trigger notifies ``twin_alert_events`` with the event id (the outbox
  the delivery side reads).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SEVERITIES = "('minor', 'moderate', 'severe', 'extreme')"

ALERTS = f"""
CREATE TABLE alert_rules (
  id         text PRIMARY KEY,
  spec       jsonb NOT NULL,
  source     text NOT NULL CONSTRAINT ck_alert_rules_source CHECK (source IN ('config', 'api')),
  agency     text,
  enabled    boolean NOT NULL DEFAULT true,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE alert_rules IS 'Alert rules, validated (config/alerts.yaml or the API)';

CREATE TABLE alerts (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rule_id         text NOT NULL REFERENCES alert_rules(id),
  subject         text NOT NULL,
  subject_kind    text NOT NULL,
  kind            text NOT NULL,
  severity        text NOT NULL CONSTRAINT ck_alerts_severity CHECK (severity IN {SEVERITIES}),
  level           integer,
  state           text NOT NULL CONSTRAINT ck_alerts_state
                  CHECK (state IN ('open', 'acknowledged', 'resolved')),
  value           double precision,
  unit            text,
  title           jsonb NOT NULL,
  description     jsonb NOT NULL,
  geom            geometry(Geometry, 4326),
  opened_at       timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  acknowledged_at timestamptz,
  acknowledged_by text,
  ack_note        text,
  resolved_at     timestamptz,
  agency          text,            -- the rule's agency, for filters
  area            text,            -- the ward (or area) the subject lies in, for filters
  checked_at      timestamptz,     -- data time of the last evaluation of a live alert
  clear_since     timestamptz,     -- since when its condition has been clear (hysteresis)
  CONSTRAINT ck_alerts_resolved CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX ux_alerts_live ON alerts (rule_id, subject) WHERE state <> 'resolved';
CREATE INDEX ix_alerts_opened ON alerts (opened_at);
CREATE INDEX ix_alerts_geom ON alerts USING gist (geom);
COMMENT ON TABLE alerts IS 'Alerts raised by the rules: open, acknowledged or resolved';

CREATE TABLE alert_events (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id   bigint NOT NULL REFERENCES alerts(id),
  at         timestamptz NOT NULL,
  transition text NOT NULL CONSTRAINT ck_alert_events_transition
             CHECK (transition IN ('opened', 'updated', 'acknowledged', 'resolved')),
  severity   text NOT NULL,
  value      double precision,
  actor      text,
  note       text
);
CREATE INDEX ix_alert_events_alert ON alert_events (alert_id, id);
COMMENT ON TABLE alert_events IS 'Every transition of every alert (the delivery outbox)';

CREATE FUNCTION twin_alert_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('twin_alert_events', NEW.id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER alert_events_notify AFTER INSERT ON alert_events
  FOR EACH ROW EXECUTE FUNCTION twin_alert_event_notify();
"""


def upgrade(registry=None) -> None:
    op.execute(ALERTS)


def downgrade(registry=None) -> None:
    op.execute("DROP TABLE IF EXISTS alert_events; DROP TABLE IF EXISTS alerts; "
               "DROP TABLE IF EXISTS alert_rules; "
               "DROP FUNCTION IF EXISTS twin_alert_event_notify()")
