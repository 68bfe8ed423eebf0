"""The S3 tile store beside the directory store, and what a dead object store costs.

Same tiles (``--tiles`` of ``--size`` random bytes), same run, one thread:

- ``directory``: :class:`twin.tilecache.DiskStore` in a temporary directory;
- ``s3 (moto)``: :class:`twin.tilecache.S3Store` against moto's S3 server in a child
  process on the loopback. moto is Python and slow: this is an upper bound of a local
  MinIO's cost, not a measure of it;
- ``s3 refused``: an endpoint whose port is closed (connection refused at once);
- ``s3 hanging``: an endpoint that accepts connections and never answers (a blackholed
  or wedged store): the bounded timeouts decide the first call's cost.

For each: the put and the get (hit) per tile, p50 and p95; for the dead stores, the first
call (it meets the failure and opens the breaker) and the mean of the calls after it
(the breaker skips the store), against the directory's hit.

    .venv/bin/python -m bench.tile_cache_s3 [--tiles 300] [--size 8000]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import table
from twin.tilecache import DiskStore, S3Store, TileKey
from twin.tilecache.s3 import s3_client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _moto() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                             "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1e3,
            ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1e3)


def _timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(*item)
        out.append(time.perf_counter() - t0)
    return out


def _keys(n: int) -> list[TileKey]:
    return [TileKey("roads", "1-1", "WebMercatorQuad", 15, 26000 + i % 50, 14000 + i // 50)
            for i in range(n)]


def _working(store, keys, body) -> dict[str, float]:
    puts = _timed(store.put, [(k, body) for k in keys])
    gets = _timed(store.get, [(k,) for k in keys])
    assert all(store.get(k) == body for k in keys[:5])
    (p50, p95), (g50, g95) = _ms(puts), _ms(gets)
    return {"put p50": p50, "put p95": p95, "get p50": g50, "get p95": g95}


def _dead(store: S3Store, keys) -> dict[str, float]:
    t0 = time.perf_counter()
    assert store.get(keys[0]) is None
    first = time.perf_counter() - t0
    rest = _timed(store.get, [(k,) for k in keys[1:]])
    rest += _timed(store.put, [(k, b"x") for k in keys[1:]])
    return {"first call": first * 1e3, "after (mean)": statistics.fmean(rest) * 1e3}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiles", type=int, default=300)
    ap.add_argument("--size", type=int, default=8000)
    args = ap.parse_args()
    for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ.setdefault(name, value)
    body = random.Random(1).randbytes(args.size)
    keys = _keys(args.tiles)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}; {args.tiles} tiles of {args.size} bytes")

    proc, endpoint = _moto()
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(64)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            disk = _working(DiskStore(Path(tmp)), keys, body)
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        s3_client(endpoint).create_bucket(Bucket=bucket)
        s3 = _working(S3Store(s3_client(endpoint), bucket, "b/"), keys, body)
        refused = _dead(S3Store(s3_client(f"http://127.0.0.1:{_free_port()}"), "x"), keys)
        hanging = _dead(S3Store(s3_client(f"http://127.0.0.1:{hang.getsockname()[1]}"),
                                "x"), keys)
    finally:
        proc.terminate()
        proc.wait()
        hang.close()

    rows = [["directory", *(f"{disk[c]:.3f}" for c in disk), "1"],
            ["s3 (moto)", *(f"{s3[c]:.3f}" for c in s3), f"{s3['get p50'] / disk['get p50']:.0f}"]]
    print(table(rows, ["store", "put p50 ms", "put p95 ms", "get p50 ms", "get p95 ms",
                       "get p50 / directory"]))
    print()
    rows = [[name, f"{d['first call']:.1f}", f"{d['after (mean)']:.4f}",
             f"{d['after (mean)'] / disk['get p50']:.2f}"]
            for name, d in (("s3 refused", refused), ("s3 hanging", hanging))]
    print(table(rows, ["dead store", "first call ms", "calls after it, mean ms",
                       "after / directory get p50"]))


if __name__ == "__main__":
    main()
