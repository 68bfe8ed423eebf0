"""Retention of the change log and of the notify outbox's deliveries (issues 19 and 18;
:mod:`twin.db.retention`), against the session's demo city and its server over HTTP:
changes older than the window go (``twin db prune``), newer ones stay; a change-feed
cursor or ``since`` older than what is kept gets 410 Gone (an OGC exception) instead of
silently skipping; a subscription left behind is told (``layer.pruned``, signed);
delivered and dead deliveries older than their window go with their attempts, pending
ones and newer ones stay; the notify dispatcher applies the retention itself."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner

from tests.alert_delivery import Running
from tests.test_subscriptions import (  # noqa: F401  (receiver: a fixture)
    CAMERAS,
    WAIT_S,
    camera,
    code,
    receiver,
)
from twin.catalogue.changes import Cursor
from twin.db.retention import gone_since, prune
from twin.notify.webhook import verify
from twin.server.auth.keys import create_key
from twin.server.db import libpq_url

FEED = "/collections/cameras/changes"


@pytest.fixture(scope="module")
def transport(city_engine) -> dict[str, str]:
    return {"X-API-Key": create_key(city_engine, "test retention", "transport")[0]}


@pytest.fixture()
def db(city_url):
    with psycopg.connect(libpq_url(city_url), autocommit=True) as conn:
        yield conn


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def position(db, fid: str) -> tuple[int, int]:
    """(commit seq, log id) of the change that created ``fid``."""
    row = db.execute("SELECT c.seq, l.id FROM change_log l JOIN change_commits c USING (xid) "
                     "WHERE l.layer = 'cameras' AND l.external_id = %s AND l.action = "
                     "'created'", (fid,)).fetchone()
    assert row is not None, fid
    return row[0], row[1]


def test_a_cursor_is_gone_only_when_changes_after_it_were_pruned():
    at = datetime(2026, 9, 1, tzinfo=UTC)
    mark = (10, 500, at)
    assert gone_since(None, seq=0) is None
    assert gone_since(mark, seq=10, ident=499) == at       # the last pruned one not read
    assert gone_since(mark, seq=10, ident=500) is None     # read before it went
    assert gone_since(mark, seq=11, ident=0) is None
    assert gone_since(mark, since=at - timedelta(seconds=1)) == at
    assert gone_since(mark, since=at) is None


def test_old_changes_are_pruned_and_older_cursors_get_410(http, transport, db, city_url,
                                                          receiver):  # noqa: F811
    r = http.get(FEED, params={"since": iso(datetime.now(UTC))})
    assert r.status_code == 200, r.text
    before = r.json()["cursor"]
    r = http.post("/subscriptions", headers=transport,
                  json={"layer": "cameras", "webhook": receiver.url})
    assert r.status_code == 201, r.text
    sub = r.json()
    old, new = code(), code()
    try:
        for fid in (old, new):
            assert http.post(CAMERAS, json=camera(fid, 105.85, 21.05, "online"),
                             headers=transport).status_code == 201
        receiver.wait_for({old, new})
        seq, ident = position(db, old)
        # the commit that created `old` is made 100 days old: past the 90 days kept
        db.execute("UPDATE change_commits SET at = at - interval '100 days' WHERE seq = %s",
                   (seq,))
        result = CliRunner().invoke(_main(), ["db", "prune", "--json"],
                                    env={"TWIN_DATABASE_URL": city_url})
        assert result.exit_code == 0, result.output
        removed = json.loads(result.output.strip().splitlines()[-1])
        assert removed["changes"] >= 1 and removed["commits"] >= 1, removed
        assert db.execute("SELECT count(*) FROM change_log WHERE external_id = %s",
                          (old,)).fetchone()[0] == 0
        assert position(db, new)                           # newer changes stay
        mark = db.execute("SELECT seq, id FROM change_pruned WHERE layer = 'cameras'"
                          ).fetchone()
        assert tuple(mark) == (seq, ident)

        # a reader whose cursor or since is before what was pruned: 410, never a gap
        for params in ({"cursor": before},
                       {"since": iso(datetime.now(UTC) - timedelta(days=101))}):
            r = http.get(FEED, params=params)
            assert r.status_code == 410, (params, r.text)
            assert r.json()["code"] == "Gone"
            assert "pruned" in r.json()["description"] and "copy" in r.json()["description"]
        # after it: the changes that are kept
        r = http.get(FEED, params={"cursor": Cursor(seq, ident).encode()})
        assert r.status_code == 200, r.text
        assert new in {f["id"] for f in r.json()["features"]}
        assert old not in {f["id"] for f in r.json()["features"]}
        for params in ({"since": iso(datetime.now(UTC) - timedelta(days=99))}, {}):
            assert http.get(FEED, params=params).status_code == 200, params

        # a subscription left behind (as if no dispatcher ran for 100 days) is told
        db.execute("UPDATE subscriptions SET cursor = %s WHERE id = %s", (before, sub["id"]))
        deadline = time.monotonic() + WAIT_S
        while not [b for _h, b in receiver.got if json.loads(b)["type"] == "layer.pruned"]:
            assert time.monotonic() < deadline, "no layer.pruned message"
            time.sleep(0.1)
        headers, body = next((h, b) for h, b in receiver.got
                             if json.loads(b)["type"] == "layer.pruned")
        assert verify(sub["secret"], body, headers["X-Twin-Signature"])
        message = json.loads(body)
        assert message["subscription"] == sub["id"] and message["layer"] == "cameras"
        assert Cursor.decode(message["cursor"]) == Cursor(seq, ident)
        assert message["pruned_before"]
    finally:
        for fid in (old, new):
            http.delete(f"{CAMERAS}/{fid}", headers=transport)
        http.delete(f"/subscriptions/{sub['id']}", headers=transport)
        # other tests of this session read the cameras' feed from their own positions
        db.execute("DELETE FROM change_pruned WHERE layer = 'cameras'")


def _main():
    from twin.cli import main

    return main


def _delivery(db, stream: str, event: int, status: str, age_days: float) -> int:
    """A delivery whose last change was ``age_days`` ago (a pending one is due in a
    year: no dispatcher tries it meanwhile), with one attempt."""
    row = db.execute(
        "INSERT INTO deliveries (stream, event_id, channel, target, event_type, payload, "
        "status, next_attempt_at, updated_at, created_at) VALUES (%s, %s, 'webhook', "
        "'nowhere', 'test', '{}', %s, now() + interval '1 year', "
        "now() - make_interval(secs => %s), now() - make_interval(secs => %s)) RETURNING id",
        (stream, event, status, age_days * 86400, age_days * 86400)).fetchone()
    db.execute("INSERT INTO delivery_attempts (delivery_id, started_at, finished_at, ok) "
               "VALUES (%s, now(), now(), %s)", (row[0], status == "delivered"))
    return row[0]


def _left(db, stream: str) -> set[int]:
    return {r[0] for r in db.execute("SELECT event_id FROM deliveries WHERE stream = %s",
                                     (stream,))}


def test_settled_deliveries_go_pending_and_newer_ones_stay(db):
    stream = f"test-retention-{uuid.uuid4().hex[:8]}"
    ids = {1: _delivery(db, stream, 1, "delivered", 40), 2: _delivery(db, stream, 2, "dead", 40),
           3: _delivery(db, stream, 3, "pending", 40),
           4: _delivery(db, stream, 4, "delivered", 1), 5: _delivery(db, stream, 5, "dead", 29)}
    try:
        pruned = prune(db, changes_days=0, deliveries_days=30)
        assert pruned.ran and pruned.delivered >= 1 and pruned.dead >= 1
        assert pruned.attempts >= 2
        assert _left(db, stream) == {3, 4, 5}
        attempts = {r[0] for r in db.execute(
            "SELECT delivery_id FROM delivery_attempts WHERE delivery_id = ANY(%s)",
            (list(ids.values()),))}
        assert attempts == {ids[3], ids[4], ids[5]}
        # 0 days keeps everything
        assert prune(db, changes_days=0, deliveries_days=0).delivered == 0
        assert _left(db, stream) == {3, 4, 5}
    finally:
        db.execute("DELETE FROM deliveries WHERE stream = %s", (stream,))


def test_the_dispatcher_applies_the_retention(db, city_url):
    from twin.notify.config import NotifySettings
    from twin.notify.dispatcher import Dispatcher

    stream = f"test-retention-{uuid.uuid4().hex[:8]}"
    _delivery(db, stream, 1, "delivered", 31)
    _delivery(db, stream, 2, "delivered", 2)
    dispatcher = Dispatcher(libpq_url(city_url), NotifySettings(
        dispatch=False, poll_s=0.5, _env_file=None), {}, prune_every_s=3600)
    running = Running(None, dispatcher=dispatcher)
    try:
        deadline = time.monotonic() + WAIT_S
        while _left(db, stream) != {2}:
            assert time.monotonic() < deadline, _left(db, stream)
            time.sleep(0.1)
    finally:
        running.stop()
        db.execute("DELETE FROM deliveries WHERE stream = %s", (stream,))


def test_commits_larger_than_a_batch_and_many_commits_go_whole(db):
    """Batches of 2 rows: a commit of 5 changes and 3 commits of one change each, all
    older than the window, are removed entirely; the mark is the greatest removed."""
    fids = [f"T-RET-{uuid.uuid4().hex[:8]}" for _ in range(8)]

    def insert(codes):
        db.execute("INSERT INTO cameras (external_id, code, status, geom) SELECT c, c, "
                   "'online', ST_SetSRID(ST_MakePoint(105.85, 21.05), 4326) "
                   "FROM unnest(%s::text[]) c", (codes,))

    try:
        insert(fids[:5])
        for fid in fids[5:]:
            insert([fid])
        seqs = [r[0] for r in db.execute(
            "SELECT DISTINCT c.seq FROM change_log l JOIN change_commits c USING (xid) "
            "WHERE l.external_id = ANY(%s)", (fids,))]
        assert len(seqs) == 4
        db.execute("UPDATE change_commits SET at = at - interval '100 days' "
                   "WHERE seq = ANY(%s)", (seqs,))
        pruned = prune(db, changes_days=90, deliveries_days=0, batch=2)
        assert pruned.changes >= 8 and pruned.commits >= 4, pruned
        assert db.execute("SELECT count(*) FROM change_log WHERE external_id = ANY(%s)",
                          (fids,)).fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM change_commits WHERE seq = ANY(%s)",
                          (seqs,)).fetchone()[0] == 0
        assert db.execute("SELECT seq FROM change_pruned WHERE layer = 'cameras'"
                          ).fetchone()[0] == max(seqs)
    finally:
        db.execute("DELETE FROM cameras WHERE external_id = ANY(%s)", (fids,))
        db.execute("DELETE FROM change_pruned WHERE layer = 'cameras'")
