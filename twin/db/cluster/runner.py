"""Running the server binaries (initdb, pg_ctl, postgres) as the user who owns the cluster."""

from __future__ import annotations

import contextlib
import os
import pwd
import subprocess
from collections.abc import Callable
from pathlib import Path

from twin.db.cluster.errors import ClusterError
from twin.db.cluster.location import SYSTEM_USER, find_dropper


class Runner:
    """Runs commands for the cluster in ``data_dir``: as ourselves, or, when we are root,
    as the data directory's owner (the ``postgres`` system user for a new one)."""

    def __init__(self, data_dir: Path, log_tail: Callable[[], str]) -> None:
        self.data_dir = data_dir
        self._log_tail = log_tail
        self._dropper: list[str] | None = None

    def os_user(self) -> str | None:
        """The OS user to run server binaries as: None for the current one."""
        if os.geteuid() != 0:
            return None
        with contextlib.suppress(OSError, KeyError):
            uid = self.data_dir.stat().st_uid
            if uid != 0:
                return pwd.getpwuid(uid).pw_name
        return SYSTEM_USER

    def owner(self) -> os.stat_result | None:
        """The data directory's stat when files we write there must change owner."""
        return self.data_dir.stat() if os.geteuid() == 0 else None

    def give_to_owner(self, path: Path) -> None:
        owner = self.owner()
        if owner is not None:
            os.chown(path, owner.st_uid, owner.st_gid)

    def argv(self, argv: list[str]) -> list[str]:
        user = self.os_user()
        if user is None:
            return argv
        if self._dropper is None:
            self._dropper = find_dropper(user)
        return [*self._dropper, *argv]

    def run(self, argv: list[str], what: str, timeout: float = 300.0,
            stdin: str | None = None) -> str:
        """Run ``argv``; its output, or a ClusterError with its tail and the server log's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        try:
            proc = subprocess.run(
                self.argv(argv), check=False, cwd="/", env=env, text=True, timeout=timeout,
                capture_output=True, **({"input": stdin} if stdin is not None
                                        else {"stdin": subprocess.DEVNULL}),
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(
                f"{what} timed out after {timeout:.0f} s\n{self._log_tail()}"
            ) from exc
        except OSError as exc:
            raise ClusterError(f"{what} could not run: {exc}") from exc
        output = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0:
            tail = "\n".join(output.splitlines()[-20:])
            raise ClusterError(
                f"{what} failed (exit {proc.returncode}) for {self.data_dir}:\n{tail}\n"
                f"{self._log_tail()}".rstrip()
            )
        return output
