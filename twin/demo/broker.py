"""A private Mosquitto: its own configuration on a free loopback port (never the system
broker on 1883), persistence on, so that a restart keeps queued QoS 1 messages. Used by
``twin demo --stream`` when no broker answers, by the tests and by the benchmarks."""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

CONFIG = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {folder}/
persistence_file mosquitto.db
autosave_interval {autosave}
max_queued_messages 1000000
user {user}
log_dest file {folder}/mosquitto.log
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class Mosquitto:
    """``start()``, ``stop()`` (SIGTERM: the broker saves its queues) and ``restart()``."""

    def __init__(self, folder: Path, port: int | None = None, autosave_s: int = 1,
                 extra: str = ""):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o777)  # mosquitto may drop to another user
        self.port = port or free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.config = self.folder / "mosquitto.conf"
        self.config.write_text(CONFIG.format(port=self.port, folder=self.folder,
                                             user=getpass.getuser(), autosave=autosave_s)
                               + extra)
        self.proc: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
