"""``twin demo --stream``: the demo's readings arrive over MQTT instead of through COPY.

The subscriber (``twin ingest mqtt``) and the publisher (``twin ingest replay``) run as
child processes beside the server, exactly as an operator would run them, so the viewer
shows the stations filling in live. The broker is a private Mosquitto in the data directory
on a free port, configured to queue everything (see ``LiveDemo._broker``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from twin.demo.broker import MOSQUITTO, Mosquitto

TOPIC_PREFIX = "twin/demo"


def _twin_command(*args: str) -> list[str]:
    """The ``twin`` command of this interpreter (works without the venv on PATH)."""
    return [sys.executable, "-c", "from twin.cli import main; main()", *args]


@dataclass
class LiveDemo:
    """The broker (when private), the subscriber and the publisher of a streaming demo."""
    data_dir: Path
    database_url: str
    readings: Path
    broker_url: str = ""
    children: list[subprocess.Popen] = field(default_factory=list)
    broker: Mosquitto | None = None

    def start(self, echo) -> None:
        """Start the broker if needed, then the subscriber, then the replay (as fast as
        the subscriber takes them: a message per station and hour)."""
        self.broker_url = self._broker(echo)
        env = {**os.environ, "TWIN_DATABASE_URL": self.database_url}
        log = open(self.data_dir / "demo-stream.log", "ab")  # noqa: SIM115 - children hold it
        self.children.append(subprocess.Popen(
            _twin_command("ingest", "mqtt", "--broker", self.broker_url, "--topic",
                          f"{TOPIC_PREFIX}/#", "--client-id", "twin-demo"),
            env=env, stdout=log, stderr=subprocess.STDOUT))
        time.sleep(2.0)  # subscribed (a persistent session would queue anyway)
        self.children.append(subprocess.Popen(
            _twin_command("ingest", "replay", str(self.readings), "--broker", self.broker_url,
                          "--prefix", TOPIC_PREFIX, "--window", "60"),
            env=env, stdout=log, stderr=subprocess.STDOUT))
        echo(f"streaming {self.readings.name} over MQTT ({self.broker_url}, topics "
             f"{TOPIC_PREFIX}/<station>); progress in {self.data_dir / 'demo-stream.log'}")

    def _broker(self, echo) -> str:
        """Always a private broker: a stock Mosquitto queues at most 1,000 messages per
        client (``max_queued_messages``) and drops the rest, which a replay at full speed
        overruns; the private one is configured to queue them all, persistently."""
        if not Path(MOSQUITTO).exists():
            raise RuntimeError("mosquitto is not installed (scripts/install-deps.sh "
                               "installs it)")
        self.broker = Mosquitto(self.data_dir / "mosquitto", autosave_s=30).start()
        echo(f"started a private Mosquitto on {self.broker.url}")
        return self.broker.url

    def stop(self) -> None:
        """Stop the publisher, let the subscriber write its last batch (SIGTERM), then
        the private broker."""
        for proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.children.clear()
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
