"""Streaming ingest by a group of subscribers (MQTT 5 shared subscriptions): readings/s
live for 1, 2 and 4 ``twin ingest mqtt --group`` processes.

    .venv/bin/python bench/ingest_group.py [--readings 200000] [--members 1,2,4]

The demo readings (the earliest N, in time order) are published (QoS 1) by the replay
in one process to a Mosquitto started here, while M members of one group store them;
timed from the first publish until the last reading is in the table (publisher, broker,
members and PostgreSQL all on this machine's cores). Twice per M: one message per
station and time (about 3 readings a message) and one per station and hour (``twin
ingest replay --window 60``, about 28). The load average is printed with each run: on
a shared machine it says how many cores the run really had.

Writers run one after another (each batch holds the ingest lock of
``twin.ingest.derived`` for its transaction), so members add parsing and MQTT
handling in parallel, not database writes. The table is also written to
bench/out/ingest_group.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ensure_out, libpq, scratch_database, table
from bench.ingest_stream import _publish, prepare, reset, stored
from tests.mqtt_broker import Mosquitto
from twin.demo.replay import read_moments

PREFIX = "bench/readings"


def member(url: str, broker: Mosquitto, group: str, k: int, batch: int, batch_ms: int
           ) -> subprocess.Popen:
    """``twin ingest mqtt --group`` in its own process, once it has subscribed."""
    env = {**os.environ, "TWIN_DATABASE_URL": url}
    sub = subprocess.Popen(
        [sys.executable, "-c", "from twin.cli import main; main()", "ingest", "mqtt",
         "--broker", broker.url, "--topic", f"{PREFIX}/+", "--group", group,
         "--client-id", f"bench-{group}-{k}", "--batch", str(batch),
         "--batch-ms", str(batch_ms), "--report-s", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while "subscribed to" not in (line := sub.stdout.readline()):
        if not line:
            raise RuntimeError("a member stopped before subscribing")
    return sub


def live(url: str, dsn: str, moments: list, folder: Path, members: int, batch: int,
         batch_ms: int) -> float:
    """Seconds from the first publish until every reading is stored, ``members``
    subscribers sharing the stream."""
    n = sum(len(m.readings) for m in moments)
    broker = Mosquitto(Path(tempfile.mkdtemp(dir=folder)), autosave_s=1800).start()
    group = f"g{members}x{len(moments)}"
    subs = []
    try:
        subs = [member(url, broker, group, k, batch, batch_ms) for k in range(members)]
        pub = multiprocessing.get_context("fork").Process(
            target=_publish, args=(moments, broker.url, PREFIX))
        started = time.perf_counter()
        pub.start()
        while stored(dsn) < n:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        pub.join()
    finally:
        for sub in subs:
            sub.terminate()
        for sub in subs:
            print("  member: " + sub.communicate(timeout=120)[0].strip().splitlines()[-1])
        broker.stop()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--members", default="1,2,4", help="subscriber counts, comma-separated")
    parser.add_argument("--batch", type=int, default=10_000, help="member batch (messages)")
    parser.add_argument("--batch-ms", type=int, default=1000, help="member batch (ms)")
    args = parser.parse_args()
    counts = [int(m) for m in args.members.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, scratch_database("twin_bench_group") as url:
        folder, dsn = Path(tmp), libpq(url)
        _moments, path = prepare(folder, url, args.readings)
        reset(dsn)
        for window in (0, 60):
            moments = read_moments(path, None, window)
            n = sum(len(m.readings) for m in moments)
            per = n / len(moments)
            for members in counts:
                before = os.getloadavg()[0]
                print(f"{n:,} readings, {per:.0f} a message, {members} member(s); "
                      f"load {before:.1f}", flush=True)
                seconds = live(url, dsn, moments, folder, members, args.batch, args.batch_ms)
                assert stored(dsn) == n
                reset(dsn)
                rows.append([f"{per:.0f}", str(members), f"{seconds:.2f}", f"{n / seconds:,.0f}",
                             f"{before:.1f} / {os.getloadavg()[0]:.1f}"])
    text = table(rows, ["readings a message", "members", "seconds", "readings/s",
                        "load before / after"])
    print(text)
    (ensure_out() / "ingest_group.md").write_text(
        f"{n:,} readings; member batches of {args.batch} messages or {args.batch_ms} ms; "
        f"{os.cpu_count()} CPUs\n\n```\n{text}\n```\n")


if __name__ == "__main__":
    main()
