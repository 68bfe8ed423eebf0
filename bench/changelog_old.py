"""What keeping the replaced version in the change log costs an update (issue 19,
point 4: subscriptions told when a feature leaves their filter, migration 0017).

The change log's update trigger writes ``change_log.old`` (``to_jsonb`` of the old row,
geometry included) beside each update while a subscription with a bbox or a filter
follows the table. This script times the same updates on the same data in the same run,
each in a transaction that is rolled back, with the trigger of 0017 while such a
subscription exists (``old kept``) and while none does (``0017, no filter``: the check
alone), and with the trigger before 0017 (``0013``, swapped in inside the transaction),
and reports the bytes an update's log row takes:

- a scratch database with ``--features`` road segments (lines in CRS84);
- ``1 %``: an edit of every hundredth segment's name (a harvest round of changes);
- ``100 %``: every segment's name (a reload that rewrites the layer).

    .venv/bin/python -m bench.changelog_old [--features 100000] [--repeat 3]

Prints seconds, ratios and the load average; writes bench/out/changelog_old.md.
"""

from __future__ import annotations

import argparse
import os
import time

import psycopg

from bench.common import ensure_out, libpq, scratch_database, table
from bench.harvest import LAYER, ROADS
from twin.config import REPO_ROOT
from twin.db.changelog import ENV
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.registry import load_registry

# the update trigger of migration 0013 (before 0017): no old version
WITHOUT_OLD = f"""
CREATE OR REPLACE FUNCTION twin_log_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_log (layer, action, row_id, external_id, env)
  SELECT TG_TABLE_NAME, c.action, n.id, c.external_id, c.env
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  CROSS JOIN LATERAL (VALUES
    (CASE WHEN o.external_id IS DISTINCT FROM n.external_id THEN 'deleted' END,
     o.external_id,
     CASE WHEN o.external_id IS DISTINCT FROM n.external_id THEN {ENV.format(g='o.geom')} END),
    ('updated', n.external_id, {ENV.format(
        g='CASE WHEN o.geom = n.geom THEN n.geom ELSE ST_Collect(o.geom, n.geom) END')})
  ) AS c(action, external_id, env)
  WHERE c.action IS NOT NULL;
  IF FOUND THEN PERFORM twin_change_pending(); END IF;
  RETURN NULL;
END $$;
"""
EDITS = {"1 %": "id %% 100 = 0", "100 %": "TRUE"}


VARIANTS = ("old kept", "0017, no filter", "0013")
FILTERED = ("INSERT INTO subscriptions (owner, layer, layer_table, filter, filter_lang, "
            "channel, target, cursor) VALUES ('bench', %s, %s, 'lanes > 1', 'cql2-text', "
            "'webhook', 'http://127.0.0.1:9/', 'MC4w')")


def _run(url: str, variant: str, where: str) -> tuple[float, int, float]:
    """Seconds for the update, rows logged, mean bytes of a logged row (rolled back)."""
    with psycopg.connect(libpq(url)) as conn:
        if variant == "0013":
            conn.execute(WITHOUT_OLD)
        elif variant == "old kept":
            conn.execute(FILTERED, (LAYER, LAYER))
        t0 = time.perf_counter()
        cur = conn.execute(f"UPDATE {LAYER} SET name = name || ' (sửa)' WHERE {where}")
        seconds = time.perf_counter() - t0
        rows, size = conn.execute(
            "SELECT count(*), avg(pg_column_size(l.*)) FROM change_log l "
            "WHERE action = 'updated'").fetchone()
        conn.rollback()
    assert rows == cur.rowcount
    return seconds, rows, float(size)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    registry = load_registry(REPO_ROOT / "layers")
    best: dict[tuple[str, str], tuple[float, int, float]] = {}
    with scratch_database("twin_bench_changelog_old") as url:
        engine = make_engine(url, pool_size=1)
        upgrade(engine, registry)
        engine.dispose()
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            conn.execute(ROADS, (args.features,))
            conn.execute(f"VACUUM ANALYZE {LAYER}")
        for _ in range(args.repeat):
            for edit, where in EDITS.items():
                for variant in VARIANTS:
                    got = _run(url, variant, where.replace("%%", "%"))
                    key = (edit, variant)
                    if key not in best or got[0] < best[key][0]:
                        best[key] = got
    load = os.getloadavg()
    rows = [[edit, variant, f"{n:,}", f"{seconds:.2f} s", f"{size:.0f} B"]
            for (edit, variant), (seconds, n, size) in best.items()]
    text = table(rows, ["edit", "trigger", "rows updated", "best time", "log row"])
    for edit in EDITS:
        base = best[(edit, "0013")][0]
        text += (f"\n\n{edit}: old kept / 0013 {best[(edit, 'old kept')][0] / base:.2f}x "
                 f"the time, 0017 without a filtered subscription / 0013 "
                 f"{best[(edit, '0017, no filter')][0] / base:.2f}x")
    text += (f"\n\nbest of {args.repeat}, {args.features:,} road segments; load average "
             f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    (ensure_out() / "changelog_old.md").write_text(
        f"# the change log's old version: what an update costs\n\n{text}\n",
        encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
