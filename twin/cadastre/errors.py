"""The error the cadastre converter raises: a message safe to show, and the elements."""

from __future__ import annotations


class CadastreError(ValueError):
    """A sheet cannot be converted; ``problems`` names the elements."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        super().__init__(message)
