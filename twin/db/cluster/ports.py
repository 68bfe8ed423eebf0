"""Which port the embedded cluster listens on: 54329 when free, else one it keeps."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

DEFAULT_PORT = 54329


def port_file(data_dir: Path) -> Path:
    """Beside the data directory: the port it chose, reused on later starts."""
    return data_dir.parent / f".{data_dir.name}.port"


def choose_port(data_dir: Path, host: str, running_port: int | None) -> int:
    """The port a running server uses, else the one remembered for ``data_dir`` when it is
    free, else 54329 when free, else any free port (remembered from then on)."""
    if running_port:
        return running_port
    remembered = None
    with contextlib.suppress(OSError, ValueError):
        remembered = int(port_file(data_dir).read_text().strip())
    if remembered and port_free(host, remembered):
        return remembered
    chosen = DEFAULT_PORT if port_free(host, DEFAULT_PORT) else any_free_port(host)
    path = port_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(f"{chosen}\n")
    return chosen


def port_free(host: str, port: int) -> bool:
    with socket.socket(_family(host)) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def any_free_port(host: str) -> int:
    with socket.socket(_family(host)) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
