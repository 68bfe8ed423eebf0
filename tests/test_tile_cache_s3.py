"""The tile cache in an S3-compatible object store (issue 20, point 3:
``TWIN_TILE_CACHE=s3://bucket/prefix``).

The object store is moto's S3 server in a process of its own, over real HTTP on the
loopback (in production the store is what leaves the machine): the served app stores
and reads tiles there, an edit's new version prunes the old objects, and a store that
dies mid-run, a missing bucket or refused credentials cost nothing but speed (every
tile still 200, counted uncached). ``twin tiles seed`` fills the bucket the routes read.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator

import boto3
import pytest
from click.testing import CliRunner

from tests import test_tile_cache as disk
from tests import test_tile_cache_maps as maps
from tests.conftest import _free_port
from twin.server.tiles.metadata import tile_index
from twin.tilecache import S3Store, TileKey, open_store
from twin.tilecache.s3 import S3Unavailable, content_type, endpoint_of, s3_client

MVT = disk.MVT
TILE = disk.TILE
road = disk.road            # (feature id, z, x, y) of a tile through a named road
admin_key = disk.admin_key  # an admin's API key header
series = maps.series        # three hourly PM2.5 surfaces: map tiles (PNG) of a coverage

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "twin-test", "AWS_SECRET_ACCESS_KEY": "twin-test",
               "AWS_DEFAULT_REGION": "us-east-1"}


class MotoServer:
    """moto's S3 (and IAM) server as a child process on a free loopback port."""

    def __init__(self, **env: str):
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_listening()

    def _wait_listening(self) -> None:
        """Until the port accepts a connection (a bare TCP connect: no S3 action, which
        an authenticating server would count)."""
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.process.returncode}")
            with contextlib.suppress(OSError), \
                    socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            threading.Event().wait(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


@contextlib.contextmanager
def moto_server(**env: str) -> Iterator[MotoServer]:
    server = MotoServer(**env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    """Credentials in the environment, and nothing of this machine's AWS set-up (a
    profile, a config file, an instance role) in the way."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture()
def bucket(s3, aws_env) -> str:
    name = f"tiles-{uuid.uuid4().hex[:12]}"
    s3_client(s3.endpoint).create_bucket(Bucket=name)
    return name


def objects(endpoint: str, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every object under ``prefix``, by name."""
    client = s3_client(endpoint)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {item["Key"]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            for page in pages for item in page.get("Contents", [])}


def pruned() -> None:
    """Wait for the stores' background prunes of this process to finish."""
    for thread in threading.enumerate():
        if thread.name == "tile-cache-prune":
            thread.join()


def warnings(caplog) -> list[str]:
    """The S3 store's warnings, as "action code"."""
    found = (re.search(r"cannot (\w+) tiles \((\w+):", r.getMessage())
             for r in caplog.records if r.name == "twin.tilecache.s3")
    return [" ".join(m.groups()) for m in found if m]


def s3_server(settings, registry, city_url, tmp_path, url: str, endpoint: str | None):
    return disk.cached_server(settings, registry, city_url, tmp_path, tile_cache=url,
                              tile_s3_endpoint=endpoint)


def test_a_tile_is_stored_in_the_bucket_then_served_from_it(settings, registry, city_url,
                                                            tmp_path, road, s3, bucket):
    _, z, x, y = road
    url = TILE.format(layer="road_segments", z=z, x=x, y=y)
    with s3_server(settings, registry, city_url, tmp_path, f"s3://{bucket}/cache",
                   s3.endpoint) as http:
        misses, hits = disk.counted(http, "miss"), disk.counted(http, "hit")
        first = http.get(url)
        assert first.status_code == 200 and first.content
        ((name, stored),) = objects(s3.endpoint, bucket).items()
        assert name.startswith("cache/road_segments/") and name.endswith(f"/{z}/{x}/{y}-all.mvt")
        assert stored == first.content
        head = s3_client(s3.endpoint).head_object(Bucket=bucket, Key=name)
        assert head["ContentType"] == MVT
        again = http.get(url)
        assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
        not_modified = http.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert not_modified.status_code == 304
        assert disk.counted(http, "miss") == misses + 1
        assert disk.counted(http, "hit") == hits + 2
        assert objects(s3.endpoint, bucket) == {name: stored}   # read, not written again


def test_map_tiles_of_coverages_in_the_bucket(settings, registry, city_url, tmp_path, s3,
                                             bucket, series):
    url = maps._tile_url()
    with s3_server(settings, registry, city_url, tmp_path, f"s3://{bucket}/m",
                   s3.endpoint) as http:
        hits = disk.counted(http, "hit", "map")
        first = http.get(url)
        assert first.status_code == 200 and first.headers["content-type"] == "image/png"
        ((name, stored),) = objects(s3.endpoint, bucket).items()
        assert name.startswith("m/map-") and name.endswith(".png") and stored == first.content
        head = s3_client(s3.endpoint).head_object(Bucket=bucket, Key=name)
        assert head["ContentType"] == "image/png"
        again = http.get(url)
        assert again.content == first.content
        assert disk.counted(http, "hit", "map") == hits + 1


def test_an_edit_moves_the_version_and_the_old_objects_go(settings, registry, city_url,
                                                          tmp_path, road, admin_key, s3,
                                                          bucket):
    fid, z, x, y = road
    url = TILE.format(layer="road_segments", z=z, x=x, y=y)
    item = f"/collections/road_segments/items/{fid}"
    patch = {**admin_key, "Content-Type": "application/merge-patch+json"}
    with s3_server(settings, registry, city_url, tmp_path, f"s3://{bucket}/t",
                   s3.endpoint) as http:
        before = http.get(url)
        (old,) = objects(s3.endpoint, bucket)
        old_name = http.get(item).json()["properties"]["name"]
        new_name = f"Phố S3 {uuid.uuid4().hex[:6]}"
        try:
            r = http.patch(item, json={"properties": {"name": new_name}}, headers=patch)
            assert r.status_code == 200, r.text
            after = http.get(url, headers={"If-None-Match": before.headers["etag"]})
            assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
            assert disk.names_in(after).count(new_name) == 1
            pruned()
            (new,) = objects(s3.endpoint, bucket)
            assert new != old and new.split("/")[2] != old.split("/")[2]
            assert objects(s3.endpoint, bucket)[new] == after.content
        finally:
            http.patch(item, json={"properties": {"name": old_name}}, headers=patch)
        restored = http.get(url)
        assert old_name in disk.names_in(restored)
        pruned()
        assert len(objects(s3.endpoint, bucket)) == 1


def test_a_store_that_dies_mid_run_serves_uncached(settings, registry, city_url, tmp_path,
                                                   road, caplog):
    _, z, x, y = road
    urls = [TILE.format(layer="road_segments", z=z, x=x + dx, y=y) for dx in (0, 1, 2)]
    with moto_server() as store:
        s3_client(store.endpoint).create_bucket(Bucket="dying")
        with s3_server(settings, registry, city_url, tmp_path, "s3://dying/tiles",
                       store.endpoint) as http:
            first = http.get(urls[0])
            assert first.status_code == 200 and first.content
            assert len(objects(store.endpoint, "dying")) == 1
            store.stop()
            uncached = disk.counted(http, "uncached")
            again = [http.get(u) for u in urls]
            assert [r.status_code for r in again] == [200, 200, 200]
            assert again[0].content == first.content   # made anew, the same tile
            assert all(r.headers["content-type"] == MVT for r in again)
            assert disk.counted(http, "uncached") == uncached + 3
    # said once, though three tiles went uncached: the breaker kept the others away
    assert warnings(caplog) == ["read EndpointConnectionError"]


@pytest.mark.parametrize("trouble", ["no bucket", "access denied"])
def test_a_store_that_refuses_serves_uncached(settings, registry, city_url, tmp_path, road,
                                              s3, monkeypatch, caplog, trouble):
    _, z, x, y = road
    url = TILE.format(layer="road_segments", z=z, x=x, y=y)
    with contextlib.ExitStack() as stack:
        endpoint, name = s3.endpoint, f"missing-{uuid.uuid4().hex[:8]}"
        if trouble == "access denied":
            # moto checks credentials after its first three actions: a bucket, and a
            # user with keys but no policy, whose every S3 request is then AccessDenied
            locked = stack.enter_context(moto_server(INITIAL_NO_AUTH_ACTION_COUNT="3"))
            endpoint, name = locked.endpoint, "locked"
            s3_client(endpoint).create_bucket(Bucket=name)
            iam = boto3.client("iam", endpoint_url=endpoint)
            iam.create_user(UserName="nobody")
            keys = iam.create_access_key(UserName="nobody")["AccessKey"]
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])
        http = stack.enter_context(s3_server(settings, registry, city_url, tmp_path,
                                             f"s3://{name}/tiles", endpoint))
        uncached = disk.counted(http, "uncached")
        first, second = http.get(url), http.get(url)
        assert first.status_code == second.status_code == 200
        assert first.content == second.content and first.content
        assert disk.counted(http, "uncached") == uncached + 2
    code = "AccessDenied" if trouble == "access denied" else "NoSuchBucket"
    assert warnings(caplog) == [f"read {code}"]


def test_seed_fills_the_bucket_the_route_reads(settings, registry, city_url, tmp_path,
                                               monkeypatch, s3, bucket):
    """The endpoint from the AWS SDK's own AWS_ENDPOINT_URL, as an operator may set it."""
    from twin.cli import main

    monkeypatch.setenv("TWIN_DATABASE_URL", city_url)
    monkeypatch.setenv("TWIN_TILE_CACHE", f"s3://{bucket}/seeded")
    monkeypatch.setenv("TWIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    lon0, lat0, lon1, lat1 = 105.84, 21.02, 105.86, 21.04
    result = CliRunner().invoke(main, ["tiles", "seed", "--layer", "road_segments",
                                       "--zooms", "14-15",
                                       "--bbox", f"{lon0},{lat0},{lon1},{lat1}"])
    assert result.exit_code == 0, result.output
    seeded = objects(s3.endpoint, bucket, "seeded/")
    assert seeded and f"{len(seeded):,} stored" in result.output
    tx, ty = tile_index((lon0 + lon1) / 2, (lat0 + lat1) / 2, 15)
    with s3_server(settings, registry, city_url, tmp_path, f"s3://{bucket}/seeded",
                   None) as http:
        hits = disk.counted(http, "hit")
        r = http.get(TILE.format(layer="road_segments", z=15, x=tx, y=ty))
        assert r.status_code == 200 and r.content in seeded.values()
        assert disk.counted(http, "hit") == hits + 1
    assert objects(s3.endpoint, bucket, "seeded/") == seeded


# --- the store itself -----------------------------------------------------------------

class PngKey(TileKey):
    """A key whose path is not a vector tile's (map tiles of coverages are PNG)."""

    @property
    def path(self) -> str:
        return super().path.removesuffix(".mvt") + ".png"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def key(version: str = "1-1", x: int = 0, layer: str = "roads") -> TileKey:
    return TileKey(layer, version, "WebMercatorQuad", 12, x, 0)


def test_a_failed_store_is_left_alone_then_tried_again(s3):
    """After a failure the store is not asked for ``backoff_s`` (nothing reaches it), then
    one call tries it and, the store back, closes the breaker."""
    clock = Clock()
    name = f"later-{uuid.uuid4().hex[:8]}"
    store = S3Store(s3_client(s3.endpoint), name, "p/", backoff_s=30, clock=clock)
    assert store.put(key(), b"tile") is False                # no bucket yet
    assert store.failures == {"NoSuchBucket": 1} and store.breaker.open
    s3_client(s3.endpoint).create_bucket(Bucket=name)
    assert store.put(key(), b"tile") is False and store.get(key()) is None
    assert store.failures == {"NoSuchBucket": 1}             # skipped, not asked
    clock.now += 31
    assert store.put(key(), b"tile") is True and not store.breaker.open
    assert store.get(key()) == b"tile"
    assert store.get(key("1-1", x=5)) is None and not store.breaker.open  # a miss is fine


def test_any_key_path_with_its_content_type(s3, bucket):
    store = S3Store(s3_client(s3.endpoint), bucket, "maps/")
    png = PngKey("map-pm25_surface", "7-1", "WebMercatorQuad", 10, 1, 2)
    assert store.put(png, b"\x89PNG...") and store.get(png) == b"\x89PNG..."
    head = s3_client(s3.endpoint).head_object(Bucket=bucket, Key="maps/" + png.path)
    assert head["ContentType"] == "image/png"
    assert content_type("a/b.bin") == "application/octet-stream"


def test_prune_removes_every_other_version_in_batches(s3, bucket):
    """More objects than one list page or one DeleteObjects call (1000), and a layer whose
    name starts like this one's is left alone."""
    client = s3_client(s3.endpoint)
    store = S3Store(client, bucket, "c/")
    old = [key("1-1", x) for x in range(1010)] + [key("0-5", x) for x in range(2)]
    for item in old:
        client.put_object(Bucket=bucket, Key=f"c/{item.path}", Body=b"o")
    for x in range(3):
        client.put_object(Bucket=bucket, Key=f"c/{key('2-2', x).path}", Body=b"n")
        client.put_object(Bucket=bucket, Key=f"c/{key('1-1', x, 'roads_2').path}", Body=b"")
    assert store.prune("roads", "2-2") == 2
    left = objects(s3.endpoint, bucket, "c/")
    assert sorted(left) == sorted(["c/" + key("2-2", x).path for x in range(3)]
                                  + ["c/" + key("1-1", x, "roads_2").path for x in range(3)])


def test_settings_that_name_no_usable_store(tmp_path, monkeypatch):
    for bad in ("s3://", "s3:///prefix", "s3://bucket?x=1", "gs://bucket/p"):
        with pytest.raises(ValueError, match="TWIN_TILE_CACHE"):
            open_store(bad, tmp_path)
    monkeypatch.setitem(sys.modules, "boto3", None)   # as where the s3 extra is missing
    with pytest.raises(S3Unavailable, match=r"pip install 'twin\[s3\]'"):
        open_store("s3://bucket/prefix", tmp_path)
    assert open_store(str(tmp_path / "d"), tmp_path).enabled    # a directory needs no boto3


def test_the_endpoint_twin_is_given_comes_first(monkeypatch):
    from pydantic import ValidationError

    from twin.config import Settings

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://sdk:9000")
    assert endpoint_of("http://minio:9000") == "http://minio:9000"
    assert endpoint_of(None) == "http://sdk:9000"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://s3-only:9000")
    assert endpoint_of(None) == "http://s3-only:9000"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert endpoint_of(None) is None
    assert Settings(tile_s3_endpoint="https://s3.example.org").tile_s3_endpoint
    with pytest.raises(ValidationError, match="tile_s3_endpoint"):
        Settings(tile_s3_endpoint="minio:9000")
