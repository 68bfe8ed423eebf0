"""Who runs processes, and what a run replaced.

``process_jobs``: one row per execution the API accepted, made before pygeoapi creates
the job (``ticket``) and bound to pygeoapi's job id when the job starts. It says whose
job it is (subject, agency, roles, client address for anonymous callers), which is how
``/jobs`` is scoped to its caller, and when it started and finished, which is how the
per-caller concurrency, rate and queue limits count across every worker.

``process_audit``: every run that replaced data the city publishes (a published flood
scenario, published hourly surfaces): actor, process, inputs and what was replaced,
with counts; restores too.

``scenario_archive`` / ``scenario_archive_rows``: the rows a replacement removed (flood
extents and raster catalogue rows, each as its columns in ``props`` and its geometry in
``geom``), so that ``twin flood restore`` can put them back. COG files of an archived
run are kept on disk.

``limit_hits``: how often each request limit refused a request (counted in /metrics).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE process_jobs (
  ticket       uuid PRIMARY KEY,
  job_id       text UNIQUE,
  process_id   text NOT NULL,
  subject      text NOT NULL,
  agency       text,
  roles        text[] NOT NULL,
  method       text NOT NULL,
  client       text,
  caller_key   text NOT NULL,
  asynchronous boolean NOT NULL,
  public       boolean NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  started_at   timestamptz,
  finished_at  timestamptz,
  status       text
);
COMMENT ON TABLE process_jobs IS
  'Process executions: whose job it is, and when it ran (scopes /jobs, counts limits)';
CREATE INDEX ix_process_jobs_caller ON process_jobs (caller_key, created_at);
CREATE INDEX ix_process_jobs_running ON process_jobs (created_at) WHERE finished_at IS NULL;

CREATE TABLE scenario_archive (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  kind        text NOT NULL,
  scenario    text NOT NULL,
  actor       text NOT NULL,
  reason      text NOT NULL,
  counts      jsonb NOT NULL DEFAULT '{}'::jsonb,
  restored_at timestamptz
);
COMMENT ON TABLE scenario_archive IS
  'Versions of published scenarios that a run or a restore replaced';
CREATE INDEX ix_scenario_archive_scenario ON scenario_archive (kind, scenario, at);

CREATE TABLE scenario_archive_rows (
  archive_id bigint NOT NULL REFERENCES scenario_archive (id) ON DELETE CASCADE,
  source     text NOT NULL CONSTRAINT ck_scenario_archive_rows_source
             CHECK (source IN ('flood_extents', 'rasters')),
  props      jsonb NOT NULL,
  geom       geometry NOT NULL
);
CREATE INDEX ix_scenario_archive_rows ON scenario_archive_rows (archive_id, source);

CREATE TABLE process_audit (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor       text NOT NULL,
  agency      text,
  method      text,
  process_id  text NOT NULL,
  job_id      text,
  action      text NOT NULL CONSTRAINT ck_process_audit_action
              CHECK (action IN ('replace', 'restore')),
  target      text NOT NULL,
  inputs      jsonb,
  replaced    jsonb NOT NULL DEFAULT '{}'::jsonb,
  archive_id  bigint REFERENCES scenario_archive (id) ON DELETE SET NULL
);
COMMENT ON TABLE process_audit IS
  'Runs that replaced published data, and restores: who, what, with counts';
CREATE INDEX ix_process_audit_at ON process_audit (at);

CREATE TABLE limit_hits (
  name text PRIMARY KEY,
  hits bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE limit_hits IS 'Requests refused by each request limit (for /metrics)';
"""


def upgrade(registry=None) -> None:
    op.execute(TABLES)


def downgrade(registry=None) -> None:
    for name in ("limit_hits", "process_audit", "scenario_archive_rows", "scenario_archive",
                 "process_jobs"):
        op.execute(f"DROP TABLE IF EXISTS {name}")
