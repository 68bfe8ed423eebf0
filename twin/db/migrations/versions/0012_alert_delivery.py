"""Delivery of notifications from an outbox: MQTT and signed webhooks, with retries and
dead letters (issue 18; the machinery is generic so that layer-change subscriptions,
issue 19, reuse it).

- ``notify_cursors``: one row per outbox stream (``alert_events``). Its row lock
  (``FOR UPDATE SKIP LOCKED``) lets one dispatcher at a time fan events out;
  ``last_id`` is a low-water mark below which every event has been fanned out.
- ``notify_fanned``: which events of a stream have been fanned out (an event id that
  commits after a higher one is still found: ids are not commit order).
- ``deliveries``: one row per (stream, event, channel, target): the payload to send,
  its status (``pending`` / ``delivered`` / ``dead``), attempts, when it is next due
  (a claim moves ``next_attempt_at`` forward by a lease, so a dispatcher killed
  mid-delivery leaves it to another after the lease), the last error.
- ``delivery_attempts``: every attempt with its outcome (HTTP status, error, timing).

A retry of a dead letter is announced with ``pg_notify('twin_deliveries', id)``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE notify_cursors (
  stream      text PRIMARY KEY,
  last_id     bigint NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO notify_cursors (stream) VALUES ('alert_events');

CREATE TABLE notify_fanned (
  stream     text NOT NULL,
  event_id   bigint NOT NULL,
  at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (stream, event_id)
);

CREATE TABLE deliveries (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream           text NOT NULL,
  event_id         bigint NOT NULL,
  channel          text NOT NULL CHECK (channel IN ('mqtt', 'webhook')),
  target           text NOT NULL,
  event_type       text NOT NULL,
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts         int NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  last_error       text,
  last_status      int,
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  delivered_at     timestamptz,
  UNIQUE (stream, event_id, channel, target)
);
CREATE INDEX ix_deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX ix_deliveries_listing ON deliveries (status, channel, id);

CREATE TABLE delivery_attempts (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id  bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz NOT NULL,
  ok           boolean NOT NULL,
  http_status  int,
  error        text
);
CREATE INDEX ix_delivery_attempts ON delivery_attempts (delivery_id, id);
"""


def upgrade(registry=None) -> None:
    op.execute(TABLES)


def downgrade(registry=None) -> None:
    op.execute("DROP TABLE IF EXISTS delivery_attempts, deliveries, notify_fanned, "
               "notify_cursors")
