"""The one error every part of the embedded cluster raises."""

from __future__ import annotations


class ClusterError(RuntimeError):
    """The embedded cluster could not be found, created, started or stopped."""
